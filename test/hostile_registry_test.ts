// A registry that serves hostile documents: digests built to climb out of a store's blob folder
// (containers/image CVE-2024-3727 is this class: a digest string used as a path before it was validated).
// A real registry refuses such manifests on push, so a fake registry (a FetchLike) serves them here.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { pull } from "../src/pull/pull.ts";
import { TugError } from "../src/errors.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { digestBytes } from "../src/digest/digest_bytes.ts";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const HEX = "a".repeat(64);
const TRAVERSALS = [
  "sha256:../../../../../../tmp/tug-escape",
  `sha256:${HEX}/../../x`,
  "sha256:..%2f..%2fx",
  `sha256/../../${HEX}`,
  `../sha256:${HEX}`,
  `sha256:${HEX.toUpperCase()}`,
];

/** A registry answering every manifest request with `doc`, and counting what it was asked. */
async function fakeRegistry(doc: Record<string, unknown>) {
  const bytes = json(doc);
  const digest = await digestBytes(bytes);
  const asked: string[] = [];
  const fetch = (req: Request) => {
    const path = new URL(req.url).pathname;
    asked.push(`${req.method} ${path}`);
    if (path === "/v2/") {
      return Promise.resolve(
        new Response("{}", { headers: { "Docker-Distribution-Api-Version": "registry/2.0" } }),
      );
    }
    if (path.includes("/manifests/")) {
      return Promise.resolve(
        new Response(req.method === "HEAD" ? null : bytes as Uint8Array<ArrayBuffer>, {
          headers: {
            "Content-Type": String(doc.mediaType),
            "Docker-Content-Digest": digest,
            "Content-Length": String(bytes.length),
          },
        }),
      );
    }
    return Promise.resolve(new Response(null, { status: 404 }));
  };
  return { fetch, asked };
}

const config = { mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: `sha256:${HEX}` };

for (const bad of TRAVERSALS) {
  for (
    const [where, doc] of [
      ["layer", {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config,
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 10, digest: bad }],
      }],
      ["config", {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { ...config, digest: bad },
        layers: [],
      }],
      ["index child", {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [{
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          size: 10,
          digest: bad,
          platform: { os: "linux", architecture: "amd64" },
        }],
      }],
    ] as const
  ) {
    Deno.test(`pull() refuses a ${where} digest ${JSON.stringify(bad)} from a hostile registry, store untouched`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "tug-hostile-" });
      try {
        const store = await OciLayoutStore.open(`${dir}/store`);
        const registry = await fakeRegistry(doc);
        const err = await assertRejects(
          () =>
            pull("127.0.0.1:5999/hostile/image:v1", {
              store,
              fetch: registry.fetch,
              platform: "linux/amd64",
            }),
          TugError,
        );
        assert(
          err.message.includes("must be a digest like"),
          `the error names the bad digest: ${err.message}`,
        );
        // No request ever named the hostile digest, nothing was stored, nothing written beside the store.
        assert(registry.asked.every((line) => !line.includes("..")), registry.asked.join("\n"));
        assertEquals(await store.references.list(), []);
        assertEquals((await store.listTemp()).length, 0);
        const beside = [];
        for await (const entry of Deno.readDir(dir)) beside.push(entry.name);
        assertEquals(beside, ["store"]);
        await assertRejects(() => Deno.lstat("/tmp/tug-escape"), Deno.errors.NotFound);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

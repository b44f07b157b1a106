// Hostile input: references, repository names, tags and digests that try to escape a path or a URL
// (`..`, `/`, `%2f`), unknown digest algorithms and wrong hex lengths are refused by every entry point
// before anything touches the file system or the network.
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { RegistryClient } from "../src/registry/registry_client.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import type { Store } from "../src/store/types.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { parseReference } from "../src/reference/parse_reference.ts";
import { pull } from "../src/pull/pull.ts";
import { TugError } from "../src/errors.ts";

const HEX = "0123456789abcdef".repeat(4);

/** Digests a hostile registry, manifest or caller might hand over. */
const BAD_DIGESTS = [
  "",
  "sha256",
  "sha256:",
  `sha256:${HEX.slice(1)}`, // 63 hex
  `sha256:${HEX}0`, // 65 hex
  `sha256:${HEX.toUpperCase()}`,
  `sha512:${HEX}`, // sha512 needs 128
  `md5:${HEX.slice(0, 32)}`,
  `sha1:${HEX.slice(0, 40)}`,
  `sha384:${HEX}${HEX.slice(0, 32)}`,
  `blake3:${HEX}`,
  "sha256:../../../../etc/passwd",
  `sha256/../${HEX}`,
  `../sha256:${HEX}`,
  `sha256:..%2f..%2f${HEX.slice(12)}`,
  `sha256:${HEX.slice(3)}%2f`,
  `sha256:${HEX}/..`,
  `sha256:${HEX}\n`,
  `sha256:${HEX.slice(0, 62)}\u0000a`,
  ` sha256:${HEX}`,
];

const BAD_TAGS = [
  "..",
  "../x",
  "v1/../../x",
  "%2e%2e",
  "a%2fb",
  "a/b",
  "",
  " v1",
  "v1?x=1",
  "v1#f",
  ".hidden",
  "-x",
];
const BAD_REPOSITORIES = [
  "../x",
  "a/../b",
  "a/%2fb",
  "a//b",
  "/a",
  "a/",
  "A/b",
  "a/b?c",
  "a b",
  "..",
  "a/./b",
];

/** A fetch that counts every request that reached it. */
function countingFetch(): { fetch: (req: Request) => Promise<Response>; requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    fetch: (req) => {
      requests.push(req.url);
      return Promise.resolve(new Response(null, { status: 404 }));
    },
  };
}

Deno.test("RegistryClient refuses hostile digests and tags before building a URL", async () => {
  const { fetch, requests } = countingFetch();
  const client = new RegistryClient({ registry: "http://127.0.0.1:9", repository: "tug/small", fetch });
  for (const digest of BAD_DIGESTS) {
    await assertRejects(() => client.getBlob(digest), TypeError);
    if (/^\w[\w.-]*$/.test(digest)) continue; // "sha256" alone is a fine tag for a manifest
    await assertRejects(() => client.getManifest(digest), TypeError);
    await assertRejects(() => client.headManifest(digest), TypeError);
  }
  for (const tag of BAD_TAGS) {
    await assertRejects(() => client.getManifest(tag), TypeError);
    await assertRejects(() => client.headManifest(tag), TypeError);
  }
  assertEquals(requests, []);
});

Deno.test("RegistryClient says why a digest is refused: unknown algorithm, wrong hex length", async () => {
  const client = new RegistryClient({
    registry: "http://127.0.0.1:9",
    repository: "tug/small",
    fetch: countingFetch().fetch,
  });
  await assertRejects(() => client.getBlob(`md5:${HEX.slice(0, 32)}`), TypeError, {
    includes: "not supported",
  });
  await assertRejects(() => client.getBlob(`sha256:${HEX.slice(2)}`), TypeError, {
    includes: "exactly 64 hex characters, got 62",
  });
});

Deno.test("RegistryClient refuses hostile repository names and registry URLs at construction", () => {
  for (const repository of BAD_REPOSITORIES) {
    assertThrows(() => new RegistryClient({ registry: "http://127.0.0.1:9", repository }), TypeError);
  }
  for (const registry of ["file:///etc", "javascript:alert(1)", "127.0.0.1:5000", ""]) {
    assertThrows(() => new RegistryClient({ registry, repository: "tug/small" }), TypeError);
  }
});

async function withStores(fn: (store: Store, name: string) => Promise<void>): Promise<void> {
  const parent = await Deno.makeTempDir({ prefix: "tug-hostile-" });
  try {
    const dir = `${parent}/store`;
    await fn(await OciLayoutStore.open(dir, { fsync: false }), "OciLayoutStore");
    await fn(new MemoryStore(), "MemoryStore");
    // Nothing was created next to the store, nor outside blobs/sha256 inside it.
    const outside: string[] = [];
    for await (const entry of Deno.readDir(parent)) outside.push(entry.name);
    assertEquals(outside, ["store"]);
    const algorithms: string[] = [];
    for await (const entry of Deno.readDir(`${dir}/blobs`)) algorithms.push(entry.name);
    assertEquals(algorithms, ["sha256"]);
    const blobs: string[] = [];
    for await (const entry of Deno.readDir(`${dir}/blobs/sha256`)) blobs.push(entry.name);
    assertEquals(blobs, []);
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

function isTypedRefusal(err: unknown): boolean {
  return err instanceof TypeError ||
    (err instanceof TugError && ["DIGEST_INVALID_FORMAT", "DIGEST_UNSUPPORTED"].includes(err.code));
}

Deno.test("stores refuse hostile digests in stat, get, writer, delete and reference descriptors", async () => {
  await withStores(async (store, name) => {
    for (const digest of BAD_DIGESTS) {
      const calls: Array<() => Promise<unknown>> = [
        () => store.blobs.stat(digest),
        () => store.blobs.get(digest),
        () => store.blobs.writer({ digest, size: 1 }),
        () => store.blobs.writer({ digest, size: 1 }, { resume: true }),
        () => store.blobs.delete(digest),
        () => store.references.set("example.com/x:v1", { mediaType: "application/json", digest, size: 1 }),
      ];
      for (const call of calls) {
        let refused: unknown;
        try {
          await call();
        } catch (err) {
          refused = err;
        }
        assert(isTypedRefusal(refused), `${name} ${JSON.stringify(digest)}: ${refused}`);
      }
    }
    assertEquals(await store.references.list(), []);
  });
});

Deno.test("parseReference() refuses path and URL tricks; pull() refuses them before any request", async () => {
  const hostile = [
    "127.0.0.1:5000/../etc/passwd:v1",
    "127.0.0.1:5000/tug/..:v1",
    "127.0.0.1:5000/tug%2f..%2fsecret:v1",
    "127.0.0.1:5000/tug/small:../../x",
    "127.0.0.1:5000/tug/small:v1/../x",
    "127.0.0.1:5000/tug//small:v1",
    "127.0.0.1:5000/tug/small@sha256:../../x",
    `127.0.0.1:5000/tug/small@md5:${HEX.slice(0, 32)}`,
    `127.0.0.1:5000/tug/small@sha256:${HEX.slice(1)}`,
    `127.0.0.1:5000/tug/small@sha384:${HEX}${HEX.slice(0, 32)}`,
    "127.0.0.1:5000/tug/small:v1\r\nHost: evil",
    "http://127.0.0.1:5000/tug/small:v1",
  ];
  const { fetch, requests } = countingFetch();
  for (const input of hostile) {
    assertThrows(() => parseReference(input), TugError);
    await assertRejects(() => pull(input, { store: new MemoryStore(), fetch }), TugError);
  }
  assertEquals(requests, []);
});

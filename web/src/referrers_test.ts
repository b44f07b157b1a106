import { assertEquals } from "../../test/_assert.ts";
import { RegistryClient } from "../../src/registry/mod.ts";
import { fetchReferrers, referrerType, withConfigTypes } from "./referrers.ts";

const subject = `sha256:${"a".repeat(64)}`;
const sbom = {
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: `sha256:${"b".repeat(64)}`,
  size: 500,
  artifactType: "application/vnd.example.sbom+json",
  annotations: { "org.opencontainers.image.created": "2026-01-02T03:04:05Z" },
};
const INDEX = "application/vnd.oci.image.index.v1+json";

function client(routes: Record<string, unknown>, seen: string[]): RegistryClient {
  return new RegistryClient({
    registry: "http://127.0.0.1:5000",
    repository: "app",
    retry: { attempts: 1 },
    fetch: (req) => {
      const path = new URL(req.url).pathname;
      seen.push(path);
      const body = routes[path];
      return Promise.resolve(
        body === undefined
          ? Response.json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "unknown" }] }, { status: 404 })
          : Response.json(body, { headers: { "content-type": INDEX } }),
      );
    },
  });
}

const expected = [{
  digest: sbom.digest,
  mediaType: sbom.mediaType,
  size: 500,
  artifactType: "application/vnd.example.sbom+json",
  created: "2026-01-02T03:04:05Z",
}];

Deno.test("fetchReferrers() reads the referrers API when the registry has it", async () => {
  const seen: string[] = [];
  const c = client({ [`/v2/app/referrers/${subject}`]: { schemaVersion: 2, manifests: [sbom] } }, seen);
  assertEquals(await fetchReferrers(c, subject), { referrers: expected, via: "api" });
  assertEquals(seen, [`/v2/app/referrers/${subject}`]);
});

Deno.test("fetchReferrers() falls back to the sha256-<hex> tag on a 404, and a 404 there means none", async () => {
  const seen: string[] = [];
  const tag = `/v2/app/manifests/sha256-${"a".repeat(64)}`;
  const c = client({ [tag]: { schemaVersion: 2, mediaType: INDEX, manifests: [sbom, { bad: 1 }] } }, seen);
  assertEquals(await fetchReferrers(c, subject), { referrers: expected, via: "tag" });
  assertEquals(seen, [`/v2/app/referrers/${subject}`, tag]);
  assertEquals(await fetchReferrers(client({}, []), subject), { referrers: [], via: "none" });
});

Deno.test("withConfigTypes() names a referrer without artifactType by its manifest's config media type", async () => {
  const cosign = { digest: `sha256:${"c".repeat(64)}`, mediaType: sbom.mediaType, size: 9 };
  const broken = { digest: `sha256:${"d".repeat(64)}`, mediaType: sbom.mediaType, size: 9 };
  const asked: string[] = [];
  const filled = await withConfigTypes([expected[0], cosign, broken], (r) => {
    asked.push(r.digest);
    return r.digest === broken.digest
      ? Promise.reject(new Error("gone"))
      : Promise.resolve({ config: { mediaType: "application/vnd.dev.cosign.simplesigning.v1+json" } });
  });
  assertEquals(asked, [cosign.digest, broken.digest], "a referrer with artifactType is not read");
  assertEquals(filled.map(referrerType), [
    "application/vnd.example.sbom+json",
    "application/vnd.dev.cosign.simplesigning.v1+json",
    sbom.mediaType,
  ]);
});

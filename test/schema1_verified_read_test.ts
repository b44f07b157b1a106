// The schema 1 branch reads its manifest through src/remote's verified read (verifyManifestDigest), as the
// schema 2 path does: a Docker-Content-Digest that disagrees with the signed payload is refused.
import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { buildImage, pushImage, startRegistry } from "./harness/mod.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { pull } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { TugError } from "../src/errors.ts";

const SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws";

Deno.test("pull() refuses a schema 1 manifest whose Docker-Content-Digest is not its payload's digest", async () => {
  await using registry = await startRegistry({ schema1: true });
  const image = await buildImage({ layers: [{ entries: [{ path: "one.txt", content: "1\n" }] }] });
  await pushImage(registry, "legacy/header", image, "v1");
  // docker-registry converts the schema 2 image to schema 1 and signs it when asked for schema 1 only.
  const res = await fetch(`${registry.url}/v2/legacy/header/manifests/v1`, {
    headers: { accept: SCHEMA1_SIGNED },
  });
  const signed = new Uint8Array(await res.arrayBuffer());
  assertEquals(res.headers.get("content-type"), SCHEMA1_SIGNED);
  const lie = `sha256:${"0".repeat(64)}`;
  await using proxy = await startFaultProxy({ upstream: registry.url });
  proxy.addRule({
    match: "/manifests/v1",
    fault: {
      kind: "answer",
      status: 200,
      headers: {
        "content-type": SCHEMA1_SIGNED,
        "content-length": String(signed.length),
        "docker-content-digest": lie,
      },
      body: signed,
    },
    times: Infinity,
  });
  const store = new MemoryStore();
  const err = await assertRejects(
    () => pull(`${proxy.host}/legacy/header:v1`, { store, retry: { attempts: 1 } }),
    TugError,
    { code: "DIGEST_MISMATCH" },
  );
  assertStringIncludes(err.message, `the registry says its digest is ${lie}`);
  assertEquals(await store.references.list(), []);
});

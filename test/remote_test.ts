// The one verified read path for a remote image (src/remote/): every caller checks a manifest fetched by
// tag against the registry's Docker-Content-Digest, by the same rule. A real registry always sends the
// right header, so a fetch wrapper between tug and a real docker-registry rewrites it.
import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { inspectRemote } from "../src/pull/inspect_remote.ts";
import { TugError } from "../src/errors.ts";

const WRONG = `sha256:${"0".repeat(64)}`;

/** Real fetch, with every manifest answer's Docker-Content-Digest replaced by `header`. */
function lyingDigestHeader(header: string) {
  return async (request: Request) => {
    const res = await fetch(request);
    if (!new URL(request.url).pathname.includes("/manifests/")) return res;
    const headers = new Headers(res.headers);
    headers.set("Docker-Content-Digest", header);
    return new Response(res.body, { status: res.status, headers });
  };
}

Deno.test("inspectRemote() refuses a manifest whose Docker-Content-Digest does not match its bytes", async () => {
  const { images } = await sharedRegistry();
  for (const image of [images.small, images.multi]) {
    const err = await assertRejects(
      () => inspectRemote(image.reference, { fetch: lyingDigestHeader(WRONG) }),
      TugError,
    );
    assertEquals(err.code, "DIGEST_MISMATCH");
    assertStringIncludes(err.message, WRONG);
  }
});

Deno.test("inspectRemote() accepts a matching Docker-Content-Digest and one of another algorithm it does not hash", async () => {
  const { images } = await sharedRegistry();
  const right = await inspectRemote(images.small.reference, {
    fetch: lyingDigestHeader(images.small.manifestDigest),
  });
  assertEquals(right.descriptor.digest, images.small.manifestDigest);
  // The same rule as the puller: a header in an algorithm other than the one hashed is not compared.
  const other = await inspectRemote(images.small.reference, {
    fetch: lyingDigestHeader(`sha512:${"0".repeat(128)}`),
  });
  assertEquals(other.descriptor.digest, images.small.manifestDigest);
});

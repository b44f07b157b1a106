import { assert, assertEquals } from "../../test/_assert.ts";
import { isBlobRequest, withLayerRetries } from "./_layer_retries.ts";

const HEX = "0123456789ab".padEnd(64, "c");
const get = (path: string) => new Request(`http://127.0.0.1:1${path}`);

Deno.test("isBlobRequest() is true for blob downloads only, not manifests, tokens or the ping", () => {
  assert(isBlobRequest(get(`/v2/team/tool/blobs/sha256:${HEX}`)));
  assert(!isBlobRequest(get("/v2/team/tool/manifests/latest")));
  assert(!isBlobRequest(get("/token")));
  assert(!isBlobRequest(get("/v2/")));
});

Deno.test("withLayerRetries() makes the transport send blob downloads once and keeps the caller's policy", () => {
  const options = withLayerRetries({
    retry: { attempts: 3, sendOnce: (r: Request) => r.url.endsWith("/x") },
  });
  assertEquals(options.retry.attempts, 3);
  assert(options.retry.sendOnce!(get(`/v2/a/blobs/sha256:${HEX}`)));
  assert(options.retry.sendOnce!(get("/x")));
  assert(!options.retry.sendOnce!(get("/v2/a/manifests/1")));
});

import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import type { Store } from "../../src/store/types.ts";
import type { R2BucketBinding } from "../r2/r2_bucket.ts";
import { proxyFromEnv } from "./workerd.ts";

const UPSTREAMS = '{"hub":"https://registry.example"}';

/** A MemoryStore whose blobs have URLs, as an S3 store's (over R2's S3 endpoint) would. */
function withUrls(): Store {
  const memory = new MemoryStore();
  return {
    references: memory.references,
    blobs: {
      stat: (d) => memory.blobs.stat(d),
      get: (d, r) => memory.blobs.get(d, r),
      writer: (e, o) => memory.blobs.writer(e, o),
      delete: (d) => memory.blobs.delete(d),
      list: () => memory.blobs.list(),
      url: (digest) => Promise.resolve(`https://bucket.example/${digest}`),
    },
  };
}

Deno.test("proxyFromEnv() REDIRECT over an R2 binding fails at start naming R2's S3 endpoint: a binding cannot presign", () => {
  // Never called: the error comes before any bucket operation.
  const binding = {} as R2BucketBinding;
  assertThrows(
    () => proxyFromEnv({ UPSTREAMS, REDIRECT: "true", BLOBS: binding }),
    TypeError,
    "R2's S3 endpoint",
  );
  // Without REDIRECT the binding serves as before.
  proxyFromEnv({ UPSTREAMS, BLOBS: binding });
});

Deno.test("proxyFromEnv() REDIRECT takes true or seconds over a store with blob URLs, and refuses anything else", async () => {
  for (const value of ["true", "600", "false", ""]) {
    const app = proxyFromEnv({ UPSTREAMS, REDIRECT: value }, { store: withUrls });
    assertEquals(await (await app.fetch(new Request("http://worker.test/healthz"))).text(), "ok", value);
  }
  for (const value of ["yes", "0", "-5", "1.5"]) {
    assertThrows(() => proxyFromEnv({ UPSTREAMS, REDIRECT: value }, { store: withUrls }), Error, "REDIRECT");
  }
});

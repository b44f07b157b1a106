// The worker's text bindings as a deployer writes them in wrangler.toml or a workerd config: a value it
// cannot read names the variable and the form it takes, instead of a JSON parser's or a store's message.
import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { proxyFromEnv } from "./workerd.ts";

const UPSTREAMS = '{"hub":"https://registry.example"}';

Deno.test("proxyFromEnv() CACHE_MAX_BYTES takes bytes or a size such as 32MB (Docker's units) and names itself when it cannot read one", async () => {
  for (const value of ["33554432", "32MB", "32m", "1GiB"]) {
    const app = proxyFromEnv({ UPSTREAMS, CACHE_MAX_BYTES: value });
    assertEquals((await app.fetch(new Request("http://worker.test/healthz"))).status, 200, value);
  }
  for (const value of ["lots", "-1", "32 MB MB"]) {
    assertThrows(() => proxyFromEnv({ UPSTREAMS, CACHE_MAX_BYTES: value }), TypeError, "CACHE_MAX_BYTES");
  }
});

Deno.test("proxyFromEnv() TAG_TTL that is not whole seconds (5m) is refused naming TAG_TTL, not taken as NaN", () => {
  for (const value of ["5m", "soon", "-3", "1.5"]) {
    assertThrows(
      () => proxyFromEnv({ UPSTREAMS, TAG_TTL: value }),
      TypeError,
      "TAG_TTL must be whole seconds",
    );
  }
  proxyFromEnv({ UPSTREAMS, TAG_TTL: "300" });
});

Deno.test("proxyFromEnv() UPSTREAMS that is not a JSON object is refused naming UPSTREAMS and its form", () => {
  for (
    const value of ["docker.io=https://registry-1.docker.io", '["https://registry-1.docker.io"]', "null"]
  ) {
    assertThrows(
      () => proxyFromEnv({ UPSTREAMS: value }),
      TypeError,
      'UPSTREAMS must be a JSON object such as {"docker.io":"https://registry-1.docker.io"}',
    );
  }
});

Deno.test("proxyFromEnv() LEASE_TTL that is not whole seconds is refused naming LEASE_TTL", () => {
  // No request reaches the binding: the store is only built.
  const BLOBS = {} as unknown as NonNullable<Parameters<typeof proxyFromEnv>[0]["BLOBS"]>;
  assertThrows(
    () => proxyFromEnv({ UPSTREAMS, BLOBS, LEASE_TTL: "30s" }),
    TypeError,
    "LEASE_TTL must be whole seconds",
  );
  proxyFromEnv({ UPSTREAMS, BLOBS, LEASE_TTL: "30" });
});

Deno.test("proxyFromEnv() STREAM_THROUGH_ABOVE takes bytes or a size and names itself when it cannot read one", async () => {
  for (const value of ["8388608", "8MB", "0"]) {
    const app = proxyFromEnv({ UPSTREAMS, STREAM_THROUGH_ABOVE: value });
    assertEquals((await app.fetch(new Request("http://worker.test/healthz"))).status, 200, value);
  }
  for (const value of ["big", "-1"]) {
    assertThrows(
      () => proxyFromEnv({ UPSTREAMS, STREAM_THROUGH_ABOVE: value }),
      TypeError,
      "STREAM_THROUGH_ABOVE",
    );
  }
});

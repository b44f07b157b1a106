import { assert, assertEquals, assertThrows } from "../../test/_assert.ts";
import { insecureEndpointWarning, s3StoreOptionsFromUrl } from "./s3_store.ts";

const ENV = {
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
};

Deno.test("s3StoreOptionsFromUrl() refuses credentials in the store URL or its endpoint, and never prints them", () => {
  const secret = "s3cr3tKeyMaterial";
  const cases = [
    `s3://AKIDINURL:${secret}@bucket/prefix`,
    `s3://${secret}@bucket/prefix`,
    `s3://bucket/prefix?endpoint=http://AKIDINURL:${secret}@127.0.0.1:9000`,
    `s3://bucket/prefix?endpoint=${encodeURIComponent(`http://AKIDINURL:${secret}@127.0.0.1:9000`)}`,
    // Unparsable, with a secret in it: the message still does not show it.
    `s3://AKIDINURL:${secret}@bu cket/prefix`,
    `s3://AKIDINURL:${secret}@bucket/prefix?bogus=1`,
  ];
  for (const url of cases) {
    const error = assertThrows(() => s3StoreOptionsFromUrl(url, ENV), TypeError);
    assert(!error.message.includes(secret), `${url}: ${error.message}`);
  }
  const fromEnv = assertThrows(
    () =>
      s3StoreOptionsFromUrl("s3://bucket/p", { ...ENV, AWS_ENDPOINT_URL: `https://u:${secret}@s3.example` }),
    TypeError,
    "holds credentials",
  );
  assert(!fromEnv.message.includes(secret), fromEnv.message);
  // Nor does any message print the secret access key from the environment.
  for (const url of ["s3://bucket/a/../b", "s3://bucket:9000/p", "nope", "s3://bucket/p?x=1"]) {
    const error = assertThrows(() => s3StoreOptionsFromUrl(url, ENV), TypeError);
    assert(!error.message.includes(ENV.AWS_SECRET_ACCESS_KEY), error.message);
  }
});

Deno.test("s3StoreOptionsFromUrl() refuses a prefix with . or .. segments (as written or percent-encoded), a port or a fragment", () => {
  for (
    const url of [
      "s3://bucket/../x",
      "s3://bucket/a/../../x",
      "s3://bucket/a/./b",
      "s3://bucket/%2e%2e/x",
      "s3://bucket/a/.%2E/b",
      "s3://bucket/a/%2e",
      "s3://bucket:9000/p",
      "s3://bucket/p#frag",
    ]
  ) {
    assertThrows(() => s3StoreOptionsFromUrl(url, ENV), TypeError, {});
  }
  // Dots inside a segment are fine; the prefix is what was written.
  assertEquals(s3StoreOptionsFromUrl("s3://bucket/a..b/.c/", ENV).prefix, "a..b/.c");
});

Deno.test("insecureEndpointWarning() warns about plain http to another machine, not about https or loopback", () => {
  const warned = (endpoint: string) => insecureEndpointWarning({ endpoint }) !== undefined;
  for (
    const endpoint of ["http://minio.internal:9000", "http://10.0.0.5:9000", "http://[2001:db8::1]:9000"]
  ) {
    assert(warned(endpoint), endpoint);
  }
  for (
    const endpoint of [
      "https://s3.example",
      "http://127.0.0.1:9000",
      "http://localhost:9000",
      "http://[::1]:9000",
    ]
  ) {
    assert(!warned(endpoint), endpoint);
  }
  assertEquals(insecureEndpointWarning({}), undefined);
});

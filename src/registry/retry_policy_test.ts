import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { RegistryClient } from "./registry_client.ts";
import { DEFAULT_RETRY_POLICY, PROXY_RETRY_POLICY, type RetryPolicy, singleAttempt } from "./retry_policy.ts";
import type { FetchLike } from "./types.ts";
import { withRetry } from "./with_retry.ts";

const noWait = { sleep: () => Promise.resolve() } satisfies RetryPolicy;

/** A fake FetchLike that always answers `status` and counts the calls. */
function always(status: number): { fetch: FetchLike; calls: () => number } {
  let calls = 0;
  return {
    fetch: () => (calls++, Promise.resolve(new Response(null, { status }))),
    calls: () => calls,
  };
}

Deno.test("withRetry() makes DEFAULT_RETRY_POLICY.attempts attempts when the caller sets none", async () => {
  const fake = always(503);
  const res = await withRetry(fake.fetch, noWait)(new Request("http://127.0.0.1:1/v2/"));
  assertEquals(res.status, 503);
  assertEquals(fake.calls(), DEFAULT_RETRY_POLICY.attempts);
  assertEquals(DEFAULT_RETRY_POLICY.attempts, 5);
});

for (const attempts of [1, 2, 3, 7]) {
  Deno.test(`withRetry() makes the ${attempts} attempt(s) of the caller's RetryPolicy`, async () => {
    const fake = always(503);
    const res = await withRetry(fake.fetch, { ...noWait, attempts })(new Request("http://127.0.0.1:1/v2/"));
    assertEquals(res.status, 503);
    assertEquals(fake.calls(), attempts);
  });
}

Deno.test("withRetry() waits the caller's baseDelay and maxDelay", async () => {
  const waits: number[] = [];
  const fake = always(500);
  await withRetry(fake.fetch, {
    attempts: 4,
    baseDelay: 100,
    maxDelay: 300,
    random: () => 0.999999,
    sleep: (ms) => (waits.push(ms), Promise.resolve()),
  })(new Request("http://127.0.0.1:1/v2/"));
  assertEquals(waits, [100, 200, 300]);
});

Deno.test("withRetry() retries exactly the statuses the caller's RetryPolicy names", async () => {
  const policy: RetryPolicy = { ...noWait, attempts: 3, retryableStatus: (s) => s === 418 };
  const teapot = always(418);
  await withRetry(teapot.fetch, policy)(new Request("http://127.0.0.1:1/v2/"));
  assertEquals(teapot.calls(), 3);
  const unavailable = always(503);
  await withRetry(unavailable.fetch, policy)(new Request("http://127.0.0.1:1/v2/"));
  assertEquals(unavailable.calls(), 1);
});

Deno.test("withRetry() retries exactly the errors the caller's RetryPolicy names", async () => {
  let calls = 0;
  const throwing = (err: Error): FetchLike => () => (calls++, Promise.reject(err));
  const policy: RetryPolicy = { ...noWait, attempts: 3, retryableError: (e) => e instanceof RangeError };
  await assertRejects(() =>
    withRetry(throwing(new RangeError("odd")), policy)(new Request("http://127.0.0.1:1/"))
  );
  assertEquals(calls, 3);
  calls = 0;
  // A network error is not retried when the caller's predicate says no.
  await assertRejects(() =>
    withRetry(throwing(new TypeError("refused")), policy)(new Request("http://127.0.0.1:1/"))
  );
  assertEquals(calls, 1);
});

Deno.test("singleAttempt() keeps the policy but one attempt; PROXY_RETRY_POLICY derives from the default", () => {
  const sleep = () => Promise.resolve();
  assertEquals(singleAttempt({ attempts: 9, baseDelay: 3, sleep }), { attempts: 1, baseDelay: 3, sleep });
  assertEquals(PROXY_RETRY_POLICY.attempts, 2);
  assertEquals(PROXY_RETRY_POLICY.baseDelay, 200);
  assertEquals(PROXY_RETRY_POLICY.maxDelay, DEFAULT_RETRY_POLICY.maxDelay);
});

Deno.test("RegistryClient uses its caller's RetryPolicy for reads and one attempt for the ping", async () => {
  const fake = always(503);
  const client = new RegistryClient({
    registry: "http://127.0.0.1:1",
    repository: "team/tool",
    fetch: fake.fetch,
    retry: { ...noWait, attempts: 3 },
  });
  await assertRejects(() => client.getManifest("latest"), TugError);
  assertEquals(fake.calls(), 3);
  const ping = await client.ping().catch((e) => e);
  assertEquals(fake.calls(), 4, `ping: ${ping}`);
});

import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { registryError } from "./registry_error.ts";
import type { FetchLike } from "./types.ts";
import { parseRetryAfter, withRetry } from "./with_retry.ts";

/** A sleep that records the delays instead of waiting. */
function recorder() {
  const delays: number[] = [];
  return { delays, sleep: (ms: number) => (delays.push(ms), Promise.resolve()) };
}

/** A FetchLike answering from a script of statuses (or errors), counting calls. */
function scripted(script: (Response | Error | (() => Response))[]) {
  const state = { calls: 0, bodies: [] as string[] };
  const fetch: FetchLike = async (request) => {
    const step = script[Math.min(state.calls, script.length - 1)];
    state.calls++;
    if (request.body !== null) state.bodies.push(await request.text());
    if (step instanceof Error) throw step;
    return typeof step === "function" ? step() : step.clone();
  };
  return { state, fetch };
}

const url = "http://127.0.0.1:5000/v2/small/manifests/v1";

Deno.test("withRetry() retries a 503 with exponential backoff and jitter", async () => {
  const { delays, sleep } = recorder();
  const { state, fetch } = scripted([
    new Response(null, { status: 503 }),
    new Response(null, { status: 500 }),
    new Response(null, { status: 502 }),
    new Response("ok"),
  ]);
  const res = await withRetry(fetch, { sleep, random: () => 0.5 })(new Request(url));
  assertEquals(res.status, 200);
  assertEquals(state.calls, 4);
  // attempt n waits min(10 s, 500·2ⁿ⁻¹) / 2 + random · the other half
  assertEquals(delays, [375, 750, 1500]);
});

Deno.test("withRetry() jitter stays within half and all of the backoff, capped at maxDelay", async () => {
  const low = recorder();
  const high = recorder();
  const script = () => scripted([new Response(null, { status: 503 })]).fetch;
  await withRetry(script(), { sleep: low.sleep, random: () => 0, attempts: 8 })(new Request(url));
  await withRetry(script(), { sleep: high.sleep, random: () => 0.999999, attempts: 8 })(new Request(url));
  assertEquals(low.delays, [250, 500, 1000, 2000, 4000, 5000, 5000]);
  assertEquals(high.delays, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
});

Deno.test("withRetry() gives up after 5 attempts and the error says so", async () => {
  const { delays, sleep } = recorder();
  const { state, fetch } = scripted([
    () => Response.json({ errors: [{ code: "UNAVAILABLE", message: "try later" }] }, { status: 503 }),
  ]);
  const res = await withRetry(fetch, { sleep, random: () => 0 })(new Request(url));
  assertEquals(res.status, 503);
  assertEquals(state.calls, 5);
  assertEquals(delays.length, 4);
  const err = await registryError(res, { action: "fetch manifest", target: "127.0.0.1:5000/small:v1" });
  assertEquals(err.code, "UNKNOWN");
  assertEquals(
    err.message,
    'Cannot fetch manifest "127.0.0.1:5000/small:v1": registry returned 503 UNAVAILABLE (try later) after 5 attempts',
  );
});

Deno.test("withRetry() retries network errors, then rejects with NETWORK naming the attempts", async () => {
  const { delays, sleep } = recorder();
  const { state, fetch } = scripted([new TypeError("error sending request: connection refused")]);
  const err = await assertRejects(() => withRetry(fetch, { sleep })(new Request(url)), TugError, {
    code: "NETWORK",
    includes: "Cannot reach http://127.0.0.1:5000: connection refused (gave up after",
  });
  assertStringIncludes(err.message, "gave up after 5 attempts");
  assert(err.cause instanceof TypeError);
  assertEquals(state.calls, 5);
  assertEquals(delays.length, 4);
});

Deno.test("withRetry() recovers from a network error", async () => {
  const { sleep } = recorder();
  const { state, fetch } = scripted([new TypeError("reset"), new Response("ok")]);
  const res = await withRetry(fetch, { sleep })(new Request(url));
  assertEquals(await res.text(), "ok");
  assertEquals(state.calls, 2);
});

for (const status of [400, 401, 403, 404, 416]) {
  Deno.test(`withRetry() does not retry ${status}`, async () => {
    const { delays, sleep } = recorder();
    const { state, fetch } = scripted([new Response(null, { status })]);
    const res = await withRetry(fetch, { sleep })(new Request(url));
    assertEquals(res.status, status);
    assertEquals(state.calls, 1);
    assertEquals(delays, []);
  });
}

for (const status of [408, 429, 500, 504]) {
  Deno.test(`withRetry() retries ${status}`, async () => {
    const { sleep } = recorder();
    const { state, fetch } = scripted([new Response(null, { status }), new Response("ok")]);
    assertEquals((await withRetry(fetch, { sleep })(new Request(url))).status, 200);
    assertEquals(state.calls, 2);
  });
}

for (const code of ["DENIED", "NAME_UNKNOWN", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "UNAUTHORIZED"]) {
  Deno.test(`withRetry() does not retry a 5xx whose body says ${code}, and keeps the body`, async () => {
    const { sleep } = recorder();
    const body = { errors: [{ code, message: "final" }] };
    const { state, fetch } = scripted([() => Response.json(body, { status: 500 })]);
    const res = await withRetry(fetch, { sleep })(new Request(url));
    assertEquals(state.calls, 1);
    assertEquals(await res.json(), body);
  });
}

Deno.test("withRetry() waits what Retry-After asks in seconds", async () => {
  const { delays, sleep } = recorder();
  const { fetch } = scripted([
    new Response(null, { status: 429, headers: { "retry-after": "7" } }),
    new Response("ok"),
  ]);
  await withRetry(fetch, { sleep })(new Request(url));
  assertEquals(delays, [7000]);
});

Deno.test("withRetry() waits until a Retry-After HTTP date by the injected clock", async () => {
  const { delays, sleep } = recorder();
  const now = Date.parse("Tue, 01 Jul 2025 12:00:00 GMT");
  const { fetch } = scripted([
    new Response(null, { status: 503, headers: { "retry-after": "Tue, 01 Jul 2025 12:00:12 GMT" } }),
    new Response(null, { status: 503, headers: { "retry-after": "Tue, 01 Jul 2025 11:00:00 GMT" } }),
    new Response("ok"),
  ]);
  await withRetry(fetch, { sleep, now: () => now })(new Request(url));
  assertEquals(delays, [12000, 0]);
});

Deno.test("withRetry() returns at once when Retry-After is longer than maxRetryAfter", async () => {
  const { delays, sleep } = recorder();
  // Docker Hub's pull limit: 429 with its TOOMANYREQUESTS body (a bare 429 is an unexpected answer).
  const body = JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "pull rate limit" }] });
  const { state, fetch } = scripted([
    new Response(body, { status: 429, headers: { "retry-after": "21600" } }),
  ]);
  const res = await withRetry(fetch, { sleep, maxRetryAfter: 60_000 })(new Request(url));
  assertEquals(res.status, 429);
  assertEquals(state.calls, 1);
  assertEquals(delays, []);
  const err = await registryError(res, { action: "fetch manifest", target: "docker.io/library/alpine:3" });
  assertEquals(err.code, "TOOMANYREQUESTS");
  assertStringIncludes(err.message, "Retry-After: 21600");
});

Deno.test("parseRetryAfter() rejects what is neither seconds nor a date", () => {
  assertEquals(parseRetryAfter("soon", 0), undefined);
  assertEquals(parseRetryAfter(" 0 ", 0), 0);
});

Deno.test("withRetry() never retries after the signal fired", async () => {
  const controller = new AbortController();
  const { state, fetch } = scripted([new Response(null, { status: 503 })]);
  const sleep = () => {
    controller.abort(new DOMException("stop", "AbortError"));
    return Promise.resolve();
  };
  await assertRejects(
    () => withRetry(fetch, { sleep })(new Request(url, { signal: controller.signal })),
    DOMException,
    {
      includes: "stop",
    },
  );
  assertEquals(state.calls, 1);
});

Deno.test("withRetry() does not retry a network error once the signal fired", async () => {
  const controller = new AbortController();
  let calls = 0;
  const fetch: FetchLike = () => {
    calls++;
    controller.abort();
    return Promise.reject(new TypeError("aborted mid-flight"));
  };
  await assertRejects(() => withRetry(fetch)(new Request(url, { signal: controller.signal })), TypeError);
  assertEquals(calls, 1);
});

Deno.test("withRetry() sends a request body again on every attempt", async () => {
  const { sleep } = recorder();
  const { state, fetch } = scripted([
    new Response(null, { status: 503 }),
    new TypeError("reset"),
    new Response("ok"),
  ]);
  await withRetry(fetch, { sleep })(new Request(url, { method: "POST", body: "grant_type=refresh_token" }));
  assertEquals(state.bodies, [
    "grant_type=refresh_token",
    "grant_type=refresh_token",
    "grant_type=refresh_token",
  ]);
});

Deno.test("withRetry() retries a token server's 5xx, not its 401", async () => {
  const { sleep } = recorder();
  let calls = 0;
  const failing = (status: number): FetchLike => () => {
    calls++;
    return Promise.reject(new TugError("AUTH_FAILED", "token", { detail: { status, errors: [] } }));
  };
  await assertRejects(() => withRetry(failing(503), { sleep, attempts: 3 })(new Request(url)), TugError, {
    code: "AUTH_FAILED",
  });
  assertEquals(calls, 3);
  calls = 0;
  await assertRejects(() => withRetry(failing(401), { sleep })(new Request(url)), TugError, {
    code: "AUTH_FAILED",
  });
  assertEquals(calls, 1);
});

Deno.test("withRetry() tells onRetry about each wait", async () => {
  const { sleep } = recorder();
  const seen: string[] = [];
  const { fetch } = scripted([new Response(null, { status: 503 }), new Response("ok")]);
  await withRetry(fetch, {
    sleep,
    random: () => 0,
    onRetry: (i) => seen.push(`${i.attempt}:${i.reason}:${i.delay}`),
  })(
    new Request(url),
  );
  assertEquals(seen, ["1:503:250"]);
});

Deno.test("withRetry() honours Retry-After from a real server answering 429 and 503", async () => {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    if (hits === 1) return new Response("slow down", { status: 429, headers: { "retry-after": "1" } });
    if (hits === 2) return new Response("busy", { status: 503, headers: { "retry-after": "2" } });
    return new Response("ok");
  });
  try {
    const { delays, sleep } = recorder();
    const fetch = withRetry((r) => globalThis.fetch(r), { sleep });
    const res = await fetch(new Request(`http://127.0.0.1:${server.addr.port}/v2/`));
    assertEquals(await res.text(), "ok");
    assertEquals(delays, [1000, 2000]);
    assertEquals(hits, 3);
  } finally {
    await server.shutdown();
  }
});

Deno.test("withRetry() default sleep really waits and ends early on abort", async () => {
  let calls = 0;
  const fetch: FetchLike = () => (calls++, Promise.resolve(new Response(null, { status: 503 })));
  const started = Date.now();
  const res = await withRetry(fetch, { attempts: 2, baseDelay: 40, random: () => 0 })(new Request(url));
  assertEquals(res.status, 503);
  assert(Date.now() - started >= 15, "expected a real wait");
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  const begun = Date.now();
  await assertRejects(() =>
    withRetry(fetch, { baseDelay: 60_000 })(new Request(url, { signal: controller.signal }))
  );
  assert(Date.now() - begun < 5_000, "the abort should cut the wait short");
});

Deno.test("withRetry() sends a request its policy's sendOnce marks once, and retries the others", async () => {
  let calls = 0;
  const busy = () => (calls++, Promise.resolve(new Response(null, { status: 503 })));
  const fetch = withRetry(busy, {
    attempts: 3,
    sleep: () => Promise.resolve(),
    sendOnce: (request) => request.url.includes("/blobs/"),
  });
  assertEquals((await fetch(new Request("http://127.0.0.1:1/v2/a/blobs/sha256:00"))).status, 503);
  assertEquals(calls, 1);
  assertEquals((await fetch(new Request("http://127.0.0.1:1/v2/a/manifests/1"))).status, 503);
  assertEquals(calls, 1 + 3);
});

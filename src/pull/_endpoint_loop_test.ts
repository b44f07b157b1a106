import { assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import type { Endpoint } from "../registry/lookup_endpoints.ts";
import { FallbackError } from "./fallback_policy.ts";
import { runEndpointLoop } from "./_endpoint_loop.ts";
import type { PullAttempt } from "./types.ts";

const ep = (url: string, version: 1 | 2 = 2, mirror = false): Endpoint => ({
  url,
  version,
  mirror,
  official: false,
});
const fallback = (err: Error, confirmedV2 = false, transportOK = false) =>
  new FallbackError(err, { confirmedV2, transportOK });
const noSupport = () => new TugError("NO_SUPPORT", "v1 cannot pull by digest");
const network = (what: string) => new TugError("NETWORK", `connection refused (${what})`);

/** Runs the loop where each endpoint URL maps to what its attempt throws (or returns). */
async function run(
  endpoints: Endpoint[],
  outcomes: Record<string, Error | "ok">,
  signal?: AbortSignal,
): Promise<{ error?: Error; attempts: PullAttempt[]; tried: string[] }> {
  const tried: string[] = [];
  try {
    const { attempts } = await runEndpointLoop(endpoints, "example.com/app:1", (e) => {
      tried.push(`${e.url} v${e.version}`);
      const o = outcomes[`${e.url} v${e.version}`];
      return o === "ok" ? Promise.resolve("ok") : Promise.reject(o);
    }, { signal, finish: (err) => err });
    return { attempts, tried };
  } catch (error) {
    return { error: error as Error, attempts: (error as { attempts: PullAttempt[] }).attempts, tried };
  }
}

Deno.test("runEndpointLoop() keeps ErrNoSupport only while no other fallback error was seen", async () => {
  // Only v1 endpoints, all unable to pull by digest: ErrNoSupport is the reported error.
  const onlyV1 = await run([ep("https://r", 1), ep("http://r", 1)], {
    "https://r v1": fallback(noSupport()),
    "http://r v1": fallback(noSupport()),
  });
  assertEquals((onlyV1.error as TugError).code, "NO_SUPPORT");
  // A v2 error first: the later ErrNoSupport does not replace it.
  const v2First = await run([ep("https://r"), ep("https://r", 1)], {
    "https://r v2": fallback(network("v2")),
    "https://r v1": fallback(noSupport()),
  });
  assertEquals(v2First.error?.message, "connection refused (v2)");
  // ErrNoSupport first, then another fallback error: the other error is reported.
  const noSupportFirst = await run([ep("https://a", 1), ep("https://b")], {
    "https://a v1": fallback(noSupport()),
    "https://b v2": fallback(network("b")),
  });
  assertEquals(noSupportFirst.error?.message, "connection refused (b)");
  // …and once discarded, a later ErrNoSupport stays discarded.
  const sandwich = await run([ep("https://a", 1), ep("https://b"), ep("https://c", 1)], {
    "https://a v1": fallback(noSupport()),
    "https://b v2": fallback(network("b")),
    "https://c v1": fallback(noSupport()),
  });
  assertEquals(sandwich.error?.message, "connection refused (b)");
});

Deno.test("runEndpointLoop() with no endpoints reports Docker's 'no endpoints found for REF'", async () => {
  const { error, attempts } = await run([], {});
  assertEquals(error?.message, "no endpoints found for example.com/app:1");
  assertEquals((error as TugError).code, "NO_ENDPOINTS");
  assertEquals(attempts, []);
});

Deno.test("runEndpointLoop() skips v1 endpoints once v2 was confirmed, and http once the host answered over TLS", async () => {
  const endpoints = [
    ep("https://r"),
    ep("http://r"),
    ep("https://r", 1),
    ep("http://r", 1),
    ep("http://other", 1),
  ];
  const { attempts, tried } = await run(endpoints, {
    "https://r v2": fallback(new TugError("MANIFEST_UNKNOWN", "manifest unknown"), true, true),
  });
  assertEquals(tried, ["https://r v2"]);
  assertEquals(attempts.map((a) => a.outcome), ["fallback", "skipped", "skipped", "skipped", "skipped"]);
  assertEquals(attempts[1].reason, "skipped non-TLS endpoint: r already answered over TLS");
  assertEquals(attempts[2].reason, "skipped v1 endpoint: an earlier endpoint confirmed it speaks v2");
  // Without the confirmations, every endpoint is tried.
  const open = await run(endpoints, {
    "https://r v2": fallback(new TugError("MANIFEST_UNKNOWN", "manifest unknown"), false, false),
    "http://r v2": fallback(network("http")),
    "https://r v1": fallback(network("v1")),
    "http://r v1": fallback(network("v1 http")),
    "http://other v1": "ok",
  });
  assertEquals(open.tried.length, 5);
  assertEquals(open.attempts.at(-1)?.outcome, "pulled");
  // transportOK over plain http confirms nothing about TLS.
  const plain = await run([ep("http://r"), ep("http://r", 1)], {
    "http://r v2": fallback(network("x"), false, true),
    "http://r v1": "ok",
  });
  assertEquals(plain.tried, ["http://r v2", "http://r v1"]);
});

Deno.test("runEndpointLoop() stops at an error that is not a fallback error, and never falls back once cancelled", async () => {
  const stop = await run([ep("https://a"), ep("https://b")], {
    "https://a v2": new TugError("DENIED", "denied"),
  });
  assertEquals(stop.tried, ["https://a v2"]);
  assertEquals(stop.attempts.map((a) => a.outcome), ["stopped"]);
  const controller = new AbortController();
  const tried: string[] = [];
  const err = await assertRejects(
    () =>
      runEndpointLoop([ep("https://a"), ep("https://b")], "x", (e) => {
        tried.push(e.url);
        controller.abort(new TugError("ABORTED", "The pull was interrupted"));
        // Even a fallback error does not move on after cancellation.
        return Promise.reject(fallback(network("a")));
      }, { signal: controller.signal, finish: (e) => e }),
    TugError,
  );
  assertEquals(tried, ["https://a"]);
  assertEquals((err as unknown as { attempts: PullAttempt[] }).attempts.map((a) => a.outcome), ["stopped"]);
});

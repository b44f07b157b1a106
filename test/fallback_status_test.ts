// How pull() judges a 403 or 429 that carries no registry error (Docker's registry client: an
// UnexpectedHTTPResponseError, which its pull falls back on) against one whose `WWW-Authenticate` says
// `error="insufficient_scope"` (DENIED, which stops). The fault proxy answers in front of the real registry.
import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { pull } from "../src/pull/pull.ts";
import type { PullAttempt } from "../src/pull/pull.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { TugError } from "../src/errors.ts";

function outcomes(err: unknown): string[] {
  const attempts = (err as { attempts?: PullAttempt[] }).attempts ?? [];
  return attempts.map((a) => `${new URL(a.endpoint).protocol} ${a.outcome}`);
}

for (const status of [403, 429]) {
  Deno.test(`pull() falls back after a ${status} without a registry error body, as an unexpected HTTP response`, async () => {
    const { registry } = await sharedRegistry();
    await using proxy = await startFaultProxy({ upstream: registry.url });
    proxy.addRule({ match: "/manifests/", fault: { kind: "status", status, body: "" }, times: Infinity });
    const err = await assertRejects(
      () => pull(`${proxy.host}/tug/small:v1`, { store: new MemoryStore(), retry: { attempts: 1 } }),
      TugError,
      { code: "UNEXPECTED_STATUS" },
    );
    // 127.0.0.1 is insecure: https (refused by the proxy), then http, where the bare status falls back too.
    assertEquals(outcomes(err), ["https: fallback", "http: fallback"]);
    assert(!err.message.includes("pull access denied"), err.message);
  });
}

Deno.test('pull() stops at a 403 whose WWW-Authenticate says error="insufficient_scope" (DENIED)', async () => {
  const { registry } = await sharedRegistry();
  await using proxy = await startFaultProxy({ upstream: registry.url });
  proxy.addRule({
    match: "/manifests/",
    fault: {
      kind: "answer",
      status: 403,
      headers: {
        "www-authenticate": 'Bearer realm="http://127.0.0.1:1/token",error="insufficient_scope"',
        "content-length": "0",
      },
    },
    times: Infinity,
  });
  const err = await assertRejects(
    () => pull(`${proxy.host}/tug/small:v1`, { store: new MemoryStore(), retry: { attempts: 1 } }),
    TugError,
    { code: "DENIED" },
  );
  assertEquals(outcomes(err), ["https: fallback", "http: stopped"]);
  assertEquals(
    err.message,
    `pull access denied for ${proxy.host}/tug/small, repository does not exist or may require 'docker login'`,
  );
});

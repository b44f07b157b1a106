import { assert, assertEquals } from "../../test/_assert.ts";
import { TugError, type TugErrorCode } from "../errors.ts";
import {
  continueOnError,
  EndpointFallbacks,
  FALLBACK_RULES,
  fallbackAt,
  FallbackError,
  fallbackFromEndpoint,
  ImageConfigPullError,
  judge,
  noSupport,
  withoutFallback,
} from "./fallback_policy.ts";

const fallback = (err: Error) => new FallbackError(err, { confirmedV2: false, transportOK: false });
const registry = (code: TugErrorCode) =>
  new TugError(code, code.toLowerCase(), { detail: { status: 400, errors: [] } });

const cases: Array<[string, unknown, { mirror: boolean; layer?: boolean }, boolean]> = [
  // shouldV2Fallback codes fall back anywhere.
  ["UNAUTHORIZED", registry("UNAUTHORIZED"), { mirror: false }, true],
  ["MANIFEST_UNKNOWN", registry("MANIFEST_UNKNOWN"), { mirror: false }, true],
  ["NAME_UNKNOWN", registry("NAME_UNKNOWN"), { mirror: false }, true],
  // Other registry codes stop — unless from a mirror.
  ["DENIED", registry("DENIED"), { mirror: false }, false],
  ["DENIED mirror", registry("DENIED"), { mirror: true }, true],
  ["TOOMANYREQUESTS", registry("TOOMANYREQUESTS"), { mirror: false }, false],
  ["TOOMANYREQUESTS mirror", registry("TOOMANYREQUESTS"), { mirror: true }, true],
  ["UNKNOWN", registry("UNKNOWN"), { mirror: false }, false],
  ["MANIFEST_INVALID from the registry", registry("MANIFEST_INVALID"), { mirror: false }, false],
  // tug's own parse failure is a plain error.
  ["MANIFEST_INVALID from tug", new TugError("MANIFEST_INVALID", "bad json"), { mirror: false }, true],
  // Image config errors stop unless from a mirror.
  ["config", new ImageConfigPullError(new TugError("NETWORK", "reset")), { mirror: false }, false],
  ["config mirror", new ImageConfigPullError(new TugError("NETWORK", "reset")), { mirror: true }, true],
  ["CONFIG_INVALID", new TugError("CONFIG_INVALID", "bad config"), { mirror: false }, false],
  // Layer errors Docker does not retry come back wrapped (DoNotRetry) and fall back.
  ["layer DENIED", registry("DENIED"), { mirror: false, layer: true }, true],
  ["layer BLOB_UNKNOWN", registry("BLOB_UNKNOWN"), { mirror: false, layer: true }, true],
  ["layer UNKNOWN", registry("UNKNOWN"), { mirror: false, layer: true }, false],
  ["layer DENIED, disk full", new TugError("DENIED", "x", { cause: new Error("no space left on device") }), {
    mirror: false,
    layer: true,
  }, false],
  // Unexpected responses, transport and plain errors fall back; no space left and cancellation stop.
  ["UNEXPECTED_STATUS", new TugError("UNEXPECTED_STATUS", "502"), { mirror: false }, true],
  ["NETWORK", new TugError("NETWORK", "refused"), { mirror: false }, true],
  ["DIGEST_MISMATCH", new TugError("DIGEST_MISMATCH", "x"), { mirror: false }, true],
  ["plain", new Error("something odd"), { mirror: false }, true],
  ["ENOSPC", Object.assign(new Error("write failed"), { code: "ENOSPC" }), { mirror: false }, false],
  ["ENOSPC mirror", new TugError("STORE_IO", "x", { cause: new Error("no space left on device") }), {
    mirror: true,
  }, false],
  ["ABORTED", new TugError("ABORTED", "cancelled"), { mirror: true }, false],
  // ErrNoSupport is judged by the error it carries.
  ["NO_SUPPORT", new TugError("NO_SUPPORT", "x", { cause: registry("DENIED") }), { mirror: false }, false],
  ["already wrapped", fallback(new TugError("DENIED", "denied")), { mirror: false }, true],
];

Deno.test("continueOnError() follows Docker's table for registry, config, layer and plain errors", () => {
  for (const [name, err, { mirror, layer }, want] of cases) {
    assertEquals(continueOnError(err, mirror, { layer }), want, name);
  }
});

Deno.test("FALLBACK_RULES: every rule of the list decides at least one case of Docker's table", () => {
  const used = new Set(
    cases.map(([, err, { mirror, layer }]) => judge(err, { mirror, layer: layer ?? false }).rule),
  );
  assertEquals(
    FALLBACK_RULES.filter((r) => r.verdict !== "cause" && !used.has(r.rule)).map((r) => r.rule),
    [],
  );
  // The `cause` rule hands over to the rule for the carried error.
  const carried = new TugError("NO_SUPPORT", "x", { cause: new TugError("NETWORK", "refused") });
  assertEquals(judge(carried, { mirror: false, layer: false }), {
    fallback: true,
    rule: "any other error falls back",
  });
});

Deno.test("fallbackAt() falls back after any ping failure, and by tag only on shouldV2Fallback codes", () => {
  const ping = fallbackAt("ping", new TugError("NETWORK", "refused"));
  assert(ping instanceof FallbackError);
  assertEquals([ping.confirmedV2, ping.transportOK], [false, false]);
  for (const code of ["UNAUTHORIZED", "MANIFEST_UNKNOWN", "NAME_UNKNOWN"] as const) {
    const tag = fallbackAt("tag", registry(code));
    assert(tag instanceof FallbackError, code);
    assertEquals([tag.confirmedV2, tag.transportOK], [false, true]);
  }
  // Anything else is left for continueOnError at the endpoint level.
  const denied = registry("DENIED");
  assertEquals(fallbackAt("tag", denied), denied);
  // A cancelled pull never falls back.
  const controller = new AbortController();
  controller.abort();
  const refused = new TugError("NETWORK", "refused");
  assertEquals(fallbackAt("ping", refused, controller.signal), refused);
  assertEquals(
    fallbackAt("tag", registry("UNAUTHORIZED"), controller.signal) instanceof FallbackError,
    false,
  );
});

Deno.test("fallbackFromEndpoint() wraps what continueOnError allows with the endpoint's confirmedV2", () => {
  const wrapped = fallbackFromEndpoint(new TugError("NETWORK", "reset"), { mirror: false }, {
    confirmedV2: true,
    layer: false,
  });
  assert(wrapped instanceof FallbackError);
  assertEquals([wrapped.confirmedV2, wrapped.transportOK], [true, true]);
  const denied = registry("DENIED");
  assertEquals(fallbackFromEndpoint(denied, { mirror: false }, { confirmedV2: true, layer: false }), denied);
  assert(
    fallbackFromEndpoint(denied, { mirror: false }, { confirmedV2: true, layer: true }) instanceof
      FallbackError,
  );
  const already = fallback(denied);
  assertEquals(
    fallbackFromEndpoint(already, { mirror: false }, { confirmedV2: true, layer: false }),
    already,
  );
  const controller = new AbortController();
  controller.abort();
  const reset = new TugError("NETWORK", "reset");
  assertEquals(
    fallbackFromEndpoint(reset, { mirror: true }, {
      confirmedV2: false,
      layer: false,
      signal: controller.signal,
    }),
    reset,
  );
  assertEquals(withoutFallback(already), denied);
  assertEquals(withoutFallback(denied), denied);
});

Deno.test("EndpointFallbacks reports ErrNoSupport only while it is the only fallback error", () => {
  const v1 = { url: "https://r", version: 1 as const, mirror: false, official: false };
  const v2 = { ...v1, version: 2 as const };
  const state = new EndpointFallbacks();
  assertEquals(state.lastError("r/app:1").message, "no endpoints found for r/app:1");
  state.record(v1, noSupport("v1 cannot pull by digest"));
  assertEquals((state.lastError("r/app:1") as TugError).code, "NO_SUPPORT");
  state.record(v2, fallback(new TugError("NETWORK", "refused")));
  state.record(v1, noSupport("again"));
  assertEquals(state.lastError("r/app:1").message, "refused");
  // Nothing was confirmed, so nothing is skipped.
  assertEquals([state.skip(v1), state.skip({ ...v2, url: "http://r" })], [undefined, undefined]);
});

import { assertEquals } from "../../test/_assert.ts";
import { TugError, type TugErrorCode } from "../errors.ts";
import { continueOnError, ImageConfigPullError } from "./fallback_error.ts";

const registry = (code: TugErrorCode) =>
  new TugError(code, code.toLowerCase(), { detail: { status: 400, errors: [] } });

Deno.test("continueOnError() follows Docker's table for registry, config, layer and plain errors", () => {
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
  ];
  for (const [name, err, { mirror, layer }, want] of cases) {
    assertEquals(continueOnError(err, mirror, { layer }), want, name);
  }
});

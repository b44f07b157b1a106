// This module is browser compatible.
/**
 * Words for why a request never got an answer. `fetch()` in Node (undici) and in Deno's Node-compatible
 * fetch rejects with a bare `TypeError: fetch failed` and puts the reason in `cause`
 * (`ECONNREFUSED`, `tcp connect error: Connection refused (os error 111)`); this spells it out the way Go's
 * net package (and so Docker) does: "connection refused", "no such host", ….
 *
 * @module
 */

const REASONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/ECONNREFUSED|connection refused/i, "connection refused"],
  [
    /ENOTFOUND|EAI_AGAIN|EAI_NONAME|failed to lookup address|name or service not known|dns error/i,
    "no such host",
  ],
  [/ECONNRESET|connection reset/i, "connection reset by peer"],
  [/EHOSTUNREACH|no route to host/i, "no route to host"],
  [/ENETUNREACH|network is unreachable/i, "network is unreachable"],
  [/ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|timed out/i, "i/o timeout"],
];

/**
 * The reason a fetch failed, in a few words. A message that already says more than "fetch failed" is kept;
 * a bare one is replaced by what its `cause` chain names (a known network error, else the innermost
 * message).
 *
 * @param err What `fetch()` rejected with.
 * @returns The reason, e.g. `connection refused`.
 *
 * @example
 * ```ts
 * import { networkErrorReason } from "./network_error_reason.ts";
 *
 * const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5000"), { code: "ECONNREFUSED" });
 * console.assert(networkErrorReason(new TypeError("fetch failed", { cause })) === "connection refused");
 * console.assert(networkErrorReason(new TypeError("bad port")) === "bad port");
 * ```
 */
export function networkErrorReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (!/^fetch failed$/i.test(message.trim())) return message;
  const texts: string[] = [];
  let innermost: string | undefined;
  let at: unknown = (err as { cause?: unknown }).cause;
  for (let depth = 0; at !== undefined && at !== null && depth < 8; depth++) {
    const e = at as { message?: unknown; code?: unknown; cause?: unknown };
    if (typeof e.code === "string") texts.push(e.code);
    if (typeof e.message === "string" && e.message !== "") {
      texts.push(e.message);
      innermost = e.message;
    } else if (typeof at === "string") {
      texts.push(at);
      innermost = at;
    }
    at = typeof at === "object" ? e.cause : undefined;
  }
  const all = texts.join(" ");
  for (const [pattern, reason] of REASONS) if (pattern.test(all)) return reason;
  return innermost ?? message;
}

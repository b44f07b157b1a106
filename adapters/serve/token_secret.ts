/**
 * The key that seals the proxy's client tokens, shared by every replica of a fleet: `TUG_TOKEN_SECRET` for
 * `tug serve`, the `TOKEN_SECRET` secret of the worker. A client fetches its token from whichever replica a
 * load balancer (or an edge platform) picks and presents it to the others; with a random key per process,
 * the others answer 401.
 *
 * @module
 */

/**
 * The 32 bytes of a token secret written as 64 hex digits (`openssl rand -hex 32`), or undefined when none
 * is given (the proxy then makes a random key of its own). Throws a TypeError naming the variable when the
 * text is not 64 hex digits.
 *
 * @example
 * ```ts
 * import { tokenSecretFromHex } from "./token_secret.ts";
 *
 * const secret = tokenSecretFromHex("00".repeat(31) + "ff");
 * console.assert(secret?.length === 32 && secret[31] === 255);
 * console.assert(tokenSecretFromHex(undefined) === undefined);
 * ```
 */
export function tokenSecretFromHex(
  text: string | undefined,
  name = "TUG_TOKEN_SECRET",
): Uint8Array | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new TypeError(`${name} must be 64 hex digits (openssl rand -hex 32), got ${hex.length} characters`);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// This module is browser compatible.
/**
 * The proxy's own token endpoint (Docker's token authentication, answered locally). Clients learn from
 * `GET /v2/` that they may authenticate; they trade their Basic credentials (or nothing) for an opaque
 * token here and send it as `Bearer` afterwards, which every client (Docker, containerd, containers/image)
 * does, where a Basic challenge would make Docker refuse to go on anonymously. The token is the client's
 * credentials sealed with AES-GCM under a key of this proxy instance; the proxy opens it on each request
 * and uses the credentials upstream. Private to the proxy.
 *
 * @module
 */

import type { Credentials } from "../registry/types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of base64url `text`, or undefined when it is not base64url (any client string may come here). */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  // A length of 4n+1 is no base64 at all (atob throws on it, "Bearer A" did: a 500).
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  let binary: string;
  try {
    binary = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
  } catch {
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Seals and opens the proxy's tokens. */
export class TokenSealer {
  readonly #key: Promise<CryptoKey>;
  readonly #now: () => number;
  readonly #lifetime: number;

  /** `secret`: 32 bytes to share tokens between instances; default a random key per instance. */
  constructor(now: () => number, lifetimeMs: number, secret?: Uint8Array) {
    this.#now = now;
    this.#lifetime = lifetimeMs;
    this.#key = secret === undefined
      ? crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
      : crypto.subtle.importKey("raw", secret as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
        "encrypt",
        "decrypt",
      ]);
  }

  /** Lifetime of a token in seconds (`expires_in`). */
  get lifetimeSeconds(): number {
    return Math.floor(this.#lifetime / 1000);
  }

  /** A token carrying `credentials` (or anonymous access). */
  async seal(credentials: { username: string; password: string } | undefined): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const payload = encoder.encode(
      JSON.stringify({ c: credentials ?? null, e: this.#now() + this.#lifetime }),
    );
    const sealed = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await this.#key, payload),
    );
    const out = new Uint8Array(iv.length + sealed.length);
    out.set(iv);
    out.set(sealed, iv.length);
    return toBase64Url(out);
  }

  /** The credentials in a token (`null` for anonymous), or undefined when it is not valid (forged, expired). */
  async open(token: string): Promise<Credentials | null | undefined> {
    const bytes = fromBase64Url(token);
    if (bytes === undefined || bytes.length < 13) return undefined;
    let plain: ArrayBuffer;
    try {
      plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: bytes.slice(0, 12) as Uint8Array<ArrayBuffer> },
        await this.#key,
        bytes.slice(12) as Uint8Array<ArrayBuffer>,
      );
    } catch {
      return undefined;
    }
    // Only this proxy's key opens a token, so the payload is its own; checked all the same (a shared
    // tokenSecret may come from another version).
    let payload: unknown;
    try {
      payload = JSON.parse(decoder.decode(plain));
    } catch {
      return undefined;
    }
    const { c, e } = (payload ?? {}) as { c?: unknown; e?: unknown };
    if (typeof e !== "number" || this.#now() >= e) return undefined;
    if (c === null) return null;
    const creds = c as { username?: unknown; password?: unknown } | undefined;
    if (typeof creds?.username !== "string" || typeof creds.password !== "string") return undefined;
    return { username: creds.username, password: creds.password };
  }
}

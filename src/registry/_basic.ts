// This module is browser compatible.
/**
 * The Basic authentication header value.
 *
 * @module
 */

/** `Basic base64(user:password)` with the pair UTF-8 encoded (RFC 7617 §2.1, charset UTF-8). */
export function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

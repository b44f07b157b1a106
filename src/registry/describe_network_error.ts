// This module is browser compatible.
/**
 * Says why a connection failed, in Docker's (Go's) words, from whatever the runtime threw: `fetch` rejects
 * with a bare `TypeError: fetch failed` (Node/undici, Deno) whose `cause` chain holds the reason — a TLS
 * verification failure, a refused connection, an unknown host. Without this, a pull from a registry whose
 * certificate is not trusted would say only "fetch failed".
 *
 * @module
 */

/** Reasons recognised in an error's messages and codes, first match wins; Go's wording where it has one. */
const REASONS: readonly { test: RegExp; reason: string }[] = [
  // rustls (Deno): "invalid peer certificate: UnknownIssuer"; OpenSSL (Node): UNABLE_TO_VERIFY_LEAF_SIGNATURE,
  // SELF_SIGNED_CERT_IN_CHAIN, DEPTH_ZERO_SELF_SIGNED_CERT, UNABLE_TO_GET_ISSUER_CERT(_LOCALLY).
  {
    test:
      /UnknownIssuer|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|self[- ]signed certificate|unable to (verify|get local issuer)/i,
    reason: "tls: failed to verify certificate: x509: certificate signed by unknown authority",
  },
  {
    test: /NotValidForName|ERR_TLS_CERT_ALTNAME_INVALID|Hostname\/IP does not match/i,
    reason: "tls: failed to verify certificate: x509: certificate is not valid for this host",
  },
  {
    test: /CertExpired|\bExpired\b|CERT_HAS_EXPIRED|certificate has expired/i,
    reason: "tls: failed to verify certificate: x509: certificate has expired or is not yet valid",
  },
  {
    test: /NotValidYet|CERT_NOT_YET_VALID/i,
    reason: "tls: failed to verify certificate: x509: certificate has expired or is not yet valid",
  },
  // The server asked for a client certificate and got none it accepts (TLS 1.3 alert 116, or
  // bad_certificate 42 / handshake_failure on TLS 1.2).
  {
    test:
      /CertificateRequired|certificate required|alert number 116|BadCertificate|bad certificate|alert number 42/i,
    reason: "tls: the registry requires a client certificate (none was sent, or it was refused)",
  },
  // https to a port that speaks plain http: Go's "http: server gave HTTP response to HTTPS client".
  {
    test:
      /InvalidContentType|wrong version number|WRONG_VERSION_NUMBER|packet length too long|CorruptMessage/i,
    reason: "http: server gave HTTP response to HTTPS client",
  },
  { test: /ECONNREFUSED|connection refused/i, reason: "connection refused" },
  { test: /ECONNRESET|connection reset/i, reason: "connection reset by peer" },
  {
    test: /ENOTFOUND|EAI_AGAIN|dns error|failed to lookup address|Name or service not known/i,
    reason: "no such host",
  },
  { test: /ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|timed out|unreachable/i, reason: "i/o timeout or unreachable" },
];

/**
 * The reason behind a network error: Go's wording for the cases a registry user meets (an untrusted or
 * mismatched certificate, a missing client certificate, a refused connection, an unknown host), else the
 * innermost message of the `cause` chain that says more than "fetch failed". Runtime wordings are
 * recognised for Deno (rustls, hyper) and Node (OpenSSL codes, undici).
 *
 * @example
 * ```ts
 * import { describeNetworkError } from "./describe_network_error.ts";
 *
 * const denoError = new TypeError("fetch failed", {
 *   cause: new Error("client error (Connect): invalid peer certificate: UnknownIssuer"),
 * });
 * console.assert(describeNetworkError(denoError).endsWith("certificate signed by unknown authority"));
 * const nodeError = new TypeError("fetch failed", {
 *   cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5000"), { code: "ECONNREFUSED" }),
 * });
 * console.assert(describeNetworkError(nodeError) === "connection refused");
 * ```
 */
export function describeNetworkError(error: unknown): string {
  const texts: string[] = [];
  let innermost = "";
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current !== undefined && current !== null; depth++) {
    const { message, code } = current as { message?: unknown; code?: unknown };
    const text = typeof message === "string" ? message : String(current);
    texts.push(text);
    if (typeof code === "string") texts.push(code);
    if (text !== "" && !/^fetch failed$|^network error$|^Failed to fetch$/i.test(text)) innermost = text;
    current = (current as { cause?: unknown }).cause;
  }
  const all = texts.join("\n");
  for (const { test, reason } of REASONS) {
    if (test.test(all)) return reason;
  }
  return innermost || texts[0] || "network error";
}

// This module is browser compatible.
/**
 * Parses `WWW-Authenticate` headers (RFC 7235 §4.1) into challenges.
 *
 * @module
 */

/** One authentication challenge from a `WWW-Authenticate` header. */
export interface Challenge {
  /** The auth scheme, lower-cased (schemes are case-insensitive, RFC 7235 §2.1): `bearer`, `basic`, … */
  readonly scheme: string;
  /** The auth-params, names lower-cased (RFC 7235 §2.1), values unquoted and unescaped. */
  readonly params: Readonly<Record<string, string>>;
  /** The token68 form of credentials request, when the challenge carries one instead of params. */
  readonly token68?: string;
}

// RFC 7230 §3.2.6: tchar.
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// RFC 7235 §2.1: token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Parses one or more `WWW-Authenticate` header values into their challenges, in order.
 *
 * The grammar (RFC 7235 §4.1) is a comma-separated list in which the commas separate both the challenges
 * and the params of one challenge, so a param is told from the next challenge by its `=`. Quoted values
 * may hold commas and `\"` escapes. Several headers (or `Headers.get`'s comma-joined value) are one list.
 * Malformed parts are skipped rather than thrown on: a registry's header is advice, and the caller falls
 * back to anonymous access when no usable challenge is found.
 *
 * @example Docker Hub's challenge and a Basic one in the same list
 * ```ts
 * import { parseWwwAuthenticate } from "./parse_www_authenticate.ts";
 *
 * const [bearer, basic] = parseWwwAuthenticate(
 *   'Bearer realm="https://auth.docker.io/token",service="registry.docker.io", Basic realm="x"',
 * );
 * console.assert(bearer.scheme === "bearer" && bearer.params.service === "registry.docker.io");
 * console.assert(basic.scheme === "basic" && basic.params.realm === "x");
 * ```
 */
export function parseWwwAuthenticate(header: string | readonly string[]): Challenge[] {
  const values = typeof header === "string" ? [header] : header;
  const challenges: Challenge[] = [];
  for (const value of values) parseInto(value, challenges);
  return challenges;
}

function parseInto(s: string, out: Challenge[]): void {
  let i = 0;
  const n = s.length;
  const skipSpace = () => {
    while (i < n && (s[i] === " " || s[i] === "\t")) i++;
  };
  const skipListSeparators = () => {
    while (i < n && (s[i] === " " || s[i] === "\t" || s[i] === ",")) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TCHAR.test(s[i])) i++;
    return s.slice(start, i);
  };
  // A bare value is a token (RFC 7235 §2.1); be lenient and take what a sloppy server sends unquoted
  // (an URL such as https://a/token) up to the next separator.
  const readBare = (): string => {
    const start = i;
    while (i < n && s[i] !== "," && s[i] !== " " && s[i] !== "\t" && s[i] !== '"') i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    // RFC 7230 §3.2.6: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE; quoted-pair = "\" char.
    i++; // opening quote
    let value = "";
    while (i < n && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < n) i++;
      value += s[i];
      i++;
    }
    i++; // closing quote (or end of input for an unterminated string)
    return value;
  };
  // Looks past `token BWS "=" BWS`; a param has a token or quoted-string after the `=`, a token68 does not.
  const paramAhead = (): boolean => {
    let j = i;
    while (j < n && TCHAR.test(s[j])) j++;
    if (j === i) return false;
    while (j < n && (s[j] === " " || s[j] === "\t")) j++;
    if (s[j] !== "=") return false;
    j++;
    while (j < n && (s[j] === " " || s[j] === "\t")) j++;
    return j < n && (s[j] === '"' || (TCHAR.test(s[j]) && s[j] !== "="));
  };

  while (i < n) {
    skipListSeparators();
    if (i >= n) break;
    const scheme = readToken();
    if (scheme === "") {
      i++; // not a token: skip the stray character and resynchronise
      continue;
    }
    const params: Record<string, string> = {};
    let token68: string | undefined;
    skipSpace();
    if (i < n && s[i] !== "," && !paramAhead() && TOKEN68_CHAR.test(s[i])) {
      const start = i;
      while (i < n && TOKEN68_CHAR.test(s[i])) i++;
      while (i < n && s[i] === "=") i++;
      token68 = s.slice(start, i);
    } else {
      // auth-params until a list element that is not `name=value` (the next challenge's scheme).
      while (i < n) {
        const mark = i;
        skipListSeparators();
        if (!paramAhead()) {
          i = mark;
          break;
        }
        const name = readToken().toLowerCase();
        skipSpace();
        i++; // "="
        skipSpace();
        const value = s[i] === '"' ? readQuoted() : readBare();
        // RFC 7235 §2.1: each parameter name MUST only occur once per challenge; keep the first.
        if (!(name in params)) params[name] = value;
        skipSpace();
      }
    }
    out.push(
      token68 === undefined ? { scheme: scheme.toLowerCase(), params } : {
        scheme: scheme.toLowerCase(),
        params,
        token68,
      },
    );
    // Anything after a challenge other than a list separator is garbage: skip to the next comma.
    skipSpace();
    while (i < n && s[i] !== ",") i++;
  }
}

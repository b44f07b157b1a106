// This module is browser compatible.
/**
 * The reference grammar of distribution/reference (the grammar Docker, containerd and every registry client
 * built on them accept), as a hand-written scanner. The upstream grammar is a set of regular expressions;
 * scanning it by character codes gives the same answers in one linear pass, with no regular expression that
 * could backtrack on hostile input and a precise reason when an input is refused.
 *
 * ```
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [ domain-and-port "/" ] remote-name
 * domain-and-port  := host [ ":" port-number ]
 * host             := domain-name | "[" ipv6-hex "]"
 * domain-name      := domain-component ( "." domain-component )*
 * domain-component := [a-zA-Z0-9] | [a-zA-Z0-9] [a-zA-Z0-9-]* [a-zA-Z0-9]
 * ipv6-hex         := [a-fA-F0-9:]+
 * port-number      := [0-9]+
 * remote-name      := path-component ( "/" path-component )*
 * path-component   := alnum+ ( separator alnum+ )*      alnum := [a-z0-9]
 * separator        := "." | "_" | "__" | "-"+
 * tag              := [\w] [\w.-]{0,127}
 * digest           := algorithm ":" hex{32,}          hex := [0-9a-fA-F]
 * algorithm        := alpha alnum* ( [-_+.] alpha alnum* )*   (letters of either case)
 * ```
 *
 * @module
 */

/** The parts of a reference that matched the grammar; absent parts are `""`, as upstream reports them. */
export interface ReferenceParts {
  domain: string;
  path: string;
  tag: string;
  digest: string;
}

/** Why an input did not match: a short reason for the error message. */
export type Mismatch = { reason: string };

/** Longest tag the grammar allows (`[\w][\w.-]{0,127}`). */
export const TAG_MAX_LENGTH = 128;
/** distribution/reference's NameTotalLengthMax, applied to the path (the name without its domain). */
export const PATH_MAX_LENGTH = 255;

const DASH = 0x2d;
const DOT = 0x2e;
const SLASH = 0x2f;
const D0 = 0x30;
const D9 = 0x39;
const COLON = 0x3a;
const UA = 0x41;
const UF = 0x46;
const UZ = 0x5a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const UNDERSCORE = 0x5f;
const LA = 0x61;
const LF = 0x66;
const LZ = 0x7a;
const PLUS = 0x2b;

function isDigit(c: number): boolean {
  return c >= D0 && c <= D9;
}
function isLowerAlnum(c: number): boolean {
  return (c >= LA && c <= LZ) || isDigit(c);
}
function isAlpha(c: number): boolean {
  return (c >= LA && c <= LZ) || (c >= UA && c <= UZ);
}
function isAlnum(c: number): boolean {
  return isAlpha(c) || isDigit(c);
}
function isHex(c: number): boolean {
  return isDigit(c) || (c >= LA && c <= LF) || (c >= UA && c <= UF);
}
/** `\w` in Go's RE2 is ASCII only: [0-9A-Za-z_]. */
function isWord(c: number): boolean {
  return isAlnum(c) || c === UNDERSCORE;
}

/**
 * Checks one path component of a repository name: lowercase letters and digits, separated by exactly
 * one `.`, one `_`, two `__`, or any number of `-`; it must start and end with a letter or digit.
 */
export function checkPathComponent(s: string, start: number, end: number): string | undefined {
  if (start === end) return "a path component is empty";
  if (!isLowerAlnum(s.charCodeAt(start))) {
    return `path component "${clip(s, start, end)}" must start with a lowercase letter or digit`;
  }
  let i = start;
  while (i < end) {
    // One run of lowercase letters and digits.
    while (i < end && isLowerAlnum(s.charCodeAt(i))) i++;
    if (i === end) return undefined;
    // Then one separator, which must be followed by another run.
    const sepStart = i;
    const c = s.charCodeAt(i);
    if (c === DOT) {
      i++;
    } else if (c === UNDERSCORE) {
      i++;
      if (i < end && s.charCodeAt(i) === UNDERSCORE) i++;
    } else if (c === DASH) {
      while (i < end && s.charCodeAt(i) === DASH) i++;
    } else {
      return `path component "${clip(s, start, end)}" contains ${describeChar(s, i)}`;
    }
    if (i === end || !isLowerAlnum(s.charCodeAt(i))) {
      const next = i === end ? "the end" : describeChar(s, i);
      return `path component "${clip(s, start, end)}" has separator "${
        clip(s, sepStart, i)
      }" followed by ${next}`;
    }
  }
  return undefined;
}

/** Checks a remote name (path components separated by single slashes). */
export function checkRemoteName(s: string, start: number, end: number): string | undefined {
  let componentStart = start;
  for (let i = start; i <= end; i++) {
    if (i === end || s.charCodeAt(i) === SLASH) {
      const problem = checkPathComponent(s, componentStart, i);
      if (problem !== undefined) return problem;
      componentStart = i + 1;
    }
  }
  return undefined;
}

/** Checks a domain with an optional port: `example.com`, `localhost:5000`, `[::1]:5000`. */
export function checkDomainAndPort(s: string, start: number, end: number): string | undefined {
  let i = start;
  if (i < end && s.charCodeAt(i) === LBRACKET) {
    // An IPv6 literal in brackets; the grammar only asks for hex digits and colons (no zone).
    i++;
    const hexStart = i;
    while (i < end && (isHex(s.charCodeAt(i)) || s.charCodeAt(i) === COLON)) i++;
    if (i === hexStart || i === end || s.charCodeAt(i) !== RBRACKET) {
      return `"${clip(s, start, end)}" is not a valid bracketed IPv6 address`;
    }
    i++;
  } else {
    // Domain components: alphanumerics and inner hyphens, separated by single dots.
    for (;;) {
      const componentStart = i;
      while (i < end && (isAlnum(s.charCodeAt(i)) || s.charCodeAt(i) === DASH)) i++;
      if (
        i === componentStart || s.charCodeAt(componentStart) === DASH || s.charCodeAt(i - 1) === DASH
      ) {
        return `"${clip(s, start, end)}" is not a valid domain`;
      }
      if (i < end && s.charCodeAt(i) === DOT) {
        i++;
        continue;
      }
      break;
    }
  }
  if (i === end) return undefined;
  if (s.charCodeAt(i) !== COLON) return `"${clip(s, start, end)}" is not a valid domain`;
  i++;
  const portStart = i;
  while (i < end && isDigit(s.charCodeAt(i))) i++;
  if (i === portStart || i !== end) return `"${clip(s, start, end)}" does not end in a numeric port`;
  return undefined;
}

/** Checks a tag: `[\w][\w.-]{0,127}`. */
export function checkTag(s: string, start: number, end: number): string | undefined {
  const tag = clip(s, start, end);
  if (start === end) return "the tag is empty";
  if (end - start > TAG_MAX_LENGTH) {
    return `the tag is ${end - start} characters, at most ${TAG_MAX_LENGTH} are allowed`;
  }
  if (!isWord(s.charCodeAt(start))) return `tag "${tag}" must start with a letter, digit or underscore`;
  for (let i = start + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!isWord(c) && c !== DOT && c !== DASH) return `tag "${tag}" contains ${describeChar(s, i)}`;
  }
  return undefined;
}

/**
 * Checks the form the reference grammar gives a digest: an algorithm (letters of either case, digits, and
 * `-_+.` between components), a colon, and at least 32 hex digits of either case.
 */
export function checkDigestForm(s: string, start: number, end: number): string | undefined {
  const digest = clip(s, start, end);
  let i = start;
  for (;;) {
    if (i === end || !isAlpha(s.charCodeAt(i))) {
      return `digest "${digest}" does not start with an algorithm name`;
    }
    i++;
    while (i < end && isAlnum(s.charCodeAt(i))) i++;
    const c = i < end ? s.charCodeAt(i) : -1;
    if (c === DASH || c === UNDERSCORE || c === PLUS || c === DOT) {
      i++;
      continue;
    }
    if (c !== COLON) return `digest "${digest}" does not have the form algorithm:hex`;
    break;
  }
  i++;
  const hexStart = i;
  while (i < end && isHex(s.charCodeAt(i))) i++;
  if (i !== end) return `digest "${digest}" contains ${describeChar(s, i)} after the algorithm`;
  if (end - hexStart < 32) return `digest "${digest}" has fewer than 32 hex digits`;
  return undefined;
}

/** Checks a whole name (`[domain-and-port "/"] remote-name`) and splits it the way upstream's regexp does. */
export function matchName(s: string, start: number, end: number): ReferenceParts | Mismatch {
  if (start === end) return { reason: "the repository name is empty" };
  // The domain is optional but tried first (the regexp is leftmost-first); it can only be the text before
  // the first slash, since no part of a domain contains one.
  const slash = s.indexOf("/", start);
  if (slash !== -1 && slash < end && checkDomainAndPort(s, start, slash) === undefined) {
    const problem = checkRemoteName(s, slash + 1, end);
    if (problem !== undefined) return { reason: problem };
    return { domain: s.slice(start, slash), path: s.slice(slash + 1, end), tag: "", digest: "" };
  }
  const problem = checkRemoteName(s, start, end);
  if (problem !== undefined) return { reason: problem };
  return { domain: "", path: s.slice(start, end), tag: "", digest: "" };
}

/** Matches a whole reference against the grammar (distribution's ReferenceRegexp). */
export function matchReference(s: string): ReferenceParts | Mismatch {
  // No part of a name or tag contains "@", and a digest never does: the first "@" starts the digest.
  let nameEnd = s.indexOf("@");
  let digest = "";
  if (nameEnd === -1) {
    nameEnd = s.length;
  } else {
    const problem = checkDigestForm(s, nameEnd + 1, s.length);
    if (problem !== undefined) return { reason: problem };
    digest = s.slice(nameEnd + 1);
  }
  // A name holds a colon only in its domain, before the first slash; so a colon after the last slash
  // (or any colon when there is no slash, since a domain must be followed by one) starts the tag.
  const lastSlash = s.lastIndexOf("/", nameEnd - 1);
  const colon = s.indexOf(":", lastSlash + 1);
  let tag = "";
  let end = nameEnd;
  if (colon !== -1 && colon < nameEnd) {
    const problem = checkTag(s, colon + 1, nameEnd);
    if (problem !== undefined) return { reason: problem };
    tag = s.slice(colon + 1, nameEnd);
    end = colon;
  }
  const name = matchName(s, 0, end);
  if ("reason" in name) return name;
  name.tag = tag;
  name.digest = digest;
  return name;
}

/** The text of `s` from `start` to `end` for an error message, cut short if it is long. */
function clip(s: string, start: number, end: number): string {
  return end - start > 80 ? `${s.slice(start, start + 80)}…` : s.slice(start, end);
}

/** Describes the character at `i` for an error message, e.g. `"$"` or `U+00E9`. */
function describeChar(s: string, i: number): string {
  const code = s.codePointAt(i) ?? 0;
  if (code > 0x20 && code < 0x7f) return `"${String.fromCharCode(code)}"`;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

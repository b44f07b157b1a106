// This module is browser compatible.
/**
 * distribution/reference's Parse and ParseNormalizedNamed, the two entry points everything else builds on.
 *
 * @module
 */

import { matchReference, PATH_MAX_LENGTH } from "./_grammar.ts";
import { clip, DOCKER_HUB_DOMAIN, makeReference, OFFICIAL_PREFIX, refuse } from "./_reference.ts";
import type { Reference } from "./reference.ts";

/** The legacy Docker Hub domain, canonicalized to docker.io (legacyDefaultDomain). */
const LEGACY_DOCKER_HUB_DOMAIN = "index.docker.io";
/** A first path element that is always a domain (distribution's "localhost" rule). */
const LOCALHOST = "localhost";

// The digest algorithms tug implements, with the length of their hex encoding. The OCI image spec registers
// sha256 and sha512; like Docker (go-digest), an algorithm is only accepted when it can be verified.
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** go-digest's DigestRegexp, which tells a malformed digest from one of an unknown algorithm. */
const GO_DIGEST_FORM = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const LOWER_HEX = /^[a-f0-9]+$/;
/** distribution's anchoredIdentifierRegexp: a full image ID, which is refused as a name. */
const IMAGE_ID = /^[a-f0-9]{64}$/;

/**
 * Checks a digest that matched the reference grammar the way go-digest's Digest.Validate does: a known
 * algorithm needs exactly its hex length in lowercase hex; an unknown one is unsupported if it is otherwise
 * well formed.
 */
export function checkDigest(input: string, digest: string): void {
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const length = Object.hasOwn(DIGEST_HEX_LENGTH, algorithm) ? DIGEST_HEX_LENGTH[algorithm] : undefined;
  if (length === undefined) {
    if (!GO_DIGEST_FORM.test(digest)) {
      refuse("DIGEST_INVALID_FORMAT", input, `digest "${clip(digest)}" has an invalid algorithm name`);
    }
    refuse(
      "DIGEST_UNSUPPORTED",
      input,
      `digest algorithm "${clip(algorithm)}" is not supported (sha256, sha512 are)`,
    );
  }
  if (hex.length !== length) {
    refuse(
      "DIGEST_INVALID_FORMAT",
      input,
      `a ${algorithm} digest has ${length} hex digits, not ${hex.length}`,
    );
  }
  if (!LOWER_HEX.test(hex)) {
    refuse("DIGEST_INVALID_FORMAT", input, `the ${algorithm} digest must be lowercase hex`);
  }
}

/** Whether `s` is a full 64-digit image ID (anchoredIdentifierRegexp). */
export function isImageId(s: string): boolean {
  return s.length === 64 && IMAGE_ID.test(s);
}

/**
 * Lowercases the way Go's strings.ToLower does for every character that can lower to the ASCII the grammar
 * accepts: JavaScript maps "İ" (U+0130) to "i" plus a combining dot, Go maps it to plain "i".
 */
function goLower(s: string): string {
  return s.replaceAll("\u0130", "i").toLowerCase();
}

/**
 * distribution/reference's Parse: the grammar, no default domain. `shown` is what error messages quote (the
 * user's input, when `text` is its normalized form).
 */
export function parsePlain(text: string, shown: string = text): Reference {
  const parts = matchReference(text);
  if ("reason" in parts) {
    if (text === "") refuse("NAME_EMPTY", shown, "the reference is empty");
    // Upstream reports uppercase only when the lowercased input would have matched.
    if (!("reason" in matchReference(goLower(text)))) {
      refuse("NAME_CONTAINS_UPPERCASE", shown, "the repository name must be lowercase");
    }
    refuse("REFERENCE_INVALID_FORMAT", shown, parts.reason);
  }
  if (parts.path.length > PATH_MAX_LENGTH) {
    refuse(
      "NAME_TOO_LONG",
      shown,
      `the repository path is ${parts.path.length} characters, at most ${PATH_MAX_LENGTH} are allowed`,
    );
  }
  if (parts.digest !== "") checkDigest(shown, parts.digest);
  return makeReference(parts.domain, parts.path, parts.tag, parts.digest);
}

/**
 * Docker's splitDockerDomain: the first element is a domain if it is `localhost`, contains `.` or `:`, or
 * has an uppercase letter (namespaces are lowercase); otherwise the name is on Docker Hub. Docker Hub names
 * of one element get `library/`, and `index.docker.io` becomes `docker.io`.
 */
function splitDockerDomain(name: string): [domain: string, remainder: string] {
  const slash = name.indexOf("/");
  if (slash === -1) return [DOCKER_HUB_DOMAIN, OFFICIAL_PREFIX + name];
  const first = name.slice(0, slash);
  let domain: string;
  let remainder: string;
  if (first === LOCALHOST || /[.:]/.test(first) || first.toLowerCase() !== first) {
    domain = first === LEGACY_DOCKER_HUB_DOMAIN ? DOCKER_HUB_DOMAIN : first;
    remainder = name.slice(slash + 1);
  } else {
    domain = DOCKER_HUB_DOMAIN;
    remainder = name;
  }
  if (domain === DOCKER_HUB_DOMAIN && !remainder.includes("/")) remainder = OFFICIAL_PREFIX + remainder;
  return [domain, remainder];
}

/** distribution/reference's ParseNormalizedNamed: Docker's defaults applied, then Parse. */
export function parseNormalized(input: string): Reference {
  // Upstream goes on to parse "docker.io/library/" and reports an invalid format; "empty" says it better.
  if (input === "") refuse("NAME_EMPTY", input, "the reference is empty");
  if (isImageId(input)) {
    refuse(
      "REFERENCE_INVALID_FORMAT",
      input,
      "a 64-character hexadecimal string is an image ID, not a repository name",
    );
  }
  const [domain, remainder] = splitDockerDomain(input);
  const colon = remainder.indexOf(":");
  const remoteName = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remoteName.toLowerCase() !== remoteName) {
    refuse("NAME_CONTAINS_UPPERCASE", input, `repository name "${clip(remoteName)}" must be lowercase`);
  }
  const ref = parsePlain(`${domain}/${remainder}`, input);
  if (ref.domain === undefined) {
    // "my_registry.local/app": Docker's rule takes the first element for a domain, but the grammar does not
    // (no "_" in host names) and reads the whole input as a path on no registry at all. Upstream returns
    // that domain-less name, which no registry can serve; tug refuses it, so that a normalized reference
    // always has a domain.
    refuse("REFERENCE_INVALID_FORMAT", input, `"${clip(domain)}" is not a valid registry host name`);
  }
  return ref;
}

/** go-digest's digest.Parse succeeding: a supported algorithm with its exact lowercase hex encoding. */
export function isSupportedDigest(s: string): boolean {
  const colon = s.indexOf(":");
  if (colon <= 0) return false;
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  return Object.hasOwn(DIGEST_HEX_LENGTH, algorithm) && hex.length === DIGEST_HEX_LENGTH[algorithm] &&
    LOWER_HEX.test(hex);
}

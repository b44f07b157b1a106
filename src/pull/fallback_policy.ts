// This module is browser compatible.
/**
 * Docker's fallback policy in one place (moby distribution/errors.go, pull.go, pull_v2.go): which errors
 * let a pull move on to the next endpoint, with what the endpoint confirmed, and which endpoints the loop
 * then skips.
 *
 * - {@linkcode FallbackError}: the signal a puller gives the loop (Docker's `fallbackError`).
 * - {@linkcode FALLBACK_RULES}: `continueOnError` as an ordered list; the first rule that matches decides.
 * - {@linkcode fallbackAt}: the rules tied to a step of the v2 pull (ping, tag manifest, tag list) and
 *   the wrapping of an endpoint's error into a {@linkcode FallbackError}.
 * - {@linkcode EndpointFallbacks}: what the endpoint loop remembers between endpoints (v2 confirmed,
 *   TLS confirmed, the error to report).
 *
 * @module
 */

import { TugError } from "../errors.ts";
import { REGISTRY_ERROR_CODES } from "../registry/error_body.ts";
import type { Endpoint } from "../registry/lookup_endpoints.ts";

/**
 * Wraps an error that lets the pull move on to the next endpoint.
 *
 * @example
 * ```ts
 * import { FallbackError } from "./fallback_policy.ts";
 *
 * const err = new FallbackError(new Error("connection refused"), { confirmedV2: false, transportOK: false });
 * console.assert(err.err.message === "connection refused");
 * ```
 */
export class FallbackError extends Error {
  /** The error that made this endpoint fail. */
  readonly err: Error;
  /** Whether the endpoint showed it speaks the v2 protocol. */
  readonly confirmedV2: boolean;
  /** Whether a connection (and TLS, for https) was established. */
  readonly transportOK: boolean;

  /** Wraps `err` with what the endpoint showed before it failed. */
  constructor(err: Error, options: { confirmedV2: boolean; transportOK: boolean }) {
    super(err.message, { cause: err });
    this.name = "FallbackError";
    this.err = err;
    this.confirmedV2 = options.confirmedV2;
    this.transportOK = options.transportOK;
  }
}

/**
 * An error met while fetching an image's configuration blob (Docker's `ImageConfigPullError`): it stops
 * the pull unless it came from a mirror, since another endpoint would serve the same image config. The
 * message is Docker's: `error pulling image configuration: …`; the original error is the `cause`.
 *
 * @example
 * ```ts
 * import { ImageConfigPullError } from "./fallback_policy.ts";
 * import { TugError } from "../errors.ts";
 *
 * const err = new ImageConfigPullError(new TugError("DIGEST_MISMATCH", "blob sha256:ab… does not match"));
 * console.assert(err.message === "error pulling image configuration: blob sha256:ab… does not match");
 * console.assert(err.code === "DIGEST_MISMATCH");
 * ```
 */
export class ImageConfigPullError extends TugError {
  /** Wraps `err`, keeping its code (`CONFIG_INVALID` for an error that is not a TugError). */
  constructor(err: Error) {
    super(
      err instanceof TugError ? err.code : "CONFIG_INVALID",
      `error pulling image configuration: ${err.message}`,
      { cause: err, ...(err instanceof TugError && err.detail !== undefined ? { detail: err.detail } : {}) },
    );
    this.name = "ImageConfigPullError";
  }
}

/** Options for {@linkcode continueOnError}. */
export interface ContinueOnErrorOptions {
  /**
   * The error came from a layer download. Docker's download manager wraps the registry errors it will
   * not retry (UNAUTHORIZED, UNSUPPORTED, DENIED, TOOMANYREQUESTS, NAME_UNKNOWN, an unknown blob) in
   * `xfer.DoNotRetry`, which `continueOnError` then treats as a plain error: the next endpoint is tried.
   */
  layer?: boolean;
}

/** Layer errors Docker's `retryOnError` wraps in `xfer.DoNotRetry` (distribution/errors.go). */
const DO_NOT_RETRY_CODES: ReadonlySet<string> = new Set([
  "UNAUTHORIZED",
  "UNSUPPORTED",
  "DENIED",
  "TOOMANYREQUESTS",
  "NAME_UNKNOWN",
  "BLOB_UNKNOWN",
]);

/**
 * Docker's `continueOnError` (distribution/errors.go): whether an error from a puller lets the loop try
 * the next endpoint.
 *
 * - Registry errors fall back for UNAUTHORIZED, MANIFEST_UNKNOWN and NAME_UNKNOWN (`shouldV2Fallback`);
 *   every other registry code (DENIED, TOOMANYREQUESTS, UNKNOWN, …) stops the pull — except that
 *   anything from a mirror falls back (Docker 17.12).
 * - Image config errors ({@linkcode ImageConfigPullError}) stop unless from a mirror.
 * - Unexpected HTTP responses, transport failures and every other error fall back, except running out
 *   of disk space and a cancelled pull.
 * - With `layer: true`, registry errors Docker does not retry fall back like plain errors.
 *
 * A registry answer that carried no `MANIFEST_INVALID` code but whose manifest failed tug's own parsing
 * is a plain error (fallback); `MANIFEST_INVALID` here is the registry's code.
 *
 * @example
 * ```ts
 * import { continueOnError } from "./fallback_policy.ts";
 * import { TugError } from "../errors.ts";
 *
 * console.assert(continueOnError(new TugError("MANIFEST_UNKNOWN", "no such tag"), false));
 * console.assert(!continueOnError(new TugError("DENIED", "denied"), false));
 * console.assert(continueOnError(new TugError("DENIED", "denied"), true));
 * ```
 */
export function continueOnError(
  err: unknown,
  mirror: boolean,
  options: ContinueOnErrorOptions = {},
): boolean {
  return judge(err, { mirror, layer: options.layer ?? false }).fallback;
}

/** What a rule of {@linkcode FALLBACK_RULES} is asked about: the error's endpoint and where it came from. */
export interface FallbackQuestion {
  /** The endpoint is a Docker Hub mirror. */
  readonly mirror: boolean;
  /** The error came from a layer download (see {@linkcode ContinueOnErrorOptions.layer}). */
  readonly layer: boolean;
}

/** One line of Docker's `continueOnError`. */
export interface FallbackRule {
  /** The rule in words, as the tests and the attempt log name it. */
  readonly rule: string;
  /** Whether the rule speaks about `err`. */
  readonly matches: (err: unknown, question: FallbackQuestion) => boolean;
  /**
   * `fallback`: try the next endpoint; `stop`: end the pull; `mirror`: fall back only from a mirror;
   * `cause`: ask the rules again about the error's `cause`.
   */
  readonly verdict: "fallback" | "stop" | "mirror" | "cause";
}

/** Registry answers Docker falls back on anywhere (`shouldV2Fallback`). */
const V2_FALLBACK_CODES: ReadonlySet<string> = new Set(["UNAUTHORIZED", "MANIFEST_UNKNOWN", "NAME_UNKNOWN"]);

const code = (err: unknown): string | undefined => err instanceof TugError ? err.code : undefined;

/**
 * Docker's `continueOnError` (distribution/errors.go) as a list, in order: the first rule that matches
 * decides. The order is part of the policy: a layer's DENIED falls back (rule 6) before the registry-code
 * rule (rule 10) could stop it; running out of space stops even then (rule 5).
 */
export const FALLBACK_RULES: readonly FallbackRule[] = [
  {
    rule: "a FallbackError already falls back",
    matches: (e) => e instanceof FallbackError,
    verdict: "fallback",
  },
  // ImageConfigPullError: another endpoint serves the same config, unless this one is a mirror.
  {
    rule: "an image config error stops, except from a mirror",
    matches: (e) => e instanceof ImageConfigPullError,
    verdict: "mirror",
  },
  { rule: "a cancelled pull stops", matches: (e) => code(e) === "ABORTED", verdict: "stop" },
  // ErrNoSupport: decided by the error it carries.
  {
    rule: "ErrNoSupport is judged by its cause",
    matches: (e) => code(e) === "NO_SUPPORT" && (e as Error).cause instanceof Error,
    verdict: "cause",
  },
  // xfer.DoNotRetry: the download manager's wrapping turns these registry errors into plain errors.
  {
    rule: "a layer error Docker does not retry stops when the disk is full",
    matches: (e, q) => q.layer && DO_NOT_RETRY_CODES.has(code(e) ?? "") && isNoSpace(e),
    verdict: "stop",
  },
  {
    rule: "a layer error Docker does not retry falls back",
    matches: (e, q) => q.layer && DO_NOT_RETRY_CODES.has(code(e) ?? ""),
    verdict: "fallback",
  },
  {
    rule: "UNAUTHORIZED, MANIFEST_UNKNOWN and NAME_UNKNOWN fall back (shouldV2Fallback)",
    matches: (e) => V2_FALLBACK_CODES.has(code(e) ?? ""),
    verdict: "fallback",
  },
  {
    rule: "an invalid image config stops, except from a mirror",
    matches: (e) => code(e) === "CONFIG_INVALID",
    verdict: "mirror",
  },
  // Any other registry code (the distribution spec's `errcode.Error`): DENIED, TOOMANYREQUESTS, UNKNOWN, …
  {
    rule: "any other registry error code stops, except from a mirror",
    matches: (e) => e instanceof TugError && REGISTRY_ERROR_CODES.has(e.code) && isRegistryAnswer(e),
    verdict: "mirror",
  },
  // Docker's catch-all, first half: running out of disk space would fail on any endpoint.
  { rule: "no space left on device stops", matches: (e) => isNoSpace(e), verdict: "stop" },
  // …second half: unexpected HTTP responses, transport failures, digest mismatches, anything else.
  { rule: "any other error falls back", matches: () => true, verdict: "fallback" },
];

/**
 * Runs `err` through {@linkcode FALLBACK_RULES}: whether it falls back, and the rule that decided.
 *
 * @example
 * ```ts
 * import { judge } from "./fallback_policy.ts";
 * import { TugError } from "../errors.ts";
 *
 * const { fallback, rule } = judge(new TugError("NETWORK", "refused"), { mirror: false, layer: false });
 * console.assert(fallback && rule === "any other error falls back");
 * ```
 */
export function judge(err: unknown, question: FallbackQuestion): { fallback: boolean; rule: string } {
  // Bounded: a `cause` chain is followed at most this deep (Docker unwraps one ErrNoSupport).
  for (let depth = 0, e = err; depth < 8; depth++) {
    const rule = FALLBACK_RULES.find((r) => r.matches(e, question))!;
    if (rule.verdict === "cause") {
      e = (e as Error).cause;
      continue;
    }
    const fallback = rule.verdict === "fallback" || (rule.verdict === "mirror" && question.mirror);
    return { fallback, rule: rule.rule };
  }
  return { fallback: false, rule: "an error nested too deep stops" };
}

/**
 * Whether a TugError carrying a registry code came from a registry's error body (`detail.errors`) or
 * status, rather than from tug's own checks that reuse the name (e.g. a manifest tug could not parse).
 */
function isRegistryAnswer(err: TugError): boolean {
  return err.code !== "MANIFEST_INVALID" || typeof (err.detail as { status?: unknown })?.status === "number";
}
function isNoSpace(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC") return true;
    if (e instanceof Error && /no space left on device/i.test(e.message)) return true;
  }
  return false;
}

/** A step of a pull whose errors Docker judges by a rule of its own, before {@linkcode continueOnError}. */
export type FallbackStep =
  /** The `/v2/` ping: any failure falls back, and the transport (TLS) is not confirmed. */
  | "ping"
  /**
   * The manifest asked for by tag, or the tag list (Docker's `allowV1Fallback`): UNAUTHORIZED,
   * MANIFEST_UNKNOWN and NAME_UNKNOWN fall back without confirming v2 — the repository may be on a v1
   * endpoint. By digest there is no such rule.
   */
  | "tag";

/**
 * The error to throw for `err`, met at `step` of a pull on one endpoint: a {@linkcode FallbackError}
 * when the step's rule lets the pull move on, else `err` itself (judged later by
 * {@linkcode fallbackFromEndpoint}). A cancelled pull never falls back.
 *
 * @example
 * ```ts
 * import { fallbackAt, FallbackError } from "./fallback_policy.ts";
 * import { TugError } from "../errors.ts";
 *
 * const err = fallbackAt("tag", new TugError("MANIFEST_UNKNOWN", "manifest unknown"));
 * console.assert(err instanceof FallbackError && !err.confirmedV2 && err.transportOK);
 * ```
 */
export function fallbackAt(step: FallbackStep, err: unknown, signal?: AbortSignal): Error {
  const error = asError(err);
  if (signal?.aborted) return error;
  if (step === "ping") return new FallbackError(error, { confirmedV2: false, transportOK: false });
  if (V2_FALLBACK_CODES.has(code(error) ?? "")) {
    return new FallbackError(error, { confirmedV2: false, transportOK: true });
  }
  return error;
}

/**
 * The error to throw for `err` that ended a pull on an endpoint that answered: a
 * {@linkcode FallbackError} (transport confirmed, `confirmedV2` as the endpoint showed) when
 * {@linkcode continueOnError} says so, else `err`. A FallbackError or a cancelled pull passes unchanged.
 */
export function fallbackFromEndpoint(
  err: unknown,
  endpoint: { mirror: boolean },
  options: { confirmedV2: boolean; layer: boolean; signal?: AbortSignal | undefined },
): unknown {
  if (err instanceof FallbackError || options.signal?.aborted) return err;
  if (continueOnError(err, endpoint.mirror, { layer: options.layer })) {
    return new FallbackError(asError(err), { confirmedV2: options.confirmedV2, transportOK: true });
  }
  return err;
}

/**
 * Docker's `ErrNoSupport` as a fallback: the endpoint cannot do what was asked (a digest from a v1
 * registry, all tags from a v1 registry); it falls back because other endpoints follow.
 */
export function noSupport(message: string): FallbackError {
  return new FallbackError(new TugError("NO_SUPPORT", message), { confirmedV2: false, transportOK: false });
}

/**
 * What the endpoint loop (moby distribution/pull.go `Pull`) remembers between endpoints, and the rules
 * it applies with it:
 *
 * - `confirmedV2`: once an endpoint showed it speaks v2, later v1 endpoints are skipped.
 * - `confirmedTLS`: once a host answered over https, its plain-http endpoints are skipped.
 * - `ErrNoSupport` (`NO_SUPPORT`) is the reported error only while no other fallback error was seen.
 * - Nothing left: the last fallback error, or `no endpoints found for REF`.
 * - A cancelled pull never falls back (checked by the loop before it asks {@linkcode record}).
 *
 * @example
 * ```ts
 * import { EndpointFallbacks, FallbackError } from "./fallback_policy.ts";
 * import { TugError } from "../errors.ts";
 *
 * const state = new EndpointFallbacks();
 * const https = { url: "https://r.example", version: 2 as const, mirror: false, official: false };
 * state.record(https, new FallbackError(new TugError("MANIFEST_UNKNOWN", "no"), { confirmedV2: true, transportOK: true }));
 * console.assert(state.skip({ ...https, url: "http://r.example" }) !== undefined);
 * console.assert(state.skip({ ...https, version: 1 }) !== undefined);
 * ```
 */
export class EndpointFallbacks {
  #confirmedV2 = false;
  readonly #confirmedTLS = new Set<string>();
  #lastErr: Error | undefined;
  // distribution/pull.go: an ErrNoSupport (pull by digest from a v1 registry) is kept only while every
  // error seen is one; after any other fallback error the later ErrNoSupports are ignored.
  #discardNoSupportErrors = false;

  /** Why `endpoint` is skipped given what earlier endpoints confirmed, or undefined to try it. */
  skip(endpoint: Endpoint): string | undefined {
    const host = new URL(endpoint.url).host;
    if (this.#confirmedV2 && endpoint.version === 1) {
      return "skipped v1 endpoint: an earlier endpoint confirmed it speaks v2";
    }
    if (!endpoint.url.startsWith("https:") && this.#confirmedTLS.has(host)) {
      return `skipped non-TLS endpoint: ${host} already answered over TLS`;
    }
    return undefined;
  }

  /** Takes in a fallback met at `endpoint`; returns the error it carried. */
  record(endpoint: Endpoint, fallback: FallbackError): Error {
    this.#confirmedV2 ||= fallback.confirmedV2;
    if (fallback.transportOK && endpoint.url.startsWith("https:")) {
      this.#confirmedTLS.add(new URL(endpoint.url).host);
    }
    const err = fallback.err;
    if (!(err instanceof TugError && err.code === "NO_SUPPORT")) {
      this.#discardNoSupportErrors = true;
      this.#lastErr = err;
    } else if (!this.#discardNoSupportErrors) {
      this.#lastErr = err;
    }
    return err;
  }

  /** The error to report once every endpoint was tried. */
  lastError(familiar: string): Error {
    return this.#lastErr ?? new TugError("NO_ENDPOINTS", `no endpoints found for ${familiar}`);
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * `err` with any fallback taken away: once `pullAllTags()` has the tag list, the endpoint is v2 and a
 * failing tag must not make the whole pull fall back to v1 (pull_v2.go `pullV2Repository`).
 */
export function withoutFallback(err: unknown): unknown {
  return err instanceof FallbackError ? err.err : err;
}

/**
 * Turns failures into sentences for the page: what went wrong, in words, and what to try.
 *
 * @module
 */

import { isTugError, TugError } from "../../src/errors.ts";

/** A failure explained: a headline and the technical detail. */
export interface Explained {
  /** What happened, in words. */
  readonly title: string;
  /** What to try, or more about it. */
  readonly hint: string;
  /** The original message. */
  readonly detail: string;
}

/**
 * Explains `err`, which happened while doing `what` (e.g. `open tug/small:v1`) against `where` (the
 * proxy or registry URL).
 *
 * @example
 * ```ts
 * import { explainError } from "./explain_error.ts";
 * import { TugError } from "../../src/errors.ts";
 *
 * const e = explainError(new TugError("NAME_UNKNOWN", "not found"), { image: "nope:1", where: "the proxy" });
 * console.assert(e.title.includes("not found"));
 * ```
 */
export function explainError(
  err: unknown,
  context: { image?: string; where: string; direct?: boolean },
): Explained {
  if (err instanceof PageError) return { title: err.title, hint: err.hint, detail: err.message };
  const detail = err instanceof Error ? err.message : String(err);
  const image = context.image ? `“${context.image}”` : "The image";
  const code = isTugError(err) ? err.code : undefined;
  switch (code) {
    case "NAME_UNKNOWN":
    case "MANIFEST_UNKNOWN":
    case "BLOB_UNKNOWN":
    case "NOT_FOUND":
      return {
        title: `${image} was not found.`,
        hint: "Check the name and the tag: the registry has no such repository or tag.",
        detail,
      };
    case "UNAUTHORIZED":
    case "DENIED":
    case "AUTH_FAILED":
      return {
        title: `Access to ${image} was denied.`,
        hint: `${context.where} refused to serve it: the repository may be private, may not exist, ` +
          "or its registry is not one the proxy is configured for.",
        detail,
      };
    case "LAYERS_MISMATCH":
      return {
        title: "This layer does not match the image's configuration.",
        hint: "Its files, decompressed, do not hash to the diffID the image config lists for it " +
          "(Docker refuses such an image). The image was built or pushed wrongly, or was tampered with.",
        detail,
      };
    case "TOOMANYREQUESTS":
      return { title: "The registry says: too many requests.", hint: "Wait a while and try again.", detail };
    case "NETWORK":
    case "TIMEOUT":
      if (brokeOff(err)) {
        return {
          title: "The download broke off before the end.",
          hint: "Nothing was kept. A tug proxy cuts a download off when the bytes from its registry do not " +
            "match their digest; the connection may also have dropped. Try again.",
          detail,
        };
      }
      return {
        title: `Cannot reach ${context.where}.`,
        hint: context.direct
          ? "The network may be down, or the registry does not allow web pages to read it (no CORS headers). " +
            "Try going through the tug proxy instead."
          : "The network may be down or the proxy is not running. Images you opened before still open from " +
            "this browser's cache.",
        detail,
      };
    case "DIGEST_MISMATCH":
    case "SIZE_MISMATCH":
      return {
        title: "The bytes that came back do not match their digest.",
        hint: "Nothing was kept. The registry or something between it and this page altered the content.",
        detail,
      };
    case "TAR_INVALID":
      return {
        title: "This layer is not a readable tar archive.",
        hint: "Its data is damaged or in an unknown format.",
        detail,
      };
    case "ABORTED":
      return { title: "Stopped.", hint: "Open the layer again to read it.", detail };
    case "PLATFORM_NOT_FOUND":
      return {
        title: `${image} has no image for that platform.`,
        hint: "Pick one of the platforms listed.",
        detail,
      };
    case "MANIFEST_UNSUPPORTED":
    case "MANIFEST_INVALID":
    case "CONFIG_INVALID":
      return {
        title: `${image} is not an image this page can show.`,
        hint: "Its manifest or config is not a container image.",
        detail,
      };
  }
  if (
    code !== undefined && (code.startsWith("NAME_") || code === "REFERENCE_INVALID_FORMAT" ||
      code === "TAG_INVALID_FORMAT" || code.startsWith("DIGEST_"))
  ) {
    // parseReference says why after the quoted input: `Invalid reference "X": the tag is empty`.
    const why = /^Invalid reference ".*?": (.+)$/s.exec(detail)?.[1];
    return {
      title: `${image} is not a valid image reference${why ? `: ${why}` : ""}.`,
      hint: "Write it as NAME[:TAG] or NAME@sha256:…, e.g. alpine:3.20 or ghcr.io/owner/app:1.",
      detail,
    };
  }
  if (err instanceof TypeError && /fetch|network/i.test(detail)) {
    return explainError(new TugError("NETWORK", detail), context);
  }
  const status = statusOf(err);
  if (status === 502 || status === 503 || status === 504) {
    return {
      title: `${context.where} cannot reach the registry.`,
      hint: `It answered ${status}: the registry behind it is down or unreachable from it. ` +
        "Images you opened before still open from this browser's cache.",
      detail,
    };
  }
  if (status !== undefined) {
    return { title: `The registry answered with HTTP status ${status}.`, hint: "", detail };
  }
  return { title: "Something went wrong.", hint: "", detail };
}

/**
 * A failure the page describes itself (a link naming a layer the image does not have, …): its title and
 * hint are shown as they are.
 *
 * @example
 * ```ts
 * import { explainError, PageError } from "./explain_error.ts";
 *
 * const e = explainError(new PageError("No such layer.", "Pick one above.", "layer=sha256:00"), { where: "" });
 * console.assert(e.title === "No such layer.");
 * ```
 */
export class PageError extends Error {
  /** What happened, in words. */
  readonly title: string;
  /** What to try. */
  readonly hint: string;

  constructor(title: string, hint: string, detail: string) {
    super(detail);
    this.name = "PageError";
    this.title = title;
    this.hint = hint;
  }
}

/** The HTTP status a registry error carries in its `detail` (registryError's RegistryErrorDetail). */
function statusOf(err: unknown): number | undefined {
  if (!isTugError(err)) return undefined;
  const status = (err.detail as { status?: unknown } | undefined)?.status;
  return typeof status === "number" ? status : undefined;
}

/** Whether a network error cut a body off mid-way (ImageSource.blob sets `received` in its detail). */
function brokeOff(err: unknown): boolean {
  return isTugError(err) && typeof (err.detail as { received?: unknown } | undefined)?.received === "number";
}

/**
 * Turns failures into sentences for the page: what went wrong, in words, and what to try.
 *
 * @module
 */

import { isTugError, TugError } from "../../src/mod.ts";

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
 * import { TugError } from "../../src/mod.ts";
 *
 * const e = explainError(new TugError("NAME_UNKNOWN", "not found"), { image: "nope:1", where: "the proxy" });
 * console.assert(e.title.includes("not found"));
 * ```
 */
export function explainError(
  err: unknown,
  context: { image?: string; where: string; direct?: boolean },
): Explained {
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
    return {
      title: `${image} is not a valid image reference.`,
      hint: "Write it as NAME[:TAG] or NAME@sha256:…, e.g. alpine:3.20 or ghcr.io/owner/app:1.",
      detail,
    };
  }
  if (err instanceof TypeError && /fetch|network/i.test(detail)) {
    return explainError(new TugError("NETWORK", detail), context);
  }
  return { title: "Something went wrong.", hint: "", detail };
}

// This module is browser compatible.
/**
 * Progress events as Docker Engine's jsonmessage (moby pkg/jsonmessage `JSONMessage`): the one mapping
 * used by `tug pull --json` and by the proxy's `POST /images/create`.
 *
 * @module
 */

import { isLineUpdate, type ProgressEvent } from "./events.ts";
import { formatProgress } from "./format_progress.ts";

/** Docker Engine's JSONMessage, with the fields a pull uses, in Docker's key order. */
export interface JsonMessage {
  /** The line, for progress and messages. */
  readonly status?: string;
  /** Present on layer updates: `{}` without counts; zero counts are left out (Go's `omitempty`). */
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
  /** The bar as Docker renders it for a non-terminal, e.g. `[==>   ]  1.2MB/4.5MB`; absent when empty. */
  readonly progress?: string;
  /** The layer, or the tag for "Pulling from". */
  readonly id?: string;
  /** Why the pull failed (the last message of a failed stream). */
  readonly errorDetail?: { readonly message: string };
  /** The same message as `errorDetail.message`. */
  readonly error?: string;
}

/**
 * The jsonmessage for `event`:
 *
 * - layer, retry and update events (Docker's `progress.Update`):
 *   `{"status":"Downloading","progressDetail":{"current":1,"total":2},"progress":"[…]","id":"a1b2c3d4e5f6"}`;
 * - image lines (Docker's `progress.Message`): `{"status":"Digest: sha256:…"}`,
 *   `{"status":"Pulling from library/alpine","id":"3.20"}`, no `progressDetail`;
 * - an error: `{"errorDetail":{"message":"…"},"error":"…"}`.
 *
 * Keys come in the order of Docker's structs, so `JSON.stringify` gives Docker's bytes (but see
 * {@linkcode jsonMessageLine} for Go's escaping).
 *
 * @example
 * ```ts
 * import { toJsonMessage } from "./jsonmessage.ts";
 * import { digestEvent, errorEvent, layerEvent } from "./events.ts";
 *
 * console.assert(JSON.stringify(toJsonMessage(layerEvent("a1b2c3d4e5f6", "Waiting"))) ===
 *   '{"status":"Waiting","progressDetail":{},"id":"a1b2c3d4e5f6"}');
 * console.assert(JSON.stringify(toJsonMessage(digestEvent("sha256:00"))) === '{"status":"Digest: sha256:00"}');
 * console.assert(JSON.stringify(toJsonMessage(errorEvent("boom"))) ===
 *   '{"errorDetail":{"message":"boom"},"error":"boom"}');
 * ```
 */
export function toJsonMessage(event: ProgressEvent): JsonMessage {
  if (event.type === "error") return { errorDetail: { message: event.message }, error: event.message };
  // Insertion order is the key order: the field order of Docker's JSONMessage and JSONProgress structs.
  const message: { -readonly [K in keyof JsonMessage]: JsonMessage[K] } = { status: event.status };
  if (isLineUpdate(event)) {
    const current = event.type === "layer" ? event.current : undefined;
    const total = event.type === "layer" ? event.total : undefined;
    const detail: { current?: number; total?: number } = {};
    if (current) detail.current = current;
    if (total) detail.total = total;
    message.progressDetail = detail;
    const progress = formatProgress(current, total);
    if (progress) message.progress = progress;
  }
  const id = "id" in event ? event.id : undefined;
  if (id) message.id = id;
  return message;
}

/**
 * One line of Docker Engine's stream for `event`: {@linkcode toJsonMessage} serialised with Go's
 * encoding/json escaping (`<`, `>`, `&`, U+2028 and U+2029 as `\u003e` …) and `newline` (`\r\n`, as the
 * Engine's stream, by default).
 *
 * @example
 * ```ts
 * import { jsonMessageLine } from "./jsonmessage.ts";
 * import { layerEvent } from "./events.ts";
 *
 * const line = jsonMessageLine(layerEvent("a1b2c3d4e5f6", "Downloading", { current: 1, total: 2 }));
 * console.assert(line.includes('"progress":"[=========================\\u003e'));
 * console.assert(line.endsWith("\r\n"));
 * ```
 */
export function jsonMessageLine(event: ProgressEvent, newline: "\r\n" | "\n" = "\r\n"): string {
  return JSON.stringify(toJsonMessage(event)).replace(/[<>&\u2028\u2029]/g, goEscape) + newline;
}

function goEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

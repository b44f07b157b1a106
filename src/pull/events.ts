// This module is browser compatible.
/**
 * Progress events: a union discriminated by `type`, one variant per kind of line `docker pull` prints
 * (moby pkg/progress: `progress.Update` for a layer's line, `progress.Message` for the image's lines).
 * Every variant carries `status`, the text exactly as Docker prints it, so a consumer that only shows
 * lines needs no `switch`; `toJsonMessage` (jsonmessage.ts) turns any event into Docker Engine's jsonmessage.
 *
 * @example
 * ```ts
 * import { digestEvent, layerEvent, type ProgressEvent } from "./events.ts";
 *
 * const events: ProgressEvent[] = [
 *   layerEvent("a1b2c3d4e5f6", "Downloading", { current: 10, total: 20 }),
 *   digestEvent("sha256:" + "0".repeat(64)),
 * ];
 * for (const event of events) {
 *   if (event.type === "layer") console.assert(event.total === 20);
 *   else console.assert(event.status.startsWith("Digest: "));
 * }
 * ```
 *
 * @module
 */

/** Docker's per-layer status strings, exactly as `docker pull` prints them. */
export type LayerStatus =
  | "Waiting"
  | "Pulling fs layer"
  | "Downloading"
  | "Verifying Checksum"
  | "Download complete"
  | "Already exists"
  | "Extracting"
  | "Pull complete"
  // tug's own, for `tug unpack`, which pulls nothing: a layer it finished extracting.
  | "Extract complete";

/** A layer's line changes: `a1b2c3d4e5f6: Downloading [==>   ]  1.2MB/4.5MB` (Docker's `progress.Update`). */
export interface LayerEvent {
  /** The kind of event. */
  readonly type: "layer";
  /** The layer's status, exactly as Docker prints it. */
  readonly status: LayerStatus;
  /** The layer's short id: the first 12 hex digits of its digest. */
  readonly id: string;
  /** The full digest of the blob this event is about. */
  readonly digest?: string;
  /** Bytes done, for Downloading and Extracting. */
  readonly current?: number;
  /** Bytes in all, for Downloading and Extracting. */
  readonly total?: number;
}

/**
 * A layer download waits before its next attempt: `Retrying in 5 seconds`, sent again each second as the
 * wait counts down to `Retrying in 1 second` (moby distribution/xfer/download.go).
 */
export interface RetryEvent {
  /** The kind of event. */
  readonly type: "retry";
  /** `Retrying in N second(s)`. */
  readonly status: string;
  /** The short id of the line's layer (12 hex digits). */
  readonly id: string;
  /** The full digest of the blob. */
  readonly digest?: string;
  /** Whole seconds left before the next attempt (at least 1). */
  readonly seconds: number;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
}

/** `3.20: Pulling from library/alpine`: the manifest is in (a message whose id is the tag or digest). */
export interface PullingFromEvent {
  /** The kind of event. */
  readonly type: "pulling-from";
  /** `Pulling from <repository>`. */
  readonly status: string;
  /** The tag or digest pulled. */
  readonly id: string;
  /** The repository path without the registry host, e.g. `library/alpine`. */
  readonly repository: string;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
  /** Not on this kind of event (present so `event.digest` reads on any event). */
  readonly digest?: undefined;
}

/** `Digest: sha256:…`: the digest of the manifest or index the reference resolved to. */
export interface DigestEvent {
  /** The kind of event. */
  readonly type: "digest";
  /** The line exactly as Docker prints it. */
  readonly status: string;
  /** The digest of the manifest or index. */
  readonly digest: string;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
  /** Not on this kind of event (present so `event.id` reads on any event). */
  readonly id?: undefined;
}

/** `Status: Downloaded newer image for alpine:3.20` or `Status: Image is up to date for …`. */
export interface StatusEvent {
  /** The kind of event. */
  readonly type: "status";
  /** The line exactly as Docker prints it. */
  readonly status: string;
  /** The text after `Status: `. */
  readonly message: string;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
  /** Not on this kind of event (present so `event.id` reads on any event). */
  readonly id?: undefined;
  /** Not on this kind of event (present so `event.digest` reads on any event). */
  readonly digest?: undefined;
}

/**
 * Any other line, printed as is (Docker's `progress.Message`): `Using default tag: latest`, the schema 1
 * deprecation notice, the legacy v1 puller's `Pulling repository …`. With an id it prints `id: status`.
 */
export interface MessageEvent {
  /** The kind of event. */
  readonly type: "message";
  /** The line exactly as Docker prints it. */
  readonly status: string;
  /** The id printed before the line (`id: status`), if any. */
  readonly id?: string;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
  /** Not on this kind of event (present so `event.digest` reads on any event). */
  readonly digest?: undefined;
}

/**
 * A free-form update of the line `id` (Docker's `progress.Update` with a status of its own): the legacy v1
 * puller's `Pulling metadata`, `Pulling image (tag) from …`, `Pulling dependent layers`.
 */
export interface UpdateEvent {
  /** The kind of event. */
  readonly type: "update";
  /** The line exactly as Docker prints it. */
  readonly status: string;
  /** The short id of the line's layer (12 hex digits). */
  readonly id: string;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
  /** Not on this kind of event (present so `event.digest` reads on any event). */
  readonly digest?: undefined;
}

/**
 * The pull failed: the last event of a stream that ends in failure (Docker's
 * `{"errorDetail":{"message":…},"error":…}`). `pull()` throws rather than sending it; the CLI's `--json`
 * output and the proxy's `/images/create` end their streams with it.
 */
export interface ErrorEvent {
  /** The kind of event. */
  readonly type: "error";
  /** The same text as `message`. */
  readonly status: string;
  /** The error message. */
  readonly message: string;
  /** Not on this kind of event (present so `event.current` reads on any event). */
  readonly current?: undefined;
  /** Not on this kind of event. */
  readonly total?: undefined;
  /** Not on this kind of event (present so `event.id` reads on any event). */
  readonly id?: undefined;
  /** Not on this kind of event (present so `event.digest` reads on any event). */
  readonly digest?: undefined;
}

/** One progress event. */
export type ProgressEvent =
  | LayerEvent
  | RetryEvent
  | PullingFromEvent
  | DigestEvent
  | StatusEvent
  | MessageEvent
  | UpdateEvent
  | ErrorEvent;

/** Receives progress events. */
export type ProgressHandler = (event: ProgressEvent) => void;

/**
 * A {@linkcode LayerEvent}; zero or missing counts are left out.
 *
 * @example
 * ```ts
 * import { layerEvent } from "./events.ts";
 *
 * console.assert(layerEvent("a1b2c3d4e5f6", "Pull complete").status === "Pull complete");
 * ```
 */
export function layerEvent(
  id: string,
  status: LayerStatus,
  extra: { digest?: string; current?: number; total?: number } = {},
): LayerEvent {
  return {
    type: "layer",
    status,
    id,
    ...(extra.digest !== undefined ? { digest: extra.digest } : {}),
    ...(extra.current !== undefined ? { current: extra.current } : {}),
    ...(extra.total !== undefined ? { total: extra.total } : {}),
  };
}

/**
 * A {@linkcode RetryEvent}, worded as dockerd does: `Retrying in 1 second`, `Retrying in 5 seconds`.
 *
 * @example
 * ```ts
 * import { retryEvent } from "./events.ts";
 *
 * console.assert(retryEvent("a1b2c3d4e5f6", 5).status === "Retrying in 5 seconds");
 * console.assert(retryEvent("a1b2c3d4e5f6", 1).status === "Retrying in 1 second");
 * ```
 */
export function retryEvent(id: string, seconds: number, digest?: string): RetryEvent {
  return {
    type: "retry",
    status: `Retrying in ${seconds} second${seconds === 1 ? "" : "s"}`,
    id,
    ...(digest !== undefined ? { digest } : {}),
    seconds,
  };
}

/**
 * A {@linkcode PullingFromEvent}: `id` is the tag or digest, `repository` the path without the host.
 *
 * @example
 * ```ts
 * import { pullingFromEvent } from "./events.ts";
 *
 * console.assert(pullingFromEvent("3.20", "library/alpine").status === "Pulling from library/alpine");
 * ```
 */
export function pullingFromEvent(id: string, repository: string): PullingFromEvent {
  return { type: "pulling-from", status: `Pulling from ${repository}`, id, repository };
}

/**
 * A {@linkcode DigestEvent}.
 *
 * @example
 * ```ts
 * import { digestEvent } from "./events.ts";
 *
 * console.assert(digestEvent("sha256:00").status === "Digest: sha256:00");
 * ```
 */
export function digestEvent(digest: string): DigestEvent {
  return { type: "digest", status: `Digest: ${digest}`, digest };
}

/**
 * A {@linkcode StatusEvent}.
 *
 * @example
 * ```ts
 * import { statusEvent } from "./events.ts";
 *
 * console.assert(statusEvent("Image is up to date for alpine:3.20").status.startsWith("Status: Image"));
 * ```
 */
export function statusEvent(message: string): StatusEvent {
  return { type: "status", status: `Status: ${message}`, message };
}

/**
 * A {@linkcode MessageEvent}.
 *
 * @example
 * ```ts
 * import { messageEvent } from "./events.ts";
 *
 * console.assert(messageEvent("Using default tag: latest").type === "message");
 * ```
 */
export function messageEvent(status: string, id?: string): MessageEvent {
  return { type: "message", status, ...(id !== undefined && id !== "" ? { id } : {}) };
}

/**
 * An {@linkcode UpdateEvent}.
 *
 * @example
 * ```ts
 * import { updateEvent } from "./events.ts";
 *
 * console.assert(updateEvent("0123456789ab", "Pulling metadata").id === "0123456789ab");
 * ```
 */
export function updateEvent(id: string, status: string): UpdateEvent {
  return { type: "update", status, id };
}

/**
 * An {@linkcode ErrorEvent} for `error` (its message).
 *
 * @example
 * ```ts
 * import { errorEvent } from "./events.ts";
 *
 * console.assert(errorEvent(new Error("boom")).message === "boom");
 * ```
 */
export function errorEvent(error: unknown): ErrorEvent {
  const message = error instanceof Error ? error.message : String(error);
  return { type: "error", status: message, message };
}

/**
 * Whether `event` is about one layer's line (Docker's `progress.Update`: layer, retry and update events),
 * rather than a line of its own.
 *
 * @example
 * ```ts
 * import { digestEvent, isLineUpdate, layerEvent } from "./events.ts";
 *
 * console.assert(isLineUpdate(layerEvent("a1b2c3d4e5f6", "Waiting")));
 * console.assert(!isLineUpdate(digestEvent("sha256:00")));
 * ```
 */
export function isLineUpdate(event: ProgressEvent): event is LayerEvent | RetryEvent | UpdateEvent {
  return event.type === "layer" || event.type === "retry" || event.type === "update";
}

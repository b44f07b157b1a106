// This module is browser compatible.
/**
 * Progress events, shaped like Docker Engine's jsonmessage so they map one to one onto
 * `docker pull` output: `{ status, id, progressDetail: { current, total } }`.
 *
 * @module
 */

/** Docker's per-layer status strings, exactly as `docker pull` prints them. */
export type LayerStatus =
  | "Waiting"
  | "Pulling fs layer"
  | "Downloading"
  | "Retrying"
  | "Verifying Checksum"
  | "Download complete"
  | "Already exists"
  | "Extracting"
  | "Pull complete";

/** One progress event. Layer events carry `id` (the 12-hex short digest); image-level ones do not. */
export interface ProgressEvent {
  /** `LayerStatus` for layer events; for image events the whole line, e.g. `Digest: sha256:…`. */
  readonly status: string;
  /** Short id of the layer (first 12 hex digits), or the tag for "Pulling from …". */
  readonly id?: string;
  /** Bytes done, for Downloading and Extracting. */
  readonly current?: number;
  /** Bytes in all, for Downloading and Extracting. */
  readonly total?: number;
  /** The full digest of the blob this event is about. */
  readonly digest?: string;
}

/** Receives progress events. */
export type ProgressHandler = (event: ProgressEvent) => void;

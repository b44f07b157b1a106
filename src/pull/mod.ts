// This module is browser compatible.
/**
 * Pulling images: the `pull()` loop with Docker's fallback rules, the v2 puller, the shared download
 * manager, remote inspection and the progress events.
 *
 * @module
 */
export * from "./pull.ts";
export * from "./download_manager.ts";
export * from "./events.ts";
export {
  continueOnError,
  type ContinueOnErrorOptions,
  FallbackError,
  ImageConfigPullError,
} from "./fallback_policy.ts";
export * from "./inspect_remote.ts";
export * from "./translate_pull_error.ts";
export type {
  PullAttempt,
  PulledImage,
  PullOptions,
  PullOutcome,
  PullResult,
  V2PullResult,
} from "./types.ts";
export * from "./pull_all_tags.ts";
export * from "./jsonmessage.ts";
export * from "./format_progress.ts";
export * from "./human_size.ts";

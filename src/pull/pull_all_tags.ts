// This module is browser compatible.
/**
 * `pullAllTags()`: `docker pull --all-tags NAME` — every tag of a repository, through the same endpoint
 * loop and fallback rules as {@linkcode pull}.
 *
 * @module
 */

import { lookupEndpoints } from "../registry/lookup_endpoints.ts";
import { parseReference } from "../reference/parse_reference.ts";
import type { Reference } from "../reference/reference.ts";
import { validateRepositoryName } from "../reference/validate_repository_name.ts";
import { noSupport } from "./fallback_policy.ts";
import type { PullAttempt, PullOptions, PullOutcome } from "./types.ts";
import { translatePullError } from "./translate_pull_error.ts";
import { runEndpointLoop } from "./_endpoint_loop.ts";
import { withLayerRetries } from "./_layer_retries.ts";
import { V2Puller } from "./v2_puller.ts";
import { downloadsOf } from "./pull.ts";

/** Options for {@linkcode pullAllTags}. */
export interface PullAllTagsOptions extends PullOptions {
  /**
   * Ask the registry for the tag list in pages of this many tags (`n`, then `last` from each page). By
   * default the list is asked for whole, as Docker does, and `Link` pages are followed when sent.
   */
  tagsPageSize?: number;
}

/** What {@linkcode pullAllTags} returns. */
export interface PullAllTagsResult {
  /** The canonical repository name, e.g. `docker.io/library/alpine`. */
  readonly reference: string;
  /** Docker's short form, e.g. `alpine`. */
  readonly familiar: string;
  /** One result per tag, in the registry's order. */
  readonly tags: PullOutcome[];
  /** `Downloaded newer image for NAME` or `Image is up to date for NAME`. */
  readonly status: string;
  /** Whether anything new came into the store. */
  readonly downloaded: boolean;
  /** Every endpoint considered, in order. */
  readonly attempts: PullAttempt[];
}

/**
 * Pulls every tag of a repository into a store. The reference must be a bare name: as `docker pull -a`,
 * a tag or a digest is refused.
 *
 * @throws {TypeError} When the reference has a tag or a digest.
 *
 * @example Pull every tag (requires a reachable registry, so not run here)
 * ```ts ignore
 * import { MemoryStore } from "../store/memory_store.ts";
 * import { pullAllTags } from "./pull_all_tags.ts";
 *
 * const result = await pullAllTags("127.0.0.1:5000/team/tool", { store: new MemoryStore() });
 * console.log(result.tags.map((t) => t.familiar), result.status);
 * ```
 */
export async function pullAllTags(
  name: string | Reference,
  given: PullAllTagsOptions,
): Promise<PullAllTagsResult> {
  const options = withLayerRetries(given);
  const ref = typeof name === "string" ? parseReference(name) : name;
  validateRepositoryName(ref);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    // docker/cli image pull: "tag can't be used with --all-tags/-a".
    throw new TypeError(
      `Cannot pull all tags of "${ref.familiar}": a tag or digest can't be used when pulling all tags`,
    );
  }
  const downloads = downloadsOf(options);
  const { value, attempts } = await runEndpointLoop(
    lookupEndpoints(ref.domain!, options),
    ref.familiar,
    (endpoint) => {
      if (endpoint.version === 1) {
        return Promise.reject(noSupport(`Cannot pull all tags from the legacy v1 registry ${endpoint.url}`));
      }
      return new V2Puller({ endpoint, repository: ref, downloads, options }).pullAllTags();
    },
    { signal: options.signal, finish: (err) => translatePullError(err, ref) },
  );
  options.onEvent?.({ action: "pull", id: ref.familiar, name: ref.familiarName });
  return {
    reference: ref.toString(),
    familiar: ref.familiar,
    tags: value.tags,
    status: value.status,
    downloaded: value.downloaded,
    attempts,
  };
}

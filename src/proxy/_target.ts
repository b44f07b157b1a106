// This module is browser compatible.
/**
 * Where a /v2/ request goes: the upstream and repository of a name, by upstream prefix, by containerd's
 * `?ns=`, or the default upstream. Private to the proxy.
 *
 * @module
 */

import { REPOSITORY_PATTERN } from "../reference/patterns.ts";
import type { ProxyContext } from "./_context.ts";
import { errorResponse } from "./_responses.ts";
import type { Upstream } from "./_upstream.ts";

/** Where a /v2/ request goes. */
export interface Target {
  readonly upstream: Upstream;
  /** The repository upstream, e.g. `library/alpine`. */
  readonly repo: string;
  /** `refHost/repo`: the canonical name, the key of references, grants and membership. */
  readonly key: string;
}

/** The 403 for a host that is not a configured upstream (counted in the metrics). */
export function refuseHost(ctx: ProxyContext, host: string): Response {
  ctx.metrics.refused++;
  return errorResponse(
    403,
    "DENIED",
    `The upstream "${host}" is not configured on this proxy; configured: ${
      [...ctx.upstreams.keys()].join(", ")
    }`,
  );
}

/**
 * Finds the upstream and repository of a /v2/ name (`ns`: containerd's `?ns=` parameter, or null), or
 * the error answer: 403 for an unconfigured host, 400 for an invalid repository name.
 *
 * `<name>` goes to the default upstream (Docker Hub-like upstreams get `library/` for single names);
 * `<upstream-name-or-host>/<repo>` and `?ns=<host>` pick another configured upstream. A first component
 * that looks like a host (Docker's rule) but is not configured is refused before any connection.
 */
export function resolveTarget(ctx: ProxyContext, name: string, ns: string | null): Target | Response {
  let upstream: Upstream | undefined;
  let repo = name;
  if (ns !== null) {
    upstream = ctx.byAlias.get(ns);
    if (upstream === undefined) return refuseHost(ctx, ns);
  } else {
    const slash = name.indexOf("/");
    const first = slash < 0 ? "" : name.slice(0, slash);
    const named = first === "" ? undefined : ctx.byAlias.get(first);
    if (named !== undefined) {
      upstream = named;
      repo = name.slice(slash + 1);
    } else if (first.includes(".") || first.includes(":") || first === "localhost") {
      // Docker's rule: a first component with a dot or a port, or localhost, names a registry host.
      return refuseHost(ctx, first);
    } else {
      upstream = ctx.defaultUpstream;
    }
  }
  if (upstream.library && !repo.includes("/")) repo = `library/${repo}`;
  if (!REPOSITORY_PATTERN.test(repo) || repo.length > 255) {
    return errorResponse(400, "NAME_INVALID", `Invalid repository name "${repo}"`);
  }
  return { upstream, repo, key: `${upstream.refHost}/${repo}` };
}

/// <reference lib="dom" />
/**
 * A repository's tags (`GET /v2/<name>/tags/list`), a page at a time, each a link that opens that tag.
 * Loaded only when the list is opened: listing tags is one more request the page otherwise never needs.
 *
 * @module
 */

import type { Reference } from "../../../src/mod.ts";
import type { PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { explainError } from "../explain_error.ts";
import type { PageState } from "../url_state.ts";

/** Tags asked for per page. */
export const TAGS_PAGE = 50;

/**
 * The "Tags" disclosure of `ref`'s repository.
 *
 * @example
 * ```ts ignore
 * head.append(tagsList(ctx, state, resolved.ref));
 * ```
 */
export function tagsList(ctx: PageContext, state: PageState, ref: Reference): HTMLElement {
  const list = h("ul", { class: "tag-list" });
  const status = h("p", { class: "muted small", role: "status" });
  const more = h("button", { type: "button", class: "more-tags", hidden: true }, "More tags");
  let next: string | undefined;
  let loading = false;
  const load = async () => {
    if (loading) return;
    loading = true;
    more.hidden = true;
    status.textContent = "Reading the tags…";
    try {
      const page = await ctx.source(state).client(ref).listTags({
        n: TAGS_PAGE,
        ...(next !== undefined ? { last: next } : {}),
      });
      for (const tag of page.tags) {
        list.append(
          h(
            "li",
            {},
            h("a", {
              href: ctx.href({ ...ctx.keep(), image: `${ref.name}:${tag}` }),
              "aria-current": tag === ref.tag ? "true" : undefined,
            }, tag),
          ),
        );
      }
      next = page.next;
      more.hidden = next === undefined;
      const shown = list.children.length;
      status.textContent = shown === 0
        ? "The repository has no tags."
        : `${shown} tags${next ? " so far" : ""}.`;
    } catch (err) {
      const explained = explainError(err, { image: ref.name, where: ctx.where(state) });
      replace(status, `${explained.title} ${explained.detail}`);
    } finally {
      loading = false;
    }
  };
  more.addEventListener("click", () => void load());
  const details = h(
    "details",
    { class: "tags" },
    h("summary", {}, "Tags of this repository"),
    list,
    status,
    more,
  );
  details.addEventListener("toggle", () => {
    if (details.open && list.children.length === 0 && next === undefined) void load();
  });
  return details;
}

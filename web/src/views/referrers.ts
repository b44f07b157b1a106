/// <reference lib="dom" />
/**
 * The "Referrers" disclosure of an opened image: signatures, SBOMs and attestations whose `subject` is the
 * image's manifest ({@linkcode fetchReferrers}: the OCI 1.1 referrers API, else the `sha256-<hex>` tag),
 * each a link that opens that manifest by digest. Through tug's proxy both requests go to its existing
 * /v2/ routes (the referrers API is not one of them, so it answers 404 and the tag is read through the
 * access-checked manifest route).
 *
 * @module
 */

import type { Reference } from "../../../src/mod.ts";
import type { PageContext } from "../context.ts";
import { h, replace } from "../dom.ts";
import { explainError } from "../explain_error.ts";
import { formatBytes, shortDigest } from "../format.ts";
import type { ImageSource } from "../image_source.ts";
import { fetchReferrers, type Referrers, referrerType, withConfigTypes } from "../referrers.ts";
import type { PageState } from "../url_state.ts";

/** What was asked already, per registry access and manifest: a tab switch does not ask again. */
const asked = new WeakMap<ImageSource, Map<string, Promise<Referrers>>>();

function referrersOf(source: ImageSource, ref: Reference, digest: string): Promise<Referrers> {
  let map = asked.get(source);
  if (!map) asked.set(source, map = new Map());
  const key = `${ref.name}@${digest}`;
  let promise = map.get(key);
  if (!promise) {
    promise = fetchReferrers(source.client(ref), digest).then(async (found) => ({
      ...found,
      referrers: await withConfigTypes(found.referrers, async (r) => {
        const parsed = await source.manifest(ref, r.digest, r.mediaType);
        return parsed.kind === "manifest" ? parsed.manifest : undefined;
      }),
    }));
    map.set(key, promise);
    promise.catch(() => map.delete(key));
  }
  return promise;
}

/**
 * The "Referrers" disclosure for the manifest `digest` of `ref`'s repository, asked of the registry when
 * it is first opened.
 *
 * @example
 * ```ts ignore
 * head.append(referrersSection(ctx, state, resolved.ref, image.descriptor.digest));
 * ```
 */
export function referrersSection(
  ctx: PageContext,
  state: PageState,
  ref: Reference,
  digest: string,
): HTMLElement {
  const status = h("p", { class: "muted small", role: "status" });
  const list = h("ul", { class: "referrer-list" });
  const details = h(
    "details",
    { class: "referrers" },
    h("summary", {}, "Referrers (signatures, SBOMs, attestations)"),
    list,
    status,
  );
  let started = false;
  const load = () => {
    started = true;
    status.textContent = "Asking the registry…";
    referrersOf(ctx.source(state), ref, digest).then(({ referrers }) => {
      status.textContent = referrers.length === 0
        ? "None: no signatures, SBOMs or attestations refer to this image."
        : `${referrers.length} ${
          referrers.length === 1 ? "manifest refers" : "manifests refer"
        } to this image.`;
      for (const r of referrers) {
        list.append(h(
          "li",
          { "data-digest": r.digest },
          h("a", {
            href: ctx.href({ ...ctx.keep(), image: `${ref.name}@${r.digest}`, view: "manifest" }),
            title: r.digest,
          }, h("code", {}, referrerType(r))),
          " ",
          h(
            "span",
            { class: "muted" },
            shortDigest(r.digest),
            " · ",
            formatBytes(r.size),
            r.created ? ` · created ${r.created}` : "",
          ),
        ));
      }
    }, (err) => {
      started = false;
      const explained = explainError(err, { image: ref.name, where: ctx.where(state) });
      replace(status, `${explained.title} ${explained.detail}`);
    });
  };
  // Asked only when opened, as the tag list: most looks at an image never need it, and a registry without
  // the referrers API answers 404 twice for an image without referrers.
  details.addEventListener("toggle", () => {
    if (details.open && !started) load();
  });
  return details;
}

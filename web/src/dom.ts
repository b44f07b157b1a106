/// <reference lib="dom" />
/**
 * A tiny element builder for the page (no framework): `h("a", { href }, "text")`.
 *
 * @module
 */

/** Attributes and properties for {@linkcode h}: strings become attributes; `on*` functions become listeners. */
export type Attrs = Record<string, string | number | boolean | undefined | null | EventListener>;

/** A child: a node, text, or nothing. */
export type Child = Node | string | number | null | undefined | false;

/**
 * Creates an element with attributes and children. `class` and `data-*`/`aria-*` are plain attributes;
 * `true` sets an empty attribute and `false`/`undefined`/`null` leaves it out.
 *
 * @example
 * ```ts ignore
 * document.body.append(h("p", { class: "note" }, "Hello ", h("code", {}, "tug")));
 * ```
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Child | Child[]>
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (nested arrays flattened; empty values skipped). */
export function append(el: Element, children: Array<Child | Child[]>): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
}

/** Replaces an element's children. */
export function replace(el: Element, ...children: Array<Child | Child[]>): void {
  el.replaceChildren();
  append(el, children);
}

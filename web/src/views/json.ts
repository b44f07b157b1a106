/// <reference lib="dom" />
/**
 * JSON for the config and manifest views: re-indented text, and indented nodes with digests as links.
 *
 * @module
 */

import { h } from "../dom.ts";

/**
 * The JSON in `bytes` re-indented by two spaces; the text as it is when it is not JSON.
 *
 * @example
 * ```ts ignore
 * prettyJson(new TextEncoder().encode('{"a":1}')); // '{\n  "a": 1\n}'
 * ```
 */
export function prettyJson(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

const DIGEST_VALUE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/**
 * Renders JSON as indented text with every digest value a link to `link(digest)`.
 *
 * @example
 * ```ts ignore
 * pre.append(...jsonNodes(JSON.parse(text), 0, (digest) => `#${digest}`));
 * ```
 */
export function jsonNodes(
  value: unknown,
  depth: number,
  link: (digest: string) => string,
): Array<Node | string> {
  const pad = "  ".repeat(depth);
  const inner = "  ".repeat(depth + 1);
  if (Array.isArray(value)) {
    if (value.length === 0) return ["[]"];
    const out: Array<Node | string> = ["[\n"];
    value.forEach((item, i) => {
      out.push(inner, ...jsonNodes(item, depth + 1, link), i < value.length - 1 ? ",\n" : "\n");
    });
    out.push(pad, "]");
    return out;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return ["{}"];
    const out: Array<Node | string> = ["{\n"];
    entries.forEach(([key, item], i) => {
      out.push(inner, h("span", { class: "key" }, JSON.stringify(key)), ": ");
      if (typeof item === "string" && DIGEST_VALUE.test(item)) {
        out.push(h("a", { href: link(item), class: "digest" }, JSON.stringify(item)));
      } else {
        out.push(...jsonNodes(item, depth + 1, link));
      }
      out.push(i < entries.length - 1 ? ",\n" : "\n");
    });
    out.push(pad, "}");
    return out;
  }
  return [h("span", { class: typeof value === "string" ? "str" : "lit" }, JSON.stringify(value))];
}

/// <reference lib="dom" />
/**
 * A small "Copy" button that puts a digest or a reference on the clipboard and says so.
 *
 * @module
 */

import { h } from "./dom.ts";

/**
 * A button that copies `text`; `what` names it for screen readers ("Copy the digest").
 *
 * @example
 * ```ts ignore
 * head.append(copyButton("sha256:…", "the digest"));
 * ```
 */
export function copyButton(text: string, what: string): HTMLButtonElement {
  const button = h("button", {
    type: "button",
    class: "copy",
    "data-copy": text,
    "aria-label": `Copy ${what}`,
    title: `Copy ${what}`,
  }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      // No clipboard access (an insecure origin, or denied): select the text for a manual copy instead.
      button.textContent = "Copy failed";
    }
    setTimeout(() => button.textContent = "Copy", 1500);
  });
  return button;
}

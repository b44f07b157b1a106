/// <reference lib="dom" />
/**
 * The config view: how the image runs (entrypoint, command, user, ports…), its environment and labels,
 * and the raw config JSON.
 *
 * @module
 */

import { formatPlatform } from "../../../src/manifest/mod.ts";
import type { ImageData } from "../context.ts";
import { h } from "../dom.ts";
import { prettyJson } from "./json.ts";
import { labelUrl } from "../links.ts";

/**
 * The config view of `image`.
 *
 * @example
 * ```ts ignore
 * replace(body, configView(image));
 * ```
 */
export function configView(image: ImageData): HTMLElement {
  const c = image.config.config ?? {};
  const list = (values: readonly string[] | null | undefined) =>
    values && values.length > 0 ? h("code", {}, JSON.stringify(values)) : h("span", { class: "muted" }, "—");
  const rows: Array<[string, HTMLElement | string]> = [
    ["Entrypoint", list(c.Entrypoint)],
    ["Cmd", list(c.Cmd)],
    ["Working dir", c.WorkingDir ? h("code", {}, c.WorkingDir) : h("span", { class: "muted" }, "/")],
    ["User", c.User ? h("code", {}, c.User) : h("span", { class: "muted" }, "root (not set)")],
    ["Exposed ports", Object.keys(c.ExposedPorts ?? {}).join(", ") || "—"],
    ["Volumes", Object.keys(c.Volumes ?? {}).join(", ") || "—"],
    ["Stop signal", c.StopSignal ?? "—"],
    ["Platform", formatPlatform(image.config as { os: string; architecture: string; variant?: string })],
    ["Created", image.config.created ?? "—"],
  ];
  const env = (c.Env ?? []).map((line) => {
    const eq = line.indexOf("=");
    return h(
      "tr",
      {},
      h("th", {}, h("code", {}, eq < 0 ? line : line.slice(0, eq))),
      h("td", {}, h("code", {}, eq < 0 ? "" : line.slice(eq + 1))),
    );
  });
  const labels = Object.entries(c.Labels ?? {}).map(([k, v]) =>
    h("tr", {}, h("th", {}, h("code", {}, k)), h("td", {}, linkedLabel(k, v)))
  );
  return h(
    "div",
    { class: "config" },
    h("dl", { class: "facts-list" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h2", {}, "Environment"),
    env.length
      ? h("div", { class: "scroll" }, h("table", { class: "kv" }, h("tbody", {}, env)))
      : h("p", { class: "muted" }, "No variables."),
    h("h2", {}, "Labels"),
    labels.length
      ? h("div", { class: "scroll" }, h("table", { class: "kv" }, h("tbody", {}, labels)))
      : h("p", { class: "muted" }, "No labels."),
    h(
      "details",
      {},
      h("summary", {}, "Raw config JSON"),
      h("pre", { class: "json" }, prettyJson(image.configBytes)),
    ),
  );
}

/** A label's value; the OCI address labels (`org.opencontainers.image.source`, …) as links. */
function linkedLabel(key: string, value: string): HTMLElement | string {
  const url = labelUrl(key, value);
  return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, value) : value;
}

/**
 * Where the page links to: the specification of a media type, a label's URL, the path a symlink points
 * at, and the name of an image pinned to its digest (for sharing).
 *
 * @module
 */

const IMAGE_SPEC = "https://github.com/opencontainers/image-spec/blob/main";
const DOCKER_SPEC = "https://github.com/distribution/distribution/blob/main/docs/content/spec";

/** Media types by prefix (`+gzip`/`+zstd` and the like share their base's page). */
const SPECS: ReadonlyArray<[string, string]> = [
  ["application/vnd.oci.image.index.v1+json", `${IMAGE_SPEC}/image-index.md`],
  ["application/vnd.oci.image.manifest.v1+json", `${IMAGE_SPEC}/manifest.md`],
  ["application/vnd.oci.image.config.v1+json", `${IMAGE_SPEC}/config.md`],
  ["application/vnd.oci.image.layer.", `${IMAGE_SPEC}/layer.md`],
  ["application/vnd.docker.distribution.manifest.v2+json", `${DOCKER_SPEC}/manifest-v2-2.md`],
  ["application/vnd.docker.distribution.manifest.list.v2+json", `${DOCKER_SPEC}/manifest-v2-2.md`],
  ["application/vnd.docker.container.image.v1+json", `${DOCKER_SPEC}/manifest-v2-2.md`],
  ["application/vnd.docker.image.rootfs.", `${DOCKER_SPEC}/manifest-v2-2.md`],
  ["application/vnd.docker.distribution.manifest.v1", `${DOCKER_SPEC}/manifest-v2-1.md`],
];

/**
 * The specification that defines `mediaType`, or undefined for types the page does not know.
 *
 * @example
 * ```ts
 * import { specUrl } from "./links.ts";
 *
 * console.assert(specUrl("application/vnd.oci.image.layer.v1.tar+zstd")?.endsWith("/layer.md"));
 * console.assert(specUrl("text/plain") === undefined);
 * ```
 */
export function specUrl(mediaType: string): string | undefined {
  return SPECS.find(([prefix]) => mediaType.startsWith(prefix))?.[1];
}

/** Labels whose value is a web address (image-spec annotations.md "Pre-Defined Annotation Keys"). */
const URL_LABELS = new Set([
  "org.opencontainers.image.source",
  "org.opencontainers.image.url",
  "org.opencontainers.image.documentation",
]);

/**
 * The address a label links to: an `http(s)` URL in one of the OCI address labels, else undefined (no
 * `javascript:` or other schemes from an image's config ever become a link).
 *
 * @example
 * ```ts
 * import { labelUrl } from "./links.ts";
 *
 * console.assert(labelUrl("org.opencontainers.image.source", "https://github.com/o/r") === "https://github.com/o/r");
 * console.assert(labelUrl("org.opencontainers.image.source", "javascript:alert(1)") === undefined);
 * ```
 */
export function labelUrl(key: string, value: string): string | undefined {
  if (!URL_LABELS.has(key)) return undefined;
  try {
    const url = new URL(value.trim());
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The path a symlink at `path` points at, inside the image (`..` stops at the root, as the kernel does
 * for `/..`), normalized like the tree's paths; `""` is the root.
 *
 * @example
 * ```ts
 * import { symlinkTarget } from "./links.ts";
 *
 * console.assert(symlinkTarget("bin/hi", "hello") === "bin/hello");
 * console.assert(symlinkTarget("app/current", "/app") === "app");
 * console.assert(symlinkTarget("a/b/c", "../../../../etc/x") === "etc/x");
 * ```
 */
export function symlinkTarget(path: string, linkname: string): string {
  const parts = linkname.startsWith("/") ? [] : path.split("/").slice(0, -1);
  for (const part of linkname.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

/**
 * The reference of `name` pinned to `digest` (`127.0.0.1:5000/tug/small@sha256:…`): the tag dropped, the
 * registry host kept, so the link opens the same bytes from any proxy or page.
 *
 * @example
 * ```ts
 * import { pinnedReference } from "./links.ts";
 *
 * console.assert(pinnedReference("docker.io/library/alpine", "sha256:ab") === "docker.io/library/alpine@sha256:ab");
 * ```
 */
export function pinnedReference(name: string, digest: string): string {
  return `${name}@${digest}`;
}

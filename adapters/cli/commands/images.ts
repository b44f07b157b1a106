/**
 * `tug images [--store DIR] [--digests] [-q] [--json] [REPOSITORY[:TAG]]` (also `tug image ls`): lists the
 * images in the store.
 *
 * The size column is CONTENT SIZE: the bytes of the config and layers as stored (compressed), the name
 * Docker's containerd image store gives that figure. Docker's classic SIZE is the unpacked size, which a
 * store of compressed layers only knows by decompressing every layer; tug does not claim it.
 *
 * @module
 */
import process from "node:process";
import { defineCommand } from "../_args.ts";
import { humanSize } from "../progress/mod.ts";
import { openExistingStore, STORE_FLAG } from "./_common.ts";
import { parseManifest } from "../../../src/manifest/parse_manifest.ts";
import { parseImageConfig } from "../../../src/manifest/parse_image_config.ts";
import type { Descriptor } from "../../../src/manifest/types.ts";
import { parseReference } from "../../../src/reference/parse_reference.ts";
import type { Store } from "../../../src/store/types.ts";
import { readSmallBlob } from "../../fs/resolve_image.ts";

const IMAGES = defineCommand({
  synopsis: `Usage: tug images [OPTIONS] [REPOSITORY[:TAG]]

List the images in the store (those of REPOSITORY, or REPOSITORY:TAG, when one is given). CONTENT SIZE is
what the image's config and layers take in the store, compressed as pulled.`,
  flags: {
    digests: { type: "boolean", help: "Also list digest references (NAME@sha256:…)" },
    json: { type: "boolean", help: "One JSON object per line" },
    quiet: { type: "boolean", short: "q", help: "Only the references" },
    store: STORE_FLAG,
  },
  args: { min: 0, max: 1 },
});

/** Image details read from the store for one reference. */
interface LocalImage {
  name: string;
  descriptor: Descriptor;
  imageId?: string;
  size: number;
  created?: string;
}

async function describeLocal(store: Store, name: string, descriptor: Descriptor): Promise<LocalImage> {
  const parsed = parseManifest(await readSmallBlob(store, descriptor), { contentType: descriptor.mediaType });
  if (parsed.kind === "index") {
    // What the index brings to disk: itself, and each platform image the store holds (blobs counted once).
    const counted = new Map<string, number>([[descriptor.digest, descriptor.size]]);
    for (const child of parsed.index.manifests) {
      if (!(await store.blobs.stat(child.digest))) continue;
      counted.set(child.digest, child.size);
      const inner = parseManifest(await readSmallBlob(store, child), { contentType: child.mediaType });
      if (inner.kind !== "manifest") continue;
      for (const blob of [inner.manifest.config, ...inner.manifest.layers]) {
        counted.set(blob.digest, blob.size);
      }
    }
    let size = 0;
    for (const n of counted.values()) size += n;
    return { name, descriptor, size };
  }
  const m = parsed.manifest;
  const size = m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
  let created: string | undefined;
  try {
    created = parseImageConfig(await readSmallBlob(store, m.config)).created;
  } catch {
    created = undefined;
  }
  return { name, descriptor, imageId: m.config.digest, size, created };
}

/** `tug images [--store DIR] [--digests] [-q] [--json] [REPOSITORY[:TAG]]`. */
export async function imagesCommand(argv: string[]): Promise<number> {
  const args = IMAGES.parseOrHelp(argv, (text) => process.stdout.write(text));
  if (!args) return 0;
  const { flags, positionals } = args;
  const filter = positionals[0] === undefined ? undefined : parseReference(positionals[0]);
  const store = await openExistingStore(flags.store);
  const all = (await store.references.list()).filter((r) => {
    if (filter === undefined) return true;
    const ref = parseReference(r.name);
    // docker images REPO lists every tag of REPO; REPO:TAG that tag only.
    if (ref.name !== filter.name) return false;
    return filter.tag === undefined || ref.tag === filter.tag;
  });
  // A digest reference is listed (with --digests) only when no tag of its repository names the same
  // image: the row would repeat the tag's row with TAG <none>.
  const tagged = new Set(
    all.filter((r) => !r.name.includes("@")).map((r) =>
      `${parseReference(r.name).name}@${r.descriptor.digest}`
    ),
  );
  const records = all.filter((r) => {
    if (!r.name.includes("@")) return true;
    return Boolean(flags.digests) && !tagged.has(`${parseReference(r.name).name}@${r.descriptor.digest}`);
  });
  const images: LocalImage[] = [];
  for (const r of records) images.push(await describeLocal(store, r.name, r.descriptor));
  if (flags.json) {
    for (const i of images) {
      process.stdout.write(
        JSON.stringify({
          reference: i.name,
          digest: i.descriptor.digest,
          mediaType: i.descriptor.mediaType,
          imageId: i.imageId,
          size: i.size,
          created: i.created,
        }) + "\n",
      );
    }
    return 0;
  }
  if (flags.quiet) {
    for (const i of images) process.stdout.write(`${i.name}\n`);
    return 0;
  }
  const rows = [["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CONTENT SIZE"]];
  for (const i of images) {
    const ref = parseReference(i.name);
    rows.push([
      ref.familiarName,
      ref.tag ?? "<none>",
      i.descriptor.digest.slice(0, 19),
      i.imageId ? i.imageId.slice(i.imageId.indexOf(":") + 1, i.imageId.indexOf(":") + 13) : "<index>",
      humanSize(i.size),
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) {
    process.stdout.write(r.map((cell, c) => cell.padEnd(widths[c])).join("   ").trimEnd() + "\n");
  }
  return 0;
}

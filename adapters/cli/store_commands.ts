/**
 * `tug images` and `tug inspect`: read what is in the store (or, for inspect --remote, the registry).
 *
 * @module
 */
import process from "node:process";
import { parseArgs, UsageError } from "./args.ts";
import { defaultStoreDir, hostPlatform } from "./host.ts";
import { humanSize } from "./progress/mod.ts";
import { TugError } from "../../src/errors.ts";
import { parseManifest } from "../../src/manifest/parse_manifest.ts";
import { parseImageConfig } from "../../src/manifest/parse_image_config.ts";
import { parsePlatform } from "../../src/manifest/parse_platform.ts";
import { selectManifest } from "../../src/manifest/select_manifest.ts";
import type { Descriptor } from "../../src/manifest/types.ts";
import { parseReference } from "../../src/reference/parse_reference.ts";
import { inspectRemote } from "../../src/pull/inspect_remote.ts";
import type { Store } from "../../src/store/types.ts";
import { OciLayoutStore } from "../fs/oci_layout_store.ts";
import { dockerCredentials } from "../fs/docker_config.ts";
import { readSmallBlob } from "../fs/_resolve_image.ts";

const IMAGES_USAGE = `Usage: tug images [OPTIONS]

List the images in the store.

Options:
      --digests     Also list digest references (NAME@sha256:…)
      --json        One JSON object per line
  -q, --quiet       Only the references
      --store DIR   Store folder (default: $TUG_STORE or ~/.local/share/tug/store)`;

const INSPECT_USAGE = `Usage: tug inspect [OPTIONS] NAME[:TAG|@DIGEST]

Show an image's manifest and config as JSON, from the store (or from the registry with --remote).

Options:
      --remote                Ask the registry instead of the store
      --platform P            The platform image of a multi-platform index (default: the host's)
      --insecure-registry H   With --remote: a registry that may use plain http (repeatable)
      --store DIR             Store folder (default: $TUG_STORE or ~/.local/share/tug/store)`;

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

/** `tug images [--store DIR] [--digests] [-q] [--json]`. */
export async function imagesCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    store: { type: "string" },
    quiet: { type: "boolean", short: "q" },
    json: { type: "boolean" },
    digests: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    process.stdout.write(IMAGES_USAGE + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`"tug images" takes no arguments`);
  const store = await OciLayoutStore.open((flags.store as string | undefined) ?? defaultStoreDir());
  const records = (await store.references.list()).filter((r) => flags.digests || !r.name.includes("@"));
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
  const rows = [["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "SIZE"]];
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

/** `tug inspect [--store DIR] [--remote] [--platform P] NAME`. */
export async function inspectCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgs(argv, {
    store: { type: "string" },
    remote: { type: "boolean" },
    platform: { type: "string" },
    "insecure-registry": { type: "list" },
    help: { type: "boolean", short: "h" },
  });
  if (flags.help) {
    process.stdout.write(INSPECT_USAGE + "\n");
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`"tug inspect" requires exactly 1 argument (an image reference)`);
  }
  const ref = parseReference(positionals[0]);
  if (flags.remote) {
    const image = await inspectRemote(ref, {
      platform: (flags.platform as string | undefined) ?? hostPlatform(),
      credentials: dockerCredentials(),
      insecureRegistries: flags["insecure-registry"] as string[] | undefined,
    });
    process.stdout.write(JSON.stringify(image, null, 2) + "\n");
    return 0;
  }
  const store = await OciLayoutStore.open((flags.store as string | undefined) ?? defaultStoreDir());
  const full = ref.tag === undefined && ref.digest === undefined ? `${ref.name}:latest` : ref.toString();
  const key = ref.tag !== undefined && ref.digest !== undefined ? `${ref.name}@${ref.digest}` : full;
  const descriptor = await store.references.get(key);
  if (!descriptor) {
    throw new TugError(
      "NOT_FOUND",
      `No such image in the store: ${ref.familiar} (pull it first, or use --remote)`,
    );
  }
  // The same shape as `--remote` prints: the index (when the reference names one), then the manifest and
  // config of the platform image (--platform, default the host's) when the store holds it.
  const parsed = parseManifest(await readSmallBlob(store, descriptor), { contentType: descriptor.mediaType });
  const out: Record<string, unknown> = { reference: key, descriptor };
  let manifestDescriptor: Descriptor | undefined = descriptor;
  let manifest = parsed.kind === "manifest" ? parsed.manifest : undefined;
  if (parsed.kind === "index") {
    out.index = parsed.index;
    const platform = (flags.platform as string | undefined) ?? hostPlatform();
    manifestDescriptor = selectManifest(parsed.index, parsePlatform(platform));
    manifest = undefined;
    if (await store.blobs.stat(manifestDescriptor.digest)) {
      const child = parseManifest(await readSmallBlob(store, manifestDescriptor), {
        contentType: manifestDescriptor.mediaType,
      });
      if (child.kind === "manifest") manifest = child.manifest;
    }
  }
  if (manifest && manifestDescriptor) {
    out.manifestDescriptor = manifestDescriptor;
    out.manifest = manifest;
    out.config = parseImageConfig(await readSmallBlob(store, manifest.config));
  }
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
  return 0;
}

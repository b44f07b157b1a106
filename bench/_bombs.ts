/**
 * The decompression bombs of the unpack memory measurement: one-layer images whose layer inflates to a
 * single file of zeros (1 GiB in the full run, 256 MiB in `--quick`), gzip and zstd, built with the same
 * generators as test/decompression_bomb_test.ts and pushed into the benchmark's registry.
 *
 * @module
 */

import { type Bomb, gzipBomb, zstdBomb } from "../test/_bombs.ts";
import { jsonBlob, MEDIA_TYPES, pushImage, type RegistryProcess } from "../test/harness/mod.ts";

/** A bomb image in the registry. */
export interface BombImage {
  /** Shown in the table, e.g. `gzip bomb, 1 GiB`. */
  label: string;
  /** `host/bench/bomb-gzip:v1`. */
  reference: string;
  /** Compressed layer size and the size of the file inside. */
  layerBytes: number;
  fileBytes: number;
}

async function pushBomb(registry: RegistryProcess, repository: string, bomb: Bomb, mediaType: string) {
  const config = jsonBlob({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [bomb.diffId] },
  }, MEDIA_TYPES.ociConfig);
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: [{ mediaType, digest: bomb.digest, size: bomb.bytes.length }],
  }, MEDIA_TYPES.ociManifest);
  await pushImage(registry.url, repository, {
    blobs: [config, { digest: bomb.digest, size: bomb.bytes.length, mediaType, bytes: bomb.bytes }],
    manifestBytes: manifest.bytes,
    manifestDigest: manifest.digest,
    manifestMediaType: MEDIA_TYPES.ociManifest,
  }, "v1");
}

/**
 * Builds and pushes the gzip bomb and the zstd bomb (a 128 KiB window, well under tug's 128 MiB limit, so
 * both tools decode it) of `fileBytes` zeros each.
 */
export async function pushBombImages(registry: RegistryProcess, fileBytes: number): Promise<BombImage[]> {
  const size = fileBytes >= 1 << 30 ? `${fileBytes / (1 << 30)} GiB` : `${fileBytes / (1 << 20)} MiB`;
  const gz = await gzipBomb(fileBytes);
  await pushBomb(registry, "bench/bomb-gzip", gz, MEDIA_TYPES.ociLayerGzip);
  const zst = zstdBomb(fileBytes, 17);
  await pushBomb(registry, "bench/bomb-zstd", zst, MEDIA_TYPES.ociLayerZstd);
  return [
    {
      label: `gzip bomb, ${size}`,
      reference: `${registry.host}/bench/bomb-gzip:v1`,
      layerBytes: gz.bytes.length,
      fileBytes,
    },
    {
      label: `zstd bomb, ${size}`,
      reference: `${registry.host}/bench/bomb-zstd:v1`,
      layerBytes: zst.bytes.length,
      fileBytes,
    },
  ];
}

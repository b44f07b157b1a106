// unpack() hands decoded chunks back (detaches their buffers) once the tar reader is past them
// (src/image/owned_chunks.ts). A release that came too early would empty a view still being written: the
// file would come out short or wrong while the diffID (hashed before the tar is read) still matched. So every
// byte of every file is compared here, for files that start, end and straddle chunks at many offsets.
import { assertEquals } from "./_assert.ts";
import { buildImage, type TarEntry } from "./harness/mod.ts";
import { MemoryStore } from "../src/store/memory_store.ts";
import { unpack } from "../adapters/fs/unpack.ts";
import { tempDir } from "./_cli.ts";

/** Deterministic bytes that gzip cannot shrink much (xorshift32), or zeros (which inflate 1000:1). */
function content(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  if (seed % 3 === 0) return out;
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const SIZES = [0, 1, 511, 512, 513, 4095, 65543, 131072, 262151, 300000, 700001, 1 << 20, 2621447];

function entries(layer: number): TarEntry[] {
  const out: TarEntry[] = [{ path: `l${layer}/`, type: "directory" }];
  for (let round = 0; round < 3; round++) {
    for (const [i, size] of SIZES.entries()) {
      out.push({
        path: `l${layer}/f${round}-${i}`,
        content: content(size, layer * 1000 + round * 100 + i + 1),
      });
    }
  }
  return out;
}

Deno.test("unpack() writes every byte of gzip and zstd layers while it releases their decoded chunks", async () => {
  const layers = [
    { entries: entries(0), compression: "gzip" as const, gzipLevel: 1 },
    { entries: entries(1), compression: "zstd" as const },
    { entries: entries(2), compression: "gzip" as const },
  ];
  const image = await buildImage({ format: "oci", layers });
  const store = new MemoryStore();
  for (
    const blob of [...image.blobs, {
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      bytes: image.manifestBytes,
    }]
  ) {
    const writer = await store.blobs.writer({ digest: blob.digest, size: blob.size });
    await writer.write(blob.bytes);
    await writer.commit();
  }
  const name = "example.com/unpack/release:v1";
  await store.references.set(name, {
    mediaType: image.manifestMediaType,
    digest: image.manifestDigest,
    size: image.manifestBytes.length,
  });
  await using tmp = await tempDir("tug-unpack-release-");
  // With the default read-ahead (the next layer decodes while this one is written) and without.
  for (const readAhead of [undefined, 0]) {
    const dir = `${tmp.dir}/root-${readAhead ?? "default"}`;
    await unpack(store, name, dir, { readAhead });
    let files = 0;
    for (const [l, layer] of layers.entries()) {
      for (const e of layer.entries) {
        if (e.type === "directory") continue;
        const got = await Deno.readFile(`${dir}/${e.path}`);
        const want = e.content as Uint8Array;
        assertEquals(got.length, want.length, `${e.path} (layer ${l}) size`);
        const at = got.findIndex((b, i) => b !== want[i]);
        assertEquals(at, -1, `${e.path} (layer ${l}) differs at byte ${at}`);
        files++;
      }
    }
    assertEquals(files, layers.length * 3 * SIZES.length);
  }
});

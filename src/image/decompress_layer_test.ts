import { assertEquals, assertRejects, assertThrows } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { decompressLayer } from "./decompress_layer.ts";
import { detectCompression } from "./detect_compression.ts";

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + size));
      at += size;
    },
  });
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
}

async function zstd(bytes: Uint8Array, ...args: string[]): Promise<Uint8Array> {
  const child = new Deno.Command("zstd", { args: ["-q", "-c", ...args], stdin: "piped", stdout: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const { stdout, success } = await child.output();
  if (!success) throw new Error("zstd failed");
  return stdout;
}

function sample(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 24) % 16 + (i % 64 === 0 ? 0x1f : 0x61); // compressible text with 0x1f bytes sprinkled in
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function decode(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

for (const decoder of ["native", "fflate"] as const) {
  Deno.test(`decompressLayer() gunzips a single member with the ${decoder} decoder in any chunking`, async () => {
    const data = sample(300_000, 1);
    const gz = await gzip(data);
    for (const size of [gz.length, 65536, 1000, 3]) {
      assertEquals(await decode(decompressLayer(chunked(gz, size), "gzip", { gzipDecoder: decoder })), data);
    }
  });

  Deno.test(`decompressLayer() reads multi-member gzip with the ${decoder} decoder`, async () => {
    const parts = [sample(100_000, 2), sample(10, 3), sample(70_000, 4), new Uint8Array(0), sample(5000, 5)];
    const gz = concat(await Promise.all(parts.map(gzip)));
    const expected = concat(parts);
    for (const size of [gz.length, 4096, 333, 1]) {
      assertEquals(
        await decode(decompressLayer(chunked(gz, size), "gzip", { gzipDecoder: decoder })),
        expected,
        `chunks of ${size}`,
      );
    }
  });

  Deno.test(`decompressLayer() rejects truncated, trailing-garbage and empty gzip with the ${decoder} decoder`, async () => {
    const gz = concat([await gzip(sample(50_000, 6)), await gzip(sample(20_000, 7))]);
    for (
      const bad of [
        gz.subarray(0, gz.length - 4),
        gz.subarray(0, 2000),
        concat([gz, new Uint8Array(4)]),
        new Uint8Array(0),
      ]
    ) {
      await assertRejects(
        () => decode(decompressLayer(chunked(bad, 1000), "gzip", { gzipDecoder: decoder })),
        TugError,
        {
          code: "TAR_INVALID",
          includes: "Cannot decompress gzip layer",
        },
      );
    }
  });
}

Deno.test("decompressLayer() decompresses zstd made by the zstd CLI, multi-frame included", async () => {
  const a = sample(200_000, 8);
  const b = sample(3000, 9);
  const frames = concat([await zstd(a), await zstd(b, "-19")]);
  for (const size of [frames.length, 4096, 7]) {
    assertEquals(await decode(decompressLayer(chunked(frames, size), "zstd")), concat([a, b]));
  }
  await assertRejects(
    () => decode(decompressLayer(chunked(frames.subarray(0, frames.length - 10), 512), "zstd")),
    TugError,
    {
      code: "TAR_INVALID",
      includes: "zstd",
    },
  );
});

Deno.test("decompressLayer() passes 'none' through and sniffs 'auto'", async () => {
  const data = sample(5000, 10);
  const plain = chunked(data, 100);
  assertEquals(decompressLayer(plain, "none"), plain);
  assertEquals(await decode(decompressLayer(chunked(await gzip(data), 1), "auto")), data);
  assertEquals(await decode(decompressLayer(chunked(await zstd(data), 2), "auto")), data);
  assertEquals(await decode(decompressLayer(chunked(data, 3), "auto")), data);
  assertEquals(await decode(decompressLayer(chunked(new Uint8Array(0), 1), "auto")), new Uint8Array(0));
});

Deno.test("decompressLayer() refuses unknown compressions and decoders", () => {
  const s = chunked(new Uint8Array(1), 1);
  assertThrows(() => decompressLayer(s, "bzip2" as "gzip"), TypeError, "bzip2");
  assertThrows(() => decompressLayer(s, "gzip", { gzipDecoder: "pako" as "native" }), TypeError, "pako");
});

Deno.test("detectCompression() knows gzip and zstd magic and calls the rest 'none'", () => {
  assertEquals(detectCompression(new Uint8Array([0x1f, 0x8b])), "gzip");
  assertEquals(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0])), "zstd");
  assertEquals(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f])), "none");
  assertEquals(detectCompression(new Uint8Array(0)), "none");
});

import { assertEquals } from "../../test/_assert.ts";
import { markOwned, releaseOwned } from "./owned_chunks.ts";
import { decompressLayer } from "./decompress_layer.ts";

Deno.test("releaseOwned() frees a marked whole-buffer chunk and leaves every other chunk alone", () => {
  const whole = new Uint8Array(1024).fill(7);
  markOwned(whole);
  assertEquals(releaseOwned(whole), true);
  assertEquals(whole.byteLength, 0, "the buffer is detached");
  assertEquals(releaseOwned(whole), false, "a second release does nothing");

  // A view of part of a buffer may share it with other views: never marked, never released.
  const shared = new Uint8Array(1024).fill(7);
  const part = shared.subarray(0, 512);
  markOwned(part);
  assertEquals(releaseOwned(part), false);
  assertEquals(shared.byteLength, 1024);
  assertEquals(part[0], 7);

  const unmarked = new Uint8Array(16);
  assertEquals(releaseOwned(unmarked), false);
  assertEquals(unmarked.byteLength, 16);
});

Deno.test("decompressLayer() marks its gzip and zstd output as owned, and not the input of an uncompressed layer", async () => {
  const tar = new Uint8Array(3 << 20).map((_, i) => (i * 2654435761) >>> 24);
  const gz = new Response(tar).body!.pipeThrough(new CompressionStream("gzip"));
  // zstd: one frame with a Raw block of 64 KiB (RFC 8878 §3.1.1), written by hand.
  const raw = tar.subarray(0, 1 << 16);
  const frame = new Uint8Array(6 + 3 + raw.length);
  frame.set([0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3]);
  const v = 1 | 0 << 1 | raw.length << 3;
  frame.set([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff], 6);
  frame.set(raw, 9);
  const plain = new Uint8Array(tar);
  for (
    const [what, stream, owned] of [
      ["gzip", decompressLayer(gz, "gzip", { gzipDecoder: "native" }), true],
      ["zstd", decompressLayer(new Response(frame).body!, "zstd"), true],
      ["none", decompressLayer(new Response(plain).body!, "none"), false],
    ] as const
  ) {
    let chunks = 0;
    let released = 0;
    for await (const chunk of stream) {
      chunks++;
      if (releaseOwned(chunk)) released++;
    }
    assertEquals(released, owned ? chunks : 0, `${what}: ${released} of ${chunks} chunks released`);
  }
});

import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { gzipSync } from "npm:fflate@^0.8.2";
import { type BlockStart, inflatePoints } from "./inflate_points.ts";

/** Text-like and random bytes, so the encoder writes dynamic, fixed and stored blocks. */
function sample(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  let x = seed;
  const words = new TextEncoder().encode("the quick brown fox jumps over the lazy dog tug layer index ");
  for (let i = 0; i < size;) {
    x = (x * 1103515245 + 12345) >>> 0;
    if ((x >>> 20) % 5 === 0) {
      for (let j = 0; j < 300 && i < size; j++) data[i++] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    } else {
      const start = (x >>> 8) % words.length;
      for (let j = start; j < words.length && i < size; j++) data[i++] = words[j];
    }
  }
  return data;
}

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function native(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await new Response(
      chunked(data, 1 << 16).pipeThrough(
        new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
      ),
    ).arrayBuffer(),
  );
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

async function inflateAll(
  gz: Uint8Array,
  chunk: number,
): Promise<{ data: Uint8Array; blocks: BlockStart[] }> {
  const parts: Uint8Array[] = [];
  const blocks: BlockStart[] = [];
  await inflatePoints(chunked(gz, chunk), {
    format: "gzip",
    onBlock: (b) => {
      const window = b.window();
      blocks.push({ ...b, window: () => window });
    },
    onData: (c) => void parts.push(c.slice()),
  });
  return { data: concat(parts), blocks };
}

Deno.test("inflatePoints decompresses gzip from CompressionStream and fflate (levels 0, 1, 9, multi-member) in any chunking", async () => {
  const data = sample(3 << 20, 7);
  const small = sample(70_000, 3);
  const cases: Array<[string, Uint8Array, Uint8Array]> = [
    ["CompressionStream", await native(data), data],
    ["fflate level 0 (stored)", gzipSync(small, { level: 0 }), small],
    ["fflate level 1", gzipSync(data, { level: 1 }), data],
    ["fflate level 9", gzipSync(small, { level: 9 }), small],
    [
      "two members",
      concat([gzipSync(small, { level: 6 }), gzipSync(data, { level: 1 })]),
      concat([small, data]),
    ],
    ["empty", gzipSync(new Uint8Array(0)), new Uint8Array(0)],
  ];
  for (const [name, gz, want] of cases) {
    for (const chunk of [1, 4093, 1 << 20]) {
      if (chunk === 1 && gz.length > 100_000) continue;
      const { data: got, blocks } = await inflateAll(gz, chunk);
      assertEquals(got.length, want.length, `${name}, chunks of ${chunk}`);
      assert(got.every((b, i) => b === want[i]), `${name}, chunks of ${chunk}: same bytes`);
      assert(blocks.length >= 1, name);
    }
  }
});

Deno.test("inflatePoints resumes at any block start with the window there and gives the rest of the output", async () => {
  const data = sample(2 << 20, 11);
  const counts: number[] = [];
  for (
    const gz of [
      await native(data),
      gzipSync(data, { level: 1 }),
      concat([gzipSync(data.subarray(0, 1 << 20)), gzipSync(data.subarray(1 << 20))]),
    ]
  ) {
    const { blocks } = await inflateAll(gz, 1 << 16);
    assert(blocks.length >= 2, `several blocks: ${blocks.length}`);
    counts.push(blocks.length);
    for (const b of blocks) {
      const parts: Uint8Array[] = [];
      const byte = Math.floor(b.bit / 8);
      await inflatePoints(chunked(gz.subarray(byte), 5000), {
        format: "raw",
        skipBits: b.bit % 8,
        window: b.window(),
        onData: (c) => void parts.push(c.slice()),
      });
      const got = concat(parts);
      assertEquals(got.length, data.length - b.out, `from block at bit ${b.bit}`);
      assert(got.every((x, i) => x === data[b.out + i]), `from block at bit ${b.bit}: same bytes`);
    }
  }
  // CompressionStream (zlib) writes blocks of ~16k symbols: many resume points in 2 MiB.
  assert(counts[0] > 8, `blocks per stream: ${counts}`);
});

Deno.test("inflatePoints stops when onData returns false, and rejects a truncated or altered stream", async () => {
  const data = sample(1 << 20, 5);
  const gz = gzipSync(data, { level: 6 });
  let seen = 0;
  await inflatePoints(chunked(gz, 1 << 16), { format: "gzip", onData: (c) => (seen += c.length, false) });
  assert(seen > 0 && seen < data.length, `stopped early: ${seen}`);
  await assertRejects(
    () => inflatePoints(chunked(gz.subarray(0, gz.length >> 1), 1 << 16), { format: "gzip" }),
    Error,
    "ends too early",
  );
  const bad = gz.slice();
  bad[0] = 0;
  await assertRejects(
    () => inflatePoints(chunked(bad, 1 << 16), { format: "gzip" }),
    Error,
    "not a gzip member",
  );
});

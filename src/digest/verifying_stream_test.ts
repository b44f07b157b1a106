import { assert, assertEquals, assertRejects } from "../../test/_assert.ts";
import { TugError } from "../errors.ts";
import { DigestVerifier } from "./digest_verifier.ts";
import { verifyingStream } from "./verifying_stream.ts";
import { pattern, VECTORS } from "./_hasher_suite_test.ts";

const BIG = pattern(); // 1 MiB
const BIG256 = `sha256:${VECTORS.sha256.pattern}`;
const BIG512 = `sha512:${VECTORS.sha512.pattern}`;

/** A source that hands out `chunks` one pull at a time and records how far it got and whether it was cancelled. */
function source(chunks: Uint8Array[]) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === chunks.length) return controller.close();
      controller.enqueue(chunks[state.pulled++]);
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** Pipes `stream` into a sink that keeps every chunk it receives; resolves or rejects as the pipe does. */
async function drain(
  stream: ReadableStream<Uint8Array>,
): Promise<{ received: Uint8Array[]; error?: unknown }> {
  const received: Uint8Array[] = [];
  try {
    await stream.pipeTo(new WritableStream({ write: (chunk) => void received.push(chunk) }));
    return { received };
  } catch (error) {
    return { received, error };
  }
}

Deno.test("verifyingStream() passes the same chunk objects through and verifies at the end", async () => {
  for (const digest of [BIG256, BIG512]) {
    const chunks = split(BIG, 64 * 1024);
    const verifier = await DigestVerifier.create({ digest, size: BIG.length });
    const { received, error } = await drain(source(chunks).stream.pipeThrough(verifyingStream(verifier)));
    assertEquals(error, undefined);
    assertEquals(received.length, chunks.length);
    assert(received.every((chunk, i) => chunk === chunks[i]), "chunks are passed on without copies");
    assertEquals(verifier.bytes, BIG.length);
  }
});

Deno.test("verifyingStream() errors with SIZE_MISMATCH at the end of a short body", async () => {
  const verifier = await DigestVerifier.create({ digest: BIG256, size: BIG.length });
  const { received, error } = await drain(
    source(split(BIG.subarray(0, BIG.length - 1), 65536)).stream.pipeThrough(verifyingStream(verifier)),
  );
  assertEquals(received.reduce((n, c) => n + c.length, 0), BIG.length - 1);
  await assertRejects(Promise.reject(error), TugError, {
    code: "SIZE_MISMATCH",
    includes: `expected ${BIG.length} bytes, got ${BIG.length - 1}`,
  });
});

Deno.test("verifyingStream() errors with SIZE_MISMATCH on the first extra chunk and stops the source", async () => {
  const verifier = await DigestVerifier.create({ digest: BIG256, size: 3 * 65536 });
  const chunks = split(BIG, 65536); // 16 chunks where 3 are expected
  const { stream, state } = source(chunks);
  const { received, error } = await drain(stream.pipeThrough(verifyingStream(verifier)));
  await assertRejects(Promise.reject(error), TugError, {
    code: "SIZE_MISMATCH",
    includes: "got at least 262144",
  });
  assertEquals(received.length, 3, "the extra chunk is never passed on");
  assert(state.pulled < chunks.length, `the source was read to the end (${state.pulled} chunks)`);
  assert(state.cancelled, "the source was cancelled");
});

Deno.test("verifyingStream() errors with DIGEST_MISMATCH at the end of wrong content", async () => {
  const wrong = BIG.slice();
  wrong[wrong.length - 1] ^= 1;
  const verifier = await DigestVerifier.create({ digest: BIG256, size: BIG.length }, { name: "layer 7" });
  const { received, error } = await drain(
    source(split(wrong, 65536)).stream.pipeThrough(verifyingStream(verifier)),
  );
  assertEquals(received.length, 16);
  await assertRejects(Promise.reject(error), TugError, {
    code: "DIGEST_MISMATCH",
    includes: `Cannot verify layer 7: content does not match its digest, expected ${BIG256}, got sha256:`,
  });
});

Deno.test("verifyingStream() continues a verifier fed with a partial download, over a real HTTP body", async () => {
  // The puller's resume path: hash the bytes already on disk, then stream the rest of the body (a Range reply).
  const resumeAt = 300_000;
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} }, (req) => {
    const start = Number(new URL(req.url).searchParams.get("start"));
    return new Response(BIG.subarray(start));
  });
  try {
    const verifier = await DigestVerifier.create({ digest: BIG256, size: BIG.length });
    verifier.update(BIG.subarray(0, resumeAt));
    const res = await fetch(`http://127.0.0.1:${server.addr.port}/blob?start=${resumeAt}`);
    const { received, error } = await drain(res.body!.pipeThrough(verifyingStream(verifier)));
    assertEquals(error, undefined);
    assertEquals(received.reduce((n, c) => n + c.length, 0), BIG.length - resumeAt);
    assertEquals(verifier.verify(), BIG256);

    // The same body against a wrong prefix fails at the end.
    const bad = await DigestVerifier.create({ digest: BIG256, size: BIG.length });
    bad.update(new Uint8Array(resumeAt));
    const res2 = await fetch(`http://127.0.0.1:${server.addr.port}/blob?start=${resumeAt}`);
    const second = await drain(res2.body!.pipeThrough(verifyingStream(bad)));
    await assertRejects(Promise.reject(second.error), TugError, { code: "DIGEST_MISMATCH" });
  } finally {
    ac.abort();
    await server.finished;
  }
});

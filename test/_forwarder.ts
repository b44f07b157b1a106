/**
 * A plain HTTP forwarder for tests that must see or hold what a proxy process sends on (to a registry, to a
 * bucket): it logs every request and can hold the body of chosen answers back until the test opens it.
 *
 * @module
 */
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

/**
 * A plain HTTP forwarder to `target` that logs every request, and whose answers to `held` requests send
 * their headers at once and their body only after `open()`.
 */
export function forwarder(target: string, held: (method: string, path: string) => boolean = () => false) {
  const log: Array<{ method: string; path: string }> = [];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const url = new URL(request.url);
    log.push({ method: request.method, path: url.pathname });
    const headers = new Headers(request.headers);
    headers.delete("host");
    // Buffered: s3rver wants a Content-Length on uploads (parts are a few MiB).
    const body = request.body === null ? null : await request.arrayBuffer();
    const answer = await fetch(`${target}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      body,
      redirect: "manual",
    });
    if (answer.body === null || !held(request.method, url.pathname)) return answer;
    const reader = answer.body.getReader();
    const gated = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        await gate;
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    }, { highWaterMark: 0 });
    return new Response(gated, { status: answer.status, headers: answer.headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    log,
    open,
    [Symbol.asyncDispose]: async () => {
      open();
      await server.shutdown();
    },
  };
}

/** Reads a body, hashing as it goes: its digest and byte count. */
export async function hashBody(body: ReadableStream<Uint8Array>): Promise<{ digest: string; bytes: number }> {
  const hash = await nodeHasher("sha256");
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.byteLength;
  }
  return { digest: `sha256:${hash.digest()}`, bytes };
}

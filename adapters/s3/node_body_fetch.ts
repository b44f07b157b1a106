/**
 * A `fetch` for {@linkcode S3Bucket} on Deno and Node that sends a request whose body is bytes in memory (a
 * multipart part, a lease) through `node:http`/`node:https`, handing the caller's `Uint8Array` to the socket
 * as it is. `fetch` copies such a body (the Fetch standard's "extract a body": Deno and undici both slice
 * it), and a copy is garbage V8 frees only after about 64 MiB more of it were allocated: with 8 MiB parts,
 * a cold `tug serve --store s3://…` held ~70 MiB of part copies at its peak (docs/performance.md). Every
 * other request (no body, a text body) goes to `fetch`. Not browser compatible (node: modules); the S3
 * store itself stays on `fetch`.
 *
 * @module
 */

import http from "node:http";
import https from "node:https";

/** The most bytes of an answer dropped unread that are read on to keep its connection (S3 errors: < 64 KiB). */
const DRAIN_LIMIT = 64 * 1024;

/**
 * Wraps `fallback` (default: the global fetch): a request given as a URL with a `Uint8Array` body goes
 * through `node:http(s)` with a `Content-Length` of the body's size, never redirected (as `redirect:
 * "manual"`, the only mode {@linkcode S3Bucket} uses: a 3xx comes back as it is); everything else goes to
 * `fallback`. A request that gets no answer rejects with a `TypeError`, as fetch does; `init.signal` ends
 * the request and its answer's body with the signal's reason, as fetch's does.
 *
 * @example
 * ```ts
 * import { nodeBodyFetch } from "./node_body_fetch.ts";
 * import { S3Bucket } from "./s3_bucket.ts";
 *
 * const bucket = new S3Bucket({
 *   bucket: "cache",
 *   endpoint: "http://127.0.0.1:9000",
 *   credentials: { accessKeyId: "id", secretAccessKey: "secret" },
 *   fetch: nodeBodyFetch(),
 * });
 * console.assert(bucket.url("k").endsWith("/cache/k"));
 * ```
 */
export function nodeBodyFetch(fallback: typeof fetch = globalThis.fetch.bind(globalThis)): typeof fetch {
  return ((input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const body = init?.body;
    if (!(body instanceof Uint8Array) || input instanceof Request) return fallback(input, init);
    const signal = init?.signal ?? undefined;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const url = new URL(String(input));
    if (url.protocol !== "http:" && url.protocol !== "https:") return fallback(input, init);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => headers[name] = value);
    headers["content-length"] = String(body.byteLength);
    const method = init?.method ?? "PUT";
    return new Promise<Response>((resolve, reject) => {
      // Aborted (S3Bucket's time limit): the request and its answer end here, as fetch's do.
      let abortBody: ((reason: unknown) => void) | undefined;
      const onAbort = () => {
        request.destroy();
        if (abortBody) abortBody(signal!.reason);
        else reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const request = (url.protocol === "https:" ? https : http).request(url, { method, headers }, (res) => {
        const answer = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) { for (const v of value) answer.append(name, v); }
          else if (value !== undefined) answer.set(name, value);
        }
        const status = res.statusCode ?? 0;
        if (method === "HEAD" || status === 204 || status === 304) {
          signal?.removeEventListener("abort", onAbort);
          res.resume();
          resolve(new Response(null, { status, statusText: res.statusMessage ?? "", headers: answer }));
          return;
        }
        // The answer's body (S3: empty, or a small XML document), read as it is asked for. Cancelled (the
        // bucket drops bodies it does not need), the rest is read and ignored, up to DRAIN_LIMIT bytes.
        let open = true;
        let dropped = 0;
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            abortBody = (reason) => {
              if (open) controller.error(reason);
              open = false;
            };
            res.on("data", (chunk: Uint8Array) => {
              if (!open) {
                // Past a small answer's size the connection is closed rather than read on: a hostile
                // endpoint's endless answer costs no more (docs/security.md, bounded reads).
                dropped += chunk.byteLength;
                if (dropped > DRAIN_LIMIT) res.destroy();
                return;
              }
              controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
              if ((controller.desiredSize ?? 0) <= 0) res.pause();
            });
            res.on("end", () => {
              signal?.removeEventListener("abort", onAbort);
              if (open) controller.close();
              open = false;
            });
            res.on("error", (err) => {
              signal?.removeEventListener("abort", onAbort);
              if (open) controller.error(err);
              open = false;
            });
          },
          pull() {
            res.resume();
          },
          cancel() {
            open = false;
            // Read to its end and dropped (S3's answers here are small: up to DRAIN_LIMIT), so the connection
            // is kept for the next request instead of closed.
            res.resume();
          },
        });
        resolve(new Response(stream, { status, statusText: res.statusMessage ?? "", headers: answer }));
      });
      request.on("error", (cause) => {
        if (!signal?.aborted) reject(new TypeError(cause.message, { cause }));
      });
      request.end(body);
    });
  }) as typeof fetch;
}

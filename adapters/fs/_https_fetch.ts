/**
 * A `fetch` over `node:https` for the registries whose TLS settings the platform fetch cannot take: Deno's
 * `fetch` verifies every certificate (`Deno.createHttpClient` has no way to skip verification for one host;
 * only the process-wide `--unsafely-ignore-certificate-errors` does), and Node's global fetch needs undici's
 * `Agent`, which Node does not export. `node:https` takes `rejectUnauthorized`, `ca`, `cert` and `key` on
 * both runtimes, so one implementation serves Deno and the Node build alike.
 *
 * Only what the registry transport needs: redirects are returned as they are (the transport follows them
 * itself with `redirect: "manual"`), no content decoding is asked for (no `Accept-Encoding` is sent, so
 * blob bytes arrive as the registry stores them), and a failed connection rejects with a `TypeError` whose
 * `cause` is the runtime's error, the way `fetch` fails, so the retry and fallback rules treat it alike.
 *
 * @module
 */
import https from "node:https";
import tls from "node:tls";
import { Readable } from "node:stream";
import type { FetchLike } from "../../src/registry/types.ts";

/** The TLS settings of one host. */
export interface HttpsSettings {
  /** Verify the server's certificate (false: Docker's `InsecureSkipVerify` for insecure registries). */
  verify: boolean;
  /** Extra CA certificates (PEM), trusted besides the system's roots. */
  ca: string[];
  /** Client certificates (PEM), each with the key at the same index. */
  cert: string[];
  /** Client keys (PEM). */
  key: string[];
}

/** Statuses whose answer has no body (Fetch standard "null body status"). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A fetch that connects with `settings`, keeping connections alive in its own agent. `close()` ends the
 * idle connections.
 */
export function createHttpsFetch(settings: HttpsSettings): FetchLike & { close(): void } {
  const agent = new https.Agent({
    keepAlive: true,
    rejectUnauthorized: settings.verify,
    // node:tls replaces the system roots when `ca` is given; Docker adds certs.d's CAs to them.
    ...(settings.ca.length > 0 ? { ca: [...tls.rootCertificates, ...settings.ca] } : {}),
    ...(settings.cert.length > 0 ? { cert: settings.cert, key: settings.key } : {}),
  });
  const fetch = async (request: Request): Promise<Response> => {
    const signal = request.signal;
    signal.throwIfAborted();
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers["content-length"] = String(body.byteLength);
    return await new Promise<Response>((resolve, reject) => {
      const req = https.request(request.url, { method: request.method, headers, agent });
      const onAbort = () => req.destroy(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      req.once("error", (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(signal.aborted ? signal.reason : new TypeError("fetch failed", { cause: err }));
      });
      req.once("response", (res) => {
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          responseHeaders.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        }
        const status = res.statusCode ?? 0;
        const empty = request.method === "HEAD" || NULL_BODY.has(status);
        res.once("close", () => signal.removeEventListener("abort", onAbort));
        if (empty) res.resume();
        // An abort after the headers ends the body stream with the abort reason (req.destroy above).
        const stream = empty ? null : Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
        resolve(
          new Response(stream, { status, statusText: res.statusMessage ?? "", headers: responseHeaders }),
        );
      });
      req.end(body);
    });
  };
  return Object.assign(fetch, { close: () => agent.destroy() });
}

/**
 * A fault-injecting HTTP/1.1 proxy for tests: it sits between tug and a real registry (the harness's
 * docker-registry) and, per scripted rule, breaks the answers the way real networks and registries do:
 * a connection cut after N body bytes, a body that stalls, 5xx and 429 answers (with `Retry-After`), a
 * body truncated cleanly, a flipped byte, a lying `Content-Length`, an oversized manifest, or a slow
 * (throttled) link. It counts requests and body bytes per path, the `Range` each request asked for, and
 * how many blob GETs were in flight at once, so tests can assert what was fetched again and how much.
 *
 * It speaks HTTP/1.1 itself over `Deno.listen` (one request per connection, `Connection: close`), because
 * lying about `Content-Length` or cutting a body at an exact byte is not possible through `Deno.serve`.
 * Anything that does not start like an HTTP request (tug's `https://` probe of a loopback registry sends a
 * TLS ClientHello first) is closed at once, so the client falls back to plain http immediately.
 *
 * ```ts ignore
 * await using proxy = await startFaultProxy({ upstream: registry.url });
 * proxy.addRule({ match: layer.digest, fault: { kind: "reset", afterBytes: 1 << 20 } });
 * await pull(`${proxy.host}/tug/large:v1`, { store });
 * proxy.requests(layer.digest); // two GETs: the second with Range: bytes=1048576-
 * ```
 *
 * @module
 */

/** What a rule does to the answer of a request it matches. */
export type Fault =
  /** Closes the connection after `afterBytes` body bytes (the client sees the body break). */
  | { kind: "reset"; afterBytes: number }
  /** Sends `afterBytes` body bytes, then nothing for `ms` (default: until the proxy stops), then closes. */
  | { kind: "stall"; afterBytes: number; ms?: number }
  /** Answers `status` without asking upstream, with `Retry-After` when given. */
  | { kind: "status"; status: number; retryAfter?: string; body?: string; contentType?: string }
  /** Ends the body cleanly after `afterBytes` bytes, with `Content-Length` saying so. */
  | { kind: "truncate"; afterBytes: number }
  /** XORs the body byte at `atByte` with 0xff. */
  | { kind: "flip"; atByte: number }
  /** Sends `Content-Length` off by `delta` from the real length (the body itself is unchanged). */
  | { kind: "content-length"; delta: number }
  /**
   * Answers a manifest of `bytes` bytes (padding inside a JSON object), with a true `Content-Length` when
   * `announce` is true, else close-delimited so only the reader's cap can stop it.
   */
  | { kind: "oversize"; bytes: number; announce?: boolean }
  /** Sends the body at `bytesPerSecond`. */
  | { kind: "throttle"; bytesPerSecond: number }
  /**
   * A hostile upstream's own answer, without asking the registry: `status` and `headers` as given (no
   * `Content-Length` unless `headers` has one, so the body is close-delimited), then `body` or, with
   * `fill`, that many bytes of `0x61` generated on the fly (a declared 3 GiB need not exist), at
   * `bytesPerSecond` when given, and after `stallAfter` bytes nothing more until the proxy stops (or
   * `stallMs` passed). Whatever the headers claim, exactly these bytes go out. `delayMs` holds the status
   * line back that long (an upstream that accepts the connection and says nothing).
   */
  | {
    kind: "answer";
    status: number;
    headers?: Record<string, string>;
    body?: Uint8Array;
    fill?: number;
    bytesPerSecond?: number;
    stallAfter?: number;
    stallMs?: number;
    delayMs?: number;
  };

/** What a rule's `match` function is given. */
export interface RequestInfo {
  readonly method: string;
  /** The request target without the query, e.g. `/v2/tug/large/blobs/sha256:…`. */
  readonly path: string;
  readonly headers: Headers;
}

/** A scripted fault. */
export interface FaultRule {
  /** Which requests: a substring of the path (a digest, `/manifests/`), a RegExp, or a predicate. */
  match: string | RegExp | ((request: RequestInfo) => boolean);
  /** Only this method (default: GET). */
  method?: string;
  /** The fault. */
  fault: Fault;
  /** How many matching requests it applies to (default 1: one-shot; `Infinity`: repeating). */
  times?: number;
  /** Let this many matching requests through unchanged first (default 0). */
  skip?: number;
}

/** A rule as added, with how often it fired. */
export interface ActiveRule extends FaultRule {
  /** Requests it changed so far. */
  readonly hits: number;
}

/** One request the proxy answered. */
export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  /** The `Range` header the client sent, if any. */
  readonly range?: string;
  /** The first byte the client asked for (0 without a `Range`). */
  readonly rangeStart: number;
  /** The status sent (0 when the connection broke before a status line). */
  status: number;
  /** Body bytes written to the client so far. */
  bytes: number;
  /** The fault applied, if any. */
  readonly fault?: Fault["kind"];
  /** Whether the answer is finished (sent, cut or abandoned). */
  done: boolean;
  /** When the request arrived (`performance.now()`). */
  readonly startedAt: number;
  /** When the answer finished (`performance.now()`), once `done`. */
  endedAt?: number;
}

/** Options for {@linkcode startFaultProxy}. */
export interface FaultProxyOptions {
  /** The real registry's base URL, e.g. `http://127.0.0.1:5000`. */
  upstream: string;
  /** Rules to start with. */
  rules?: FaultRule[];
}

/** A running fault proxy. */
export interface FaultProxy extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry part of an image reference that goes through the proxy. */
  readonly host: string;
  readonly port: number;
  /** Adds a rule; rules are tried in the order added, the first one still active wins. */
  addRule(rule: FaultRule): ActiveRule;
  /** Removes every rule. */
  clearRules(): void;
  /** Every request answered so far (or those whose path includes `pathPart`), oldest first. */
  requests(pathPart?: string): RequestRecord[];
  /** Body bytes sent for paths that include `pathPart`. */
  bytesServed(pathPart: string): number;
  /** The most blob GETs that were in flight at the same time since the last {@linkcode FaultProxy.reset}. */
  readonly maxConcurrentBlobGets: number;
  /** Forgets the request log and the concurrency maximum (rules stay). */
  reset(): void;
  /** Resolves when `predicate` holds (checked every 10 ms), rejects after `timeoutMs` (default 30 s). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Closes the listener and every open connection, and waits for the handlers to end. */
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "upgrade",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "trailer",
  "host",
  "content-length",
]);
const MAX_HEAD = 64 * 1024;
const encoder = new TextEncoder();

class MutableRule {
  hits = 0;
  seen = 0;
  constructor(readonly rule: FaultRule) {}
  matches(info: RequestInfo): boolean {
    const { match, method = "GET" } = this.rule;
    if (info.method !== method) return false;
    if (typeof match === "string") return info.path.includes(match);
    if (match instanceof RegExp) return match.test(info.path);
    return match(info);
  }
  /** Whether it applies to this (matching) request; counts it. */
  take(): boolean {
    this.seen++;
    if (this.seen <= (this.rule.skip ?? 0)) return false;
    if (this.hits >= (this.rule.times ?? 1)) return false;
    this.hits++;
    return true;
  }
}

function delay(ms: number, stopped: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    new Promise<void>((resolve) => timer = setTimeout(resolve, ms)),
    stopped,
  ]).finally(() => clearTimeout(timer));
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

/** Reads the request head (up to the blank line); undefined when it is not HTTP or the client went away. */
async function readHead(conn: Deno.Conn): Promise<{ head: string; rest: Uint8Array } | undefined> {
  const buffer = new Uint8Array(MAX_HEAD);
  let length = 0;
  while (length < MAX_HEAD) {
    const n = await conn.read(buffer.subarray(length));
    if (n === null) return undefined;
    // An HTTP request starts with a method token; anything else (a TLS ClientHello) is refused now.
    if (length === 0 && !(buffer[0] >= 0x41 && buffer[0] <= 0x5a)) return undefined;
    length += n;
    const text = new TextDecoder("latin1").decode(buffer.subarray(0, length));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return { head: text.slice(0, end), rest: buffer.slice(end + 4, length) };
  }
  return undefined;
}

function statusText(status: number): string {
  const texts: Record<number, string> = {
    200: "OK",
    206: "Partial Content",
    307: "Temporary Redirect",
    401: "Unauthorized",
    404: "Not Found",
    416: "Range Not Satisfiable",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
  };
  return texts[status] ?? "Status";
}

function headBytes(status: number, headers: Array<[string, string]>): Uint8Array {
  let text = `HTTP/1.1 ${status} ${statusText(status)}\r\n`;
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  text += "connection: close\r\n\r\n";
  return encoder.encode(text);
}

/**
 * Starts a fault proxy on 127.0.0.1 (a free port) in front of `options.upstream`.
 *
 * @example
 * ```ts ignore
 * await using proxy = await startFaultProxy({ upstream: registry.url });
 * proxy.addRule({ match: "/manifests/", fault: { kind: "status", status: 503 }, times: 2 });
 * ```
 */
export function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = options.upstream.replace(/\/+$/, "");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const rules: MutableRule[] = (options.rules ?? []).map((r) => new MutableRule(r));
  let log: RequestRecord[] = [];
  let blobGets = 0;
  let maxBlobGets = 0;
  const conns = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();
  let stopping = false;
  let signalStop!: () => void;
  const stopped = new Promise<void>((resolve) => signalStop = resolve);

  async function handle(conn: Deno.Conn): Promise<void> {
    let upstreamBody: ReadableStream<Uint8Array> | null = null;
    let record: RequestRecord | undefined;
    let isBlobGet = false;
    try {
      const request = await readHead(conn);
      if (!request) return;
      const [requestLine, ...headerLines] = request.head.split("\r\n");
      const [method, target] = requestLine.split(" ");
      const headers = new Headers();
      for (const line of headerLines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      const path = target.split("?")[0];
      const range = headers.get("range") ?? undefined;
      const rangeStart = range ? Number(/^bytes=(\d+)-/.exec(range)?.[1] ?? 0) : 0;
      const info: RequestInfo = { method, path, headers };
      const rule = rules.find((r) => r.matches(info) && r.take());
      const fault = rule?.rule.fault;
      record = {
        method,
        path,
        ...(range !== undefined ? { range } : {}),
        rangeStart,
        status: 0,
        bytes: 0,
        ...(fault ? { fault: fault.kind } : {}),
        done: false,
        startedAt: performance.now(),
      };
      log.push(record);
      isBlobGet = method === "GET" && path.includes("/blobs/");
      if (isBlobGet) {
        blobGets++;
        maxBlobGets = Math.max(maxBlobGets, blobGets);
      }

      if (fault?.kind === "status") {
        const body = encoder.encode(
          fault.body ??
            JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "fault injected by the test" }] }),
        );
        const out: Array<[string, string]> = [
          ["content-type", fault.contentType ?? "application/json"],
          ["content-length", String(body.length)],
        ];
        if (fault.retryAfter !== undefined) out.push(["retry-after", fault.retryAfter]);
        record.status = fault.status;
        await writeAll(conn, headBytes(fault.status, out));
        await writeAll(conn, body);
        record.bytes = body.length;
        return;
      }
      if (fault?.kind === "answer") {
        if (fault.delayMs !== undefined) await delay(fault.delayMs, stopped);
        if (stopping) return;
        record.status = fault.status;
        await writeAll(conn, headBytes(fault.status, Object.entries(fault.headers ?? {})));
        if (method === "HEAD") return;
        const total = fault.body?.length ?? fault.fill ?? 0;
        const filler = fault.body === undefined ? new Uint8Array(64 * 1024).fill(0x61) : undefined;
        const slice = fault.bytesPerSecond === undefined
          ? 64 * 1024
          : Math.max(1, Math.min(64 * 1024, Math.floor(fault.bytesPerSecond / 20)));
        const started = Date.now();
        let sent = 0;
        while (sent < total && !stopping) {
          if (fault.stallAfter !== undefined && sent >= fault.stallAfter) {
            await delay(fault.stallMs ?? 24 * 3600 * 1000, stopped);
            return;
          }
          let n = Math.min(slice, total - sent);
          if (fault.stallAfter !== undefined) n = Math.min(n, fault.stallAfter - sent);
          const part = fault.body !== undefined
            ? fault.body.subarray(sent, sent + n)
            : filler!.subarray(0, n);
          if (fault.bytesPerSecond !== undefined) {
            const due = started + (sent / fault.bytesPerSecond) * 1000 - Date.now();
            if (due > 0) await delay(due, stopped);
          }
          await writeAll(conn, part);
          sent += n;
          record.bytes = sent;
        }
        return;
      }
      if (fault?.kind === "oversize") {
        record.status = 200;
        const out: Array<[string, string]> = [["content-type", "application/vnd.oci.image.manifest.v1+json"]];
        if (fault.announce) out.push(["content-length", String(fault.bytes)]);
        await writeAll(conn, headBytes(200, out));
        const prefix = encoder.encode('{"schemaVersion":2,"padding":"');
        const chunk = new Uint8Array(64 * 1024).fill(0x61);
        let left = fault.bytes;
        await writeAll(conn, prefix);
        left -= prefix.length;
        record.bytes += prefix.length;
        while (left > 2 && !stopping) {
          const n = Math.min(chunk.length, left - 2);
          await writeAll(conn, chunk.subarray(0, n));
          left -= n;
          record.bytes += n;
        }
        await writeAll(conn, encoder.encode('"}'));
        record.bytes += 2;
        return;
      }

      // Forward to the real registry.
      const forward = new Headers();
      for (const [name, value] of headers) if (!HOP_BY_HOP.has(name)) forward.set(name, value);
      forward.set("accept-encoding", "identity");
      const body = request.rest.length > 0 || headers.has("content-length")
        ? await readBody(conn, request.rest, Number(headers.get("content-length") ?? 0))
        : undefined;
      const response = await fetch(`${upstream}${target}`, {
        method,
        headers: forward,
        redirect: "manual",
        ...(body ? { body } : {}),
      });
      upstreamBody = response.body;
      const out: Array<[string, string]> = [];
      for (const [name, value] of response.headers) if (!HOP_BY_HOP.has(name)) out.push([name, value]);
      const realLength = response.headers.get("content-length");
      let length = realLength === null ? undefined : Number(realLength);
      if (fault?.kind === "truncate" && length !== undefined) length = Math.min(length, fault.afterBytes);
      if (fault?.kind === "content-length" && length !== undefined) length += fault.delta;
      if (length !== undefined) out.push(["content-length", String(length)]);
      record.status = response.status;
      await writeAll(conn, headBytes(response.status, out));
      if (method === "HEAD" || upstreamBody === null) return;

      // Body bytes, faults applied at exact offsets.
      const started = Date.now();
      const rate = fault?.kind === "throttle" ? fault.bytesPerSecond : undefined;
      let sent = 0;
      const reader = upstreamBody.getReader();
      try {
        while (!stopping) {
          const { done, value } = await reader.read();
          if (done) break;
          let chunk = value;
          if (fault?.kind === "flip" && fault.atByte >= sent && fault.atByte < sent + chunk.length) {
            chunk = chunk.slice();
            chunk[fault.atByte - sent] ^= 0xff;
          }
          const limit = fault?.kind === "reset" || fault?.kind === "stall" || fault?.kind === "truncate"
            ? fault.afterBytes
            : undefined;
          if (limit !== undefined && sent + chunk.length >= limit) {
            const head = chunk.subarray(0, limit - sent);
            await writeAll(conn, head);
            sent += head.length;
            record.bytes = sent;
            if (fault?.kind === "stall") await delay(fault.ms ?? 24 * 3600 * 1000, stopped);
            return; // reset: cut here; truncate: the body ends here as announced; stall: cut after the wait
          }
          // Throttled bodies go out in slices so the rate holds within a fraction of a second.
          const slice = rate === undefined ? chunk.length : Math.max(1024, Math.floor(rate / 20));
          for (let i = 0; i < chunk.length && !stopping; i += slice) {
            const part = chunk.subarray(i, i + slice);
            if (rate !== undefined) {
              // Wait before a slice, never after the last one: the answer ends as soon as its bytes are out.
              const due = started + (sent / rate) * 1000 - Date.now();
              if (due > 0) await delay(due, stopped);
            }
            await writeAll(conn, part);
            sent += part.length;
            record.bytes = sent;
          }
          // The announced length is out: the answer is over for the client, whatever upstream does next.
          if (length !== undefined && sent >= length) break;
        }
      } finally {
        reader.releaseLock();
      }
    } catch {
      // The client went away (a cancelled body, a killed process): nothing to answer.
    } finally {
      if (record) {
        record.done = true;
        record.endedAt = performance.now();
      }
      if (isBlobGet) blobGets--;
      await upstreamBody?.cancel().catch(() => {});
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed by stop()
      }
    }
  }

  async function readBody(
    conn: Deno.Conn,
    rest: Uint8Array,
    length: number,
  ): Promise<Uint8Array<ArrayBuffer>> {
    const out = new Uint8Array(length);
    out.set(rest.subarray(0, length));
    let offset = Math.min(rest.length, length);
    while (offset < length) {
      const n = await conn.read(out.subarray(offset));
      if (n === null) break;
      offset += n;
    }
    return out;
  }

  const accepting = (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      const task = handle(conn);
      handlers.add(task);
      task.finally(() => handlers.delete(task));
    }
  })().catch(() => {});

  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    addRule(rule) {
      const mutable = new MutableRule(rule);
      rules.push(mutable);
      return Object.defineProperty({ ...rule }, "hits", { get: () => mutable.hits }) as ActiveRule;
    },
    clearRules() {
      rules.length = 0;
    },
    requests(pathPart) {
      return pathPart === undefined ? [...log] : log.filter((r) => r.path.includes(pathPart));
    },
    bytesServed(pathPart) {
      return log.filter((r) => r.path.includes(pathPart)).reduce((n, r) => n + r.bytes, 0);
    },
    get maxConcurrentBlobGets() {
      return maxBlobGets;
    },
    reset() {
      log = [];
      maxBlobGets = blobGets;
    },
    async waitFor(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`fault proxy: condition not met within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      signalStop();
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch {
          // closed meanwhile
        }
      }
      await accepting;
      await Promise.allSettled([...handlers]);
    },
    [Symbol.asyncDispose]() {
      return proxy.stop();
    },
  };
  return Promise.resolve(proxy);
}

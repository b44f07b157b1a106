/**
 * A small legacy v1 registry for the tests. No v1 registry is packaged anywhere any more (Docker's
 * docker-registry 0.9 Python server is long gone from distributions), so this one is written here from
 * the protocol description (Docker's registry v1 API docs and the requests moby's registry/session.go
 * makes): `/v1/_ping`, `/v1/repositories/NAME/images` with the `X-Docker-Token` dance,
 * `/v1/repositories/NAME/tags[/TAG]`, `/v1/images/ID/ancestry|json|layer`, `Range` on layers. Every
 * other path, `/v2/` included, answers 404, as a v1-only registry does.
 *
 * It can be told to fail in the ways tests need: require the token, break a layer body once after some
 * bytes (the client resumes with `Range`), ignore `Range`, or answer a path with a chosen status.
 *
 * @module
 */

import { gzipSync } from "npm:fflate@^0.8.3";
import { createTar, type TarEntry } from "./tar.ts";

/** One layer of a v1 image being built: its files and how its history describes it. */
export interface V1LayerSpec {
  /** Files of the layer. */
  entries: TarEntry[];
  /** The command that made the layer (`container_config.Cmd`). */
  cmd?: string[];
  /** Send the layer as a plain tar instead of gzip. */
  uncompressed?: boolean;
}

/** A v1 image chain as the server serves it. */
export interface V1Image {
  /** Image IDs, base first; the last one is the image. */
  ids: string[];
  /** The v1 JSON of each image, base first. */
  json: string[];
  /** The layer bytes of each image as sent, base first. */
  layers: Uint8Array[];
  /** The uncompressed tar of each layer, base first. */
  tars: Uint8Array[];
  /** The top image's ID. */
  readonly id: string;
}

/** Builds a v1 image chain: random IDs, each JSON naming its parent, the top one carrying `config`. */
export function buildV1Image(
  layers: V1LayerSpec[],
  options: { config?: Record<string, unknown>; architecture?: string; created?: string } = {},
): V1Image {
  const ids: string[] = [];
  const json: string[] = [];
  const bytes: Uint8Array[] = [];
  const tars: Uint8Array[] = [];
  layers.forEach((layer, i) => {
    const id = randomId();
    const tar = createTar(layer.entries);
    tars.push(tar);
    bytes.push(layer.uncompressed ? tar : gzipSync(tar, { level: 6 }));
    const doc: Record<string, unknown> = {
      id,
      ...(i > 0 ? { parent: ids[i - 1] } : {}),
      created: options.created ?? `2015-0${Math.min(i + 1, 9)}-01T00:00:00.000000001Z`,
      container_config: { Cmd: layer.cmd ?? ["/bin/sh", "-c", `#(nop) layer ${i + 1}`] },
      docker_version: "1.6.2",
      architecture: options.architecture ?? "amd64",
      os: "linux",
      Size: tar.length,
      ...(i === layers.length - 1 && options.config ? { config: options.config } : {}),
    };
    ids.push(id);
    json.push(JSON.stringify(doc));
  });
  return {
    ids,
    json,
    layers: bytes,
    tars,
    get id() {
      return ids[ids.length - 1];
    },
  };
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** How to start a {@linkcode startV1Server}. */
export interface V1ServerOptions {
  /** Repositories: path (e.g. `legacy/app`) → tag → image. */
  repositories: Record<string, Record<string, V1Image>>;
  /** Hand out a token on `/images` and require `Authorization: Token …` on image requests. */
  requireToken?: boolean;
  /** Also require Basic credentials on `/images` (user:password). */
  basic?: { username: string; password: string };
  /** Cut the body of each layer once, after this many bytes (tests resume). */
  breakLayersAfter?: number;
  /** Ignore `Range` on layers (answer 200 with everything). */
  ignoreRange?: boolean;
  /** Answer these paths with a status instead (e.g. `{ "/v1/_ping": 500 }`). */
  failPaths?: Record<string, number>;
  /** Send `X-Docker-Endpoints` with these hosts (default: none, so the client uses the index host). */
  endpoints?: string[];
}

/** A running v1 server. */
export interface V1Server extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** Every request: method, path, and the headers tests look at. */
  readonly requests: Array<{ path: string; authorization: string | null; range: string | null }>;
  /** Stops the listener. */
  stop(): Promise<void>;
}

/** Starts a v1 registry on 127.0.0.1 and a free port. Stop it (or `await using`) in the test. */
export function startV1Server(options: V1ServerOptions): V1Server {
  const token = `signature=${randomId().slice(0, 16)},repository="x",access=read`;
  const broken = new Set<string>();
  const requests: V1Server["requests"] = [];
  const images = new Map<string, { json: string; layer: Uint8Array; ancestry: string[] }>();
  for (const tags of Object.values(options.repositories)) {
    for (const image of Object.values(tags)) {
      image.ids.forEach((id, i) => {
        images.set(id, {
          json: image.json[i],
          layer: image.layers[i],
          ancestry: image.ids.slice(0, i + 1).reverse(),
        });
      });
    }
  }
  const json = (value: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(value), { headers: { "content-type": "application/json", ...headers } });
  const common = { "x-docker-registry-version": "0.9.1", "x-docker-registry-standalone": "true" };

  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    const path = url.pathname;
    const authorization = request.headers.get("authorization");
    requests.push({ path, authorization, range: request.headers.get("range") });
    const failure = options.failPaths?.[path];
    if (failure !== undefined) return new Response(`failing ${path}`, { status: failure });
    if (path === "/v1/_ping") return json(true, common);

    let m = /^\/v1\/repositories\/(.+)\/images$/.exec(path);
    if (m) {
      const repo = options.repositories[m[1]];
      if (!repo) return new Response("not found", { status: 404 });
      if (options.basic) {
        const expected = `Basic ${btoa(`${options.basic.username}:${options.basic.password}`)}`;
        if (authorization !== expected) return new Response("unauthorized", { status: 401 });
      }
      const headers: Record<string, string> = { ...common };
      if (request.headers.get("x-docker-token") === "true") headers["x-docker-token"] = token;
      if (options.endpoints) headers["x-docker-endpoints"] = options.endpoints.join(", ");
      const list = Object.values(repo).flatMap((image) => image.ids.map((id) => ({ id, checksum: "" })));
      return json(list, headers);
    }
    if (options.requireToken && authorization !== `Token ${token}`) {
      return new Response("token required", { status: 401 });
    }
    m = /^\/v1\/repositories\/(.+)\/tags(?:\/([^/]+))?$/.exec(path);
    if (m) {
      const repo = options.repositories[m[1]];
      if (!repo) return new Response("not found", { status: 404 });
      if (m[2] === undefined) {
        return json(Object.fromEntries(Object.entries(repo).map(([tag, image]) => [tag, image.id])));
      }
      const image = repo[m[2]];
      return image ? json(image.id) : new Response("tag not found", { status: 404 });
    }
    m = /^\/v1\/images\/([a-f0-9]{64})\/(ancestry|json|layer)$/.exec(path);
    const image = m ? images.get(m[1]) : undefined;
    if (!m || !image) return new Response("not found", { status: 404 });
    if (m[2] === "ancestry") return json(image.ancestry);
    if (m[2] === "json") {
      return new Response(image.json, {
        headers: { "content-type": "application/json", "x-docker-size": String(image.layer.length) },
      });
    }
    const whole = image.layer;
    const range = /^bytes=(\d+)-$/.exec(request.headers.get("range") ?? "");
    const start = range && !options.ignoreRange ? Number(range[1]) : 0;
    const body = whole.subarray(start);
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      ...(options.ignoreRange ? {} : { "accept-ranges": "bytes" }),
    };
    let status = 200;
    if (start > 0) {
      status = 206;
      headers["content-range"] = `bytes ${start}-${whole.length - 1}/${whole.length}`;
    }
    const cut = options.breakLayersAfter;
    const key = `${m[1]}:${start}`;
    if (cut !== undefined && start === 0 && !broken.has(key) && cut < body.length) {
      broken.add(key);
      // Send `cut` bytes, then break the connection.
      headers["content-length"] = String(body.length);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(body.slice(0, cut));
        },
        pull(controller) {
          controller.error(new Error("connection cut by the test server"));
        },
      });
      return new Response(stream, { status, headers });
    }
    return new Response(body.slice(), { status, headers });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const port = server.addr.port;
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= server.shutdown());
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

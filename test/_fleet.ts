/**
 * Set-up shared by the many-replicas tests: a fresh (cold) blob of random bytes in the shared registry,
 * served through a fault proxy that sends it slowly, so that every client of the fleet asks while it is
 * still being downloaded.
 *
 * @module
 */
import { buildImage, pushImage, sharedRegistry } from "./harness/mod.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";
import type { RegistryProcess } from "./harness/mod.ts";

/** A cold blob behind a slow upstream; disposing it stops the fault proxy. */
export interface ColdBlob extends AsyncDisposable {
  /** The real registry (its access log counts what reached it). */
  registry: RegistryProcess;
  /** The fault proxy in front of it: the upstream the replicas are given. */
  upstream: FaultProxy;
  /** The repository holding the blob. */
  repository: string;
  /** The blob (an image layer). */
  digest: string;
  size: number;
  /** `/v2/<repository>/blobs/<digest>`. */
  path: string;
}

let pushed = 0;

/** Pushes an image whose layer is `bytes` random bytes and serves that layer at `bytesPerSecond`. */
export async function coldBlob(bytes: number, bytesPerSecond: number): Promise<ColdBlob> {
  const { registry } = await sharedRegistry();
  const data = new Uint8Array(bytes);
  for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
  const image = await buildImage({
    format: "docker",
    layers: [{ gzipLevel: 1, entries: [{ path: "random.bin", content: data }] }],
  });
  const repository = `fleet/cold-${Date.now()}-${++pushed}`;
  await pushImage(registry, repository, image, "v1");
  const layer = image.layers[0];
  const upstream = await startFaultProxy({ upstream: registry.url });
  upstream.addRule({ match: layer.digest, fault: { kind: "throttle", bytesPerSecond }, times: Infinity });
  return {
    registry,
    upstream,
    repository,
    digest: layer.digest,
    size: layer.size,
    path: `/v2/${repository}/blobs/${layer.digest}`,
    [Symbol.asyncDispose]: () => upstream[Symbol.asyncDispose](),
  };
}

/** The SHA-256 digest of `data`. */
export async function sha256(data: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return "sha256:" + Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A counter's value in a proxy's `/metrics` text. */
export function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  if (line === undefined) throw new Error(`${name} is not in /metrics`);
  return Number(line.slice(name.length + 1));
}

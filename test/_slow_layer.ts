/**
 * Set-up shared by the tests that race or kill `tug pull` mid-layer: the shared registry's 64 MiB image
 * behind a fault proxy that serves its one layer slowly, and an empty store folder.
 *
 * @module
 */
import { type SeededImage, sharedRegistry } from "./harness/mod.ts";
import { type FaultProxy, startFaultProxy } from "./fault_proxy.ts";

/** What {@linkcode slowLargeLayer} set up; disposing it removes the folder, then stops the proxy. */
export interface SlowLargeLayer extends AsyncDisposable {
  proxy: FaultProxy;
  /** The empty store folder. */
  dir: string;
  /** The large image, as seeded. */
  image: SeededImage;
  /** Its layer, the one the proxy throttles. */
  layer: SeededImage["layers"][number];
  /** `host/repository:tag` through the proxy. */
  reference: string;
}

/** Serves the large image's layer through a fault proxy at `bytesPerSecond`, for as long as the test runs. */
export async function slowLargeLayer(bytesPerSecond: number, dirPrefix: string): Promise<SlowLargeLayer> {
  const { registry, images } = await sharedRegistry();
  const proxy = await startFaultProxy({ upstream: registry.url });
  let dir: string;
  try {
    dir = await Deno.makeTempDir({ prefix: dirPrefix });
  } catch (err) {
    await proxy[Symbol.asyncDispose]();
    throw err;
  }
  const image = images.large;
  const layer = image.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "throttle", bytesPerSecond }, times: Infinity });
  return {
    proxy,
    dir,
    image,
    layer,
    reference: `${proxy.host}/${image.repository}:${image.tag}`,
    async [Symbol.asyncDispose]() {
      try {
        await Deno.remove(dir, { recursive: true });
      } finally {
        await proxy[Symbol.asyncDispose]();
      }
    },
  };
}

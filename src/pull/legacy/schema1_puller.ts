// This module is browser compatible.
// The schema 1 branch of the v2 puller (moby distribution/pull_v2.go pullSchema1): check the canonical
// digest, validate the layer chain, download the layers that are not throwaway, hash them for their
// diffIDs, and store an OCI image converted from the v1 history. Used by the v2 puller; not in src/mod.ts.

import { TugError } from "../../errors.ts";
import { verifyManifestDigest } from "../../remote/verify_manifest_digest.ts";
import { wasmHasher } from "../../digest/wasm_hasher.ts";
import { parseSchema1Manifest } from "../../manifest/schema1.ts";
import type { Descriptor, ImageManifest } from "../../manifest/types.ts";
import type { Reference } from "../../reference/reference.ts";
import { referenceKey } from "../../reference/reference_key.ts";
import { shortId } from "../download_manager.ts";
import type { PullOutcome, PullSession } from "../types.ts";
import { digestEvent, layerEvent, messageEvent, pullingFromEvent, statusEvent } from "../events.ts";
import { buildLegacyImage, hashLayer, layerMediaType, type LegacyEntry } from "./_legacy_image.ts";
import { putSmallBlob } from "../_small_blob.ts";

/** Pulls an image whose manifest came back as schema 1; `top` is the manifest as fetched. */
export async function pullSchema1(
  session: PullSession,
  ref: Reference,
  top: { bytes: Uint8Array; contentType: string; digestHeader?: string },
): Promise<PullOutcome> {
  const { client, downloads, signal, store, onProgress } = session;
  const hasher = session.hasher ?? wasmHasher;
  const manifest = parseSchema1Manifest(top.bytes, { source: ref.familiar });
  onProgress(pullingFromEvent(ref.digest ?? ref.tag!, ref.path));
  // The digest is over the signed payload (distribution's schema1 digest, pull_v2.go verifySchema1Manifest),
  // checked by src/remote's one verified read, as every other manifest: against the digest asked for, else
  // against the registry's Docker-Content-Digest, before anything else is trusted.
  const digest = await verifyManifestDigest(manifest.canonical, {
    expected: ref.digest,
    digestHeader: top.digestHeader,
    name: ref.digest === undefined ? ref.familiar : `${ref.name}@${ref.digest}`,
  });
  onProgress(messageEvent(
    `[DEPRECATION NOTICE] registry v2 schema1 support will be removed in an upcoming release. ` +
      `Please contact admins of the ${ref.domain} registry NOW to avoid future disruption. ` +
      `More information at https://docs.docker.com/registry/spec/deprecated-schema-v1/`,
  ));
  const previous = await store.references.get(referenceKey(ref));

  // Sizes are not in a schema 1 manifest: take them from the store, else from the blob's Content-Length.
  const wanted = [...new Set(manifest.layers.filter((l) => !l.throwaway).map((l) => l.blobSum))];
  const sizes = new Map<string, number>();
  const present = new Set<string>();
  for (const blobSum of wanted) {
    const stat = await store.blobs.stat(blobSum);
    if (stat) {
      sizes.set(blobSum, stat.size);
      present.add(blobSum);
    }
  }
  for (const blobSum of wanted) {
    onProgress(
      layerEvent(shortId(blobSum), present.has(blobSum) ? "Already exists" : "Pulling fs layer", {
        digest: blobSum,
      }),
    );
  }
  await Promise.all(
    wanted.filter((d) => !present.has(d)).map(async (blobSum) => {
      const opened = await client.getBlob(blobSum, { signal });
      await opened.body.cancel().catch(() => {});
      if (opened.size === undefined) {
        throw new TugError(
          "UNEXPECTED_STATUS",
          `Cannot fetch blob "${client.host}/${client.repository}@${blobSum}": the registry sent no Content-Length, ` +
            `and a schema 1 manifest does not give the size`,
        );
      }
      sizes.set(blobSum, opened.size);
    }),
  );
  const outcomes = await Promise.all(
    wanted.map((blobSum) =>
      present.has(blobSum) ? "exists" as const : downloads.download(
        client,
        store.blobs,
        { mediaType: layerMediaType(true), digest: blobSum, size: sizes.get(blobSum)! },
        { signal, onProgress },
      )
    ),
  );
  // diffIDs from the verified, stored bytes.
  const facts = new Map<string, { diffId: string; gzip: boolean }>();
  for (const blobSum of wanted) {
    const hashed = await hashLayer(await store.blobs.get(blobSum), hasher, `layer ${blobSum}`, signal);
    facts.set(blobSum, hashed);
  }
  wanted.forEach((blobSum, i) => {
    if (outcomes[i] === "downloaded") {
      onProgress(layerEvent(shortId(blobSum), "Pull complete", { digest: blobSum }));
    }
  });

  const entries: LegacyEntry[] = manifest.layers.map((layer) => {
    if (layer.throwaway) return { v1Json: layer.v1Compatibility };
    const fact = facts.get(layer.blobSum)!;
    const descriptor: Descriptor = {
      mediaType: layerMediaType(fact.gzip),
      digest: layer.blobSum,
      size: sizes.get(layer.blobSum)!,
    };
    return { v1Json: layer.v1Compatibility, layer: { descriptor, diffId: fact.diffId } };
  });
  const image = await buildLegacyImage(entries, manifest.architecture);

  // Commit: blobs are in; the config, the manifest, then the references.
  let downloaded = outcomes.includes("downloaded");
  downloaded = (await putSmallBlob(store, image.config, image.configBytes)) || downloaded;
  downloaded = (await putSmallBlob(store, image.manifest, image.manifestBytes)) || downloaded;
  const names = [referenceKey(ref)];
  if (ref.tag !== undefined) names.push(`${ref.name}@${image.manifest.digest}`);
  for (const name of names) await store.references.set(name, image.manifest);

  const upToDate = !downloaded && previous?.digest === image.manifest.digest;
  const status = upToDate
    ? `Image is up to date for ${ref.familiar}`
    : `Downloaded newer image for ${ref.familiar}`;
  onProgress(digestEvent(digest));
  onProgress(statusEvent(status));
  const converted = JSON.parse(new TextDecoder().decode(image.manifestBytes)) as ImageManifest;
  return {
    reference: ref.toString(),
    familiar: ref.familiar,
    digest,
    status,
    downloaded: !upToDate,
    images: [{ descriptor: image.manifest, manifest: converted }],
  };
}

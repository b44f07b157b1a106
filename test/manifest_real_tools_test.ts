// parseManifest(), parseImageConfig() and selectManifest() against documents written by real tools: an OCI
// layout built by umoci, pushed by skopeo to a real docker-registry (distribution) in OCI and Docker
// schema 2 formats, and read back over HTTP with the registry's own Content-Type.
import { assert, assertEquals } from "./_assert.ts";
import {
  checkImageConfigMediaType,
  MANIFEST_ACCEPT,
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  selectManifest,
} from "../src/manifest/mod.ts";
import { startRegistry } from "./harness/mod.ts";

async function run(cmd: string, args: string[], cwd?: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function readBlob(layout: string, digest: string): Promise<Uint8Array> {
  return await Deno.readFile(`${layout}/blobs/${digest.replace(":", "/")}`);
}

Deno.test("parseManifest() and parseImageConfig() read umoci's layout and a real registry's answers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tug-manifest-" });
  const layout = `${dir}/layout`;
  try {
    // 1. An OCI layout from umoci: one arm64 image with one layer.
    await Deno.writeTextFile(`${dir}/hello.txt`, "hello\n");
    await run("umoci", ["init", "--layout", layout]);
    await run("umoci", ["new", "--image", `${layout}:t`]);
    await run("umoci", ["config", "--image", `${layout}:t`, "--architecture", "arm64", "--os", "linux"]);
    await run("umoci", ["insert", "--rootless", "--image", `${layout}:t`, `${dir}/hello.txt`, "/hello.txt"]);

    // umoci's index.json has no mediaType: the structure decides.
    const layoutIndex = parseManifest(await Deno.readFile(`${layout}/index.json`), { source: "index.json" });
    assert(layoutIndex.kind === "index");
    assertEquals(layoutIndex.mediaType, MEDIA_TYPE_OCI_INDEX);
    const entry = layoutIndex.index.manifests[0];
    const local = parseManifest(await readBlob(layout, entry.digest), { contentType: entry.mediaType });
    assert(local.kind === "manifest");
    assertEquals(local.manifest.layers.length, 1);
    const localConfig = parseImageConfig(await readBlob(layout, local.manifest.config.digest));
    assertEquals([localConfig.os, localConfig.architecture], ["linux", "arm64"]);
    assertEquals(localConfig.rootfs.diff_ids.length, 1);

    // 2. A real registry on loopback, no auth (the harness binds it and retries a port taken meanwhile).
    await using registry = await startRegistry();
    const base = registry.url;

    // 3. skopeo pushes the image as OCI and as Docker schema 2.
    const skopeo = (format: string, repo: string) =>
      run("skopeo", [
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--format",
        format,
        `oci:${layout}:t`,
        `docker://${registry.host}/${repo}:1`,
      ]);
    await skopeo("oci", "test/oci");
    await skopeo("v2s2", "test/docker");

    const pushed: Record<string, { digest: string; size: number }> = {};
    for (
      const [repo, manifestType, configType] of [
        ["test/oci", MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_OCI_CONFIG],
        ["test/docker", MEDIA_TYPE_DOCKER_MANIFEST, MEDIA_TYPE_DOCKER_CONFIG],
      ]
    ) {
      const res = await fetch(`${base}/v2/${repo}/manifests/1`, {
        headers: { Accept: MANIFEST_ACCEPT.join(", ") },
      });
      assertEquals(res.status, 200, repo);
      const contentType = res.headers.get("content-type") ?? undefined;
      const bytes = new Uint8Array(await res.arrayBuffer());
      const parsed = parseManifest(bytes, { contentType, source: repo });
      assert(parsed.kind === "manifest", repo);
      assertEquals(parsed.mediaType, manifestType, repo);
      assertEquals(parsed.manifest.config.mediaType, configType, repo);
      checkImageConfigMediaType(parsed.manifest.config);
      pushed[repo] = { digest: res.headers.get("docker-content-digest")!, size: bytes.byteLength };

      const blob = await fetch(`${base}/v2/${repo}/blobs/${parsed.manifest.config.digest}`);
      const config = parseImageConfig(new Uint8Array(await blob.arrayBuffer()), { source: repo });
      assertEquals(config.architecture, "arm64", repo);
      assertEquals(config.rootfs.diff_ids.length, parsed.manifest.layers.length, repo);
    }

    // 4. An OCI index over both, stored by the registry and read back: selection by platform.
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: [
        {
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          ...pushed["test/oci"],
          platform: { os: "linux", architecture: "arm64", variant: "v8" },
        },
        {
          mediaType: MEDIA_TYPE_OCI_MANIFEST,
          ...pushed["test/oci"],
          platform: { os: "unknown", architecture: "unknown" },
        },
      ],
    };
    // The index must live in the repository that holds the manifests it names.
    const put = await fetch(`${base}/v2/test/oci/manifests/multi`, {
      method: "PUT",
      headers: { "Content-Type": MEDIA_TYPE_OCI_INDEX },
      body: JSON.stringify(index),
    });
    await put.body?.cancel();
    assertEquals(put.status, 201);
    const res = await fetch(`${base}/v2/test/oci/manifests/multi`, {
      headers: { Accept: MANIFEST_ACCEPT.join(", ") },
    });
    const parsed = parseManifest(new Uint8Array(await res.arrayBuffer()), {
      contentType: res.headers.get("content-type") ?? undefined,
    });
    assert(parsed.kind === "index");
    assertEquals(
      selectManifest(parsed.index, parsePlatform("linux/arm64")).digest,
      pushed["test/oci"].digest,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

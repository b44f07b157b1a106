// `tug pull`'s progress lines and layer retries compared with `docker pull` (Docker 1.13's docker/cli
// image pull, moby distribution/pull_v2.go and distribution/xfer/download.go), as a real subprocess
// against the harness's real registry.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { seedImages, sharedRegistry } from "./harness/mod.ts";
import { startFaultProxy } from "./fault_proxy.ts";
import { runTug, tempDir } from "./_cli.ts";

Deno.test("tug pull NAME without a tag says Using default tag: latest, then Pulling from library/NAME (Docker Hub through a mirror)", async () => {
  const { registry } = await sharedRegistry();
  // Docker Hub's official images live under library/; the mirror serves docker.io/library/small:latest.
  const seeded = await seedImages(registry, { namespace: "library", tag: "latest", only: ["small"] });
  const image = seeded.small;
  await using tmp = await tempDir();
  const run = await runTug(["pull", "--registry-mirror", registry.url, "--store", tmp.dir, "small"]);
  assertEquals(run.code, 0, run.stderr);
  const lines = run.stdout.trimEnd().split("\n");
  assertEquals(lines.slice(0, 2), ["Using default tag: latest", "latest: Pulling from library/small"]);
  assertEquals(lines.slice(-3), [
    `Digest: ${image.manifestDigest}`,
    "Status: Downloaded newer image for small:latest",
    "docker.io/library/small:latest",
  ]);
  // With a tag, a digest, -q or --json the line is not printed (docker/cli prints it for a bare name, not
  // with -q; the Engine's JSON stream never carries it).
  for (const args of [["small:latest"], ["-q", "small"], ["--json", "small"]]) {
    const again = await runTug(["pull", "--registry-mirror", registry.url, "--store", tmp.dir, ...args]);
    assertEquals(again.code, 0, again.stderr);
    assert(!again.stdout.includes("Using default tag"), `${args.join(" ")}: ${again.stdout}`);
  }
});

Deno.test("tug pull --json ends a failed pull with Docker Engine's errorDetail line", async () => {
  const { registry } = await sharedRegistry();
  await using tmp = await tempDir();
  const missing = `${registry.host}/tug/small:nope`;
  const run = await runTug(["pull", "--json", "--store", tmp.dir, missing]);
  assertEquals(run.code, 1);
  const message = `manifest for ${missing} not found`;
  assertEquals(run.stderr, `Error: ${message}\n`);
  assertEquals(
    run.stdout.split("\r\n").filter((l) => l !== "").at(-1),
    JSON.stringify({ errorDetail: { message }, error: message }),
  );
});

Deno.test("tug pull --max-download-attempts 1 fails at the first refused layer with an error naming the blob", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = await startFaultProxy({ upstream: registry.url });
  const image = images.small;
  const layer = image.layers[0];
  proxy.addRule({ match: layer.digest, fault: { kind: "status", status: 503 }, times: Infinity });
  await using tmp = await tempDir();
  const reference = `${proxy.host}/${image.repository}:${image.tag}`;
  const run = await runTug(["pull", "--max-download-attempts", "1", "--store", tmp.dir, reference]);
  assertEquals(run.code, 1);
  assertStringIncludes(run.stderr, `Cannot download blob ${layer.digest}: `);
  assertStringIncludes(run.stderr, "(gave up after 1 attempt,");
  assertEquals(proxy.requests(layer.digest).length, 1);
  assert(!run.stdout.includes("Retrying in"), run.stdout);
  const bad = await runTug(["pull", "--max-download-attempts", "0", "--store", tmp.dir, reference]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, '--max-download-attempts must be a positive integer, got "0"');
});

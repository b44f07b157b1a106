// `tug verify` as a command: exit codes, the human report, --repair, then a re-pull that heals the store.
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { pull } from "../src/pull/pull.ts";
import { OciLayoutStore } from "../adapters/fs/oci_layout_store.ts";
import { nodeHasher } from "../adapters/crypto/node_hasher.ts";

const MAIN = new URL("../adapters/cli/main.ts", import.meta.url).pathname;

async function tug(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", MAIN, ...args],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("tug verify exits 1 on a corrupt blob, --repair removes it, and a new pull makes the store sound (exit 0)", async () => {
  const { images } = await sharedRegistry();
  const dir = await Deno.makeTempDir({ prefix: "tug-verify-cli-" });
  try {
    const image = images.small;
    await pull(image.reference, {
      store: await OciLayoutStore.open(dir, { fsync: false }),
      hasher: nodeHasher,
    });
    const sound = await tug(["verify", "--store", dir]);
    assertEquals(sound.code, 0, sound.stderr);
    assertStringIncludes(sound.stdout, "The store is sound.");

    const layer = image.layers[0];
    const path = `${dir}/blobs/${layer.digest.replace(":", "/")}`;
    const bytes = await Deno.readFile(path);
    bytes[0] ^= 0xff;
    await Deno.writeFile(path, bytes);

    const broken = await tug(["verify", "--store", dir]);
    assertEquals(broken.code, 1);
    assertStringIncludes(broken.stdout, `corrupt: ${layer.digest}: its content hashes to sha256:`);
    assertStringIncludes(
      broken.stdout,
      `missing: ${layer.digest} (listed by ${image.manifestDigest}): it is corrupt`,
    );
    assertStringIncludes(broken.stdout, "The store is NOT sound: 2 problems.");

    const repaired = await tug(["verify", "--store", dir, "--repair", "--json"]);
    assertEquals(repaired.code, 1, "the layer is gone: the image must be pulled again");
    const report = JSON.parse(repaired.stdout);
    assertEquals(report.removedBlobs, [layer.digest]);
    assertEquals(report.missing.map((m: { reason: string }) => m.reason), [
      "it was corrupt and has been removed",
    ]);

    const again = await tug(["pull", "--store", dir, "--quiet", image.reference]);
    assertEquals(again.code, 0, again.stderr);
    const healed = await tug(["verify", "--store", dir]);
    assertEquals(healed.code, 0, healed.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tug verify refuses arguments and explains itself with --help", async () => {
  const help = await tug(["verify", "--help"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.stdout, "Usage: tug verify [OPTIONS]");
  const bad = await tug(["verify", "extra"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(
    bad.stderr,
    "tug: 'tug verify' accepts no arguments\n\nUsage:  tug verify [OPTIONS]\n",
  );
});

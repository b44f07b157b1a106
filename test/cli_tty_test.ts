// `tug pull` on a real pseudo-terminal (util-linux `script`): Docker's live per-layer bars, redrawn in place.
// A small throttling proxy in front of the registry makes the 64 MiB layer take a few seconds, so the bars
// have time to move; the captured terminal output is kept in test/artifacts/ to look at.
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { sharedRegistry } from "./harness/mod.ts";
import { MAIN, openStore, tempDir, throttlingProxy } from "./_cli.ts";

/** Bytes per second the proxy lets through. */
const RATE = 24 * 1024 * 1024;

Deno.test("tug pull on a terminal redraws one live Downloading bar per layer in place", async () => {
  const { registry, images } = await sharedRegistry();
  await using proxy = throttlingProxy(registry.url, RATE);
  await using tmp = await tempDir();
  const reference = images.large.reference.replace(registry.host, `127.0.0.1:${proxy.addr.port}`);
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const command = [Deno.execPath(), "run", "-A", MAIN, "pull", "--store", tmp.dir, reference].map(quote).join(
    " ",
  );
  // The pseudo-terminal gets a size, as a real terminal window has one.
  const out = await new Deno.Command("script", {
    args: ["-qfec", `stty cols 120 rows 40; ${command}`, "/dev/null"],
    env: { DOCKER_CONFIG: "/nonexistent/tug-test-docker-config", TUG_CONFIG: "/nonexistent/tug-config.json" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  await Deno.mkdir(new URL("./artifacts/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(new URL("./artifacts/cli_pull_tty_large.txt", import.meta.url), text);
  assertEquals(out.code, 0, `${text}\n${new TextDecoder().decode(out.stderr)}`);

  const layer = images.large.layers[0];
  const id = layer.digest.slice(7, 19);
  // Every frame moves the cursor back up over the lines it drew, then clears and rewrites each line.
  assertStringIncludes(text, "\x1b[1A");
  assertStringIncludes(text, "\x1b[2K");
  const frames = new Set<string>();
  const bar = new RegExp(`${id}: Downloading \\[([=> ]{51})\\] +([0-9.]+[kMG]?B)/([0-9.]+[kMG]?B)`, "g");
  for (const m of text.matchAll(bar)) frames.add(`${m[1]} ${m[2]}`);
  assert(
    frames.size >= 5,
    `expected several distinct bar frames, got ${frames.size}: ${[...frames].join(" | ")}`,
  );
  // The frames advance: sizes grow from the first frame to the last.
  const sizes = [...frames].map((f) => f.split(" ").at(-1)!);
  assert(sizes[0] !== sizes.at(-1), sizes.join(", "));
  // Redraws are throttled (at most 10 a second), not one per chunk.
  const redraws = text.split("\x1b[1A").length - 1;
  assert(redraws < 200, `${redraws} cursor-up sequences`);
  assertStringIncludes(text, `${id}: Pull complete`);
  assertStringIncludes(text, `Status: Downloaded newer image for ${reference}`);
  const store = await openStore(tmp.dir);
  assertEquals((await store.references.get(reference))?.digest, images.large.manifestDigest);
  assertEquals((await store.blobs.stat(layer.digest))?.size, layer.size);
});

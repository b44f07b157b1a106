/**
 * Runs one tier of tug's tests: `deno run -A test/tiers.ts unit|integration|browser|load [deno test flags]`.
 *
 * - **unit**: the `*_test.ts` files beside the code (src/, adapters/, web/) that start no external process;
 *   with `--doc`, the JSDoc examples of those folders are type-checked too.
 * - **integration**: test/ (real docker-registry, skopeo, umoci, podman, Node), plus the tests beside the
 *   code that do start a process (tar, zstd, node, a registry).
 * - **browser**: the Chromium tests (test/browser_*, test/web_*).
 * - **load**: the proxy load and fill-window tests.
 *
 * `deno task test` (the README's command) runs all of them in one `deno test`. A file is in exactly one tier;
 * whether a file beside the code is a unit test is read from the file itself, so a test that starts to spawn
 * a process moves to the integration tier by itself.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url);
const SPAWNS = /\bDeno\.Command\b|\bsharedRegistry\(|\bstartRegistry\(|\bwithChromium\(/;
const LOAD = new Set(["test/fault_proxy_load_test.ts", "test/proxy_fill_window_test.ts"]);
const TIERS = ["unit", "integration", "browser", "load"] as const;
export type Tier = typeof TIERS[number];

async function* testFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "node_modules" && entry.name !== "fixtures") {
      yield* testFiles(path);
    } else if (entry.isFile && entry.name.endsWith("_test.ts")) yield path;
  }
}

/** The tier a test file belongs to. */
export async function tierOf(path: string): Promise<Tier> {
  if (LOAD.has(path)) return "load";
  if (/^test\/(browser|web)_[^/]*_test\.ts$/.test(path)) return "browser";
  if (path.startsWith("test/")) return "integration";
  const text = await Deno.readTextFile(new URL(path, ROOT));
  return SPAWNS.test(text) ? "integration" : "unit";
}

/** Every test file of `tier`, sorted. */
export async function filesOf(tier: Tier): Promise<string[]> {
  const out: string[] = [];
  for (const dir of ["src", "adapters", "web", "test"]) {
    for await (const path of testFiles(dir)) if (await tierOf(path) === tier) out.push(path);
  }
  return out.sort();
}

if (import.meta.main) {
  const [tier, ...flags] = Deno.args;
  if (!TIERS.includes(tier as Tier)) {
    console.error(`usage: deno run -A test/tiers.ts ${TIERS.join("|")} [deno test flags]`);
    Deno.exit(2);
  }
  // The unit tier runs from the repository root with everything else ignored, so that `--doc` also checks
  // and runs the JSDoc examples of every module beside the tests (as `deno task test` does).
  const targets = tier === "unit"
    ? [
      `--ignore=${
        [
          "test/",
          "bench/",
          "dist/",
          "node_modules/",
          ...(await filesOf("integration")).filter((f) => !f.startsWith("test/")),
        ]
          .join(",")
      }`,
      ".",
    ]
    : await filesOf(tier as Tier);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...flags, ...targets],
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  Deno.exit(code);
}

// What `tug serve` loads before it answers its first request: every module it imports statically stays in
// the long-running process's memory (idle RSS 63.6 → 59.9 MiB when the other commands, the S3 store, Node's
// server, the puller and the page were made load-on-use; docs/performance.md, "Proxy memory"). This checks
// the module graph (`deno info --json`), not the RSS, so it cannot flake: no module from the list below may
// be reachable from the entry point through static imports. The second test guards the V8 flags of
// `deno task serve` (the other half of that memory work): this Deno must accept them, and they must not take
// a language feature away.
import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);

/** Loaded only when used: by another command, an s3:// store, Node, a first pull through the proxy, `/`. */
const ON_USE: { pattern: RegExp; why: string }[] = [
  {
    pattern:
      /^adapters\/cli\/commands\/(pull|images|inspect|verify|unpack|save|rmi|prune|image|login|logout)\.ts$/,
    why: "another command",
  },
  { pattern: /^adapters\/cli\/progress\//, why: "the pull progress display" },
  { pattern: /^adapters\/s3\/|^adapters\/r2\/|^src\/store\/object_|^npm:aws4fetch/, why: "the S3 store" },
  { pattern: /^adapters\/cli\/commands\/_bucket_(cache|check)\.ts$/, why: "the S3 store" },
  { pattern: /^adapters\/serve\/node\.ts$|^npm:@hono\/node-server/, why: "Node's HTTP server" },
  { pattern: /^src\/pull\/pull\.ts$|^src\/pull\/(v2|legacy\/v1)_puller\.ts$/, why: "the puller" },
  { pattern: /^src\/image\/decompress_layer\.ts$|^npm:(fflate|fzstd|hash-wasm)/, why: "layer decompression" },
  { pattern: /^web\/|^npm:esbuild/, why: "the page builder" },
  { pattern: /^adapters\/serve\/with_web_page\.ts$/, why: "the page (not with --no-web)" },
  { pattern: /^adapters\/fs\/(verify_store|resolve_image|docker_config)\.ts$/, why: "another command" },
];

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string; span: { start: { line: number; character: number } } };
    isDynamic?: boolean;
  }[];
}

/** The modules reachable from `roots` through static imports (no `import()`), as repository paths. */
async function staticGraph(roots: string[]): Promise<Set<string>> {
  const modules = new Map<string, InfoModule>();
  for (const root of roots) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-config", root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`deno info ${root}: ${new TextDecoder().decode(out.stderr)}`);
    for (const m of JSON.parse(new TextDecoder().decode(out.stdout)).modules as InfoModule[]) {
      modules.set(m.specifier, m);
    }
  }
  const sources = new Map<string, string[]>();
  const lines = async (specifier: string) => {
    if (!sources.has(specifier)) {
      sources.set(specifier, (await Deno.readTextFile(new URL(specifier))).split("\n"));
    }
    return sources.get(specifier)!;
  };
  const seen = new Set<string>();
  const todo = roots.map((r) => new URL(r, ROOT).href);
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    const module = modules.get(specifier);
    if (module === undefined || !specifier.startsWith("file:")) continue;
    for (const dep of module.dependencies ?? []) {
      if (dep.code === undefined || dep.isDynamic) continue;
      // `deno info` merges a module's `import type` and `import()` of the same file into one entry without
      // `isDynamic`; the code span then points at the import() call.
      const { line, character } = dep.code.span.start;
      if (/import\(\s*$/.test((await lines(specifier))[line].slice(0, character))) continue;
      todo.push(dep.code.specifier);
    }
  }
  const rel = ROOT.href;
  return new Set([...seen].map((s) => s.startsWith(rel) ? s.slice(rel.length) : s));
}

Deno.test("tug serve loads no other command, S3 store, Node server, puller or page builder at start", async () => {
  // cli.ts imports commands/serve.ts through a computed path (so `tug pull` never fetches Hono): the start
  // graph is main.ts's and serve.ts's together.
  const graph = await staticGraph(["adapters/cli/main.ts", "adapters/cli/commands/serve.ts"]);
  // The graph is the real one: the proxy and the folder store are in it.
  for (
    const needed of ["src/proxy/create_proxy.ts", "adapters/fs/oci_layout_store.ts", "adapters/serve/deno.ts"]
  ) {
    if (!graph.has(needed)) {
      throw new Error(`expected ${needed} in tug serve's start graph: ${[...graph].join(" ")}`);
    }
  }
  const loaded = [...graph].flatMap((path) => {
    const hit = ON_USE.find((o) => o.pattern.test(path));
    return hit ? [`${path} (${hit.why})`] : [];
  });
  assertEquals(loaded, []);
});

/**
 * Node modules `tug serve` must not load at start on Deno, beyond what node:crypto (its hasher) brings: each
 * sets up more of Deno's Node layer, which stays in the process. Measured with the `serve` task's flags (a
 * `Deno.serve` with Hono and node:crypto at 43 MiB): node:fs/promises +2.4 MiB, while node:process, node:path,
 * node:os and node:timers add nothing more. The folder store's hot path uses `Deno.*` on Deno
 * (adapters/fs/_file_ops.ts) and the page module loads node:zlib when it first compresses.
 */
const HEAVY_NODE =
  /^node:(fs|fs\/promises|zlib|stream|stream\/.*|http|https|http2|net|tls|child_process|worker_threads)$/;

Deno.test("tug serve loads no node:fs, node:zlib or other heavy node module at start on Deno (the page module included)", async () => {
  // with_web_page.ts is loaded at start unless --no-web.
  const graph = await staticGraph([
    "adapters/cli/main.ts",
    "adapters/cli/commands/serve.ts",
    "adapters/serve/with_web_page.ts",
  ]);
  assertEquals([...graph].filter((s) => HEAVY_NODE.test(s)), []);
});

/** The `deno run` flags of deno.json's `serve` task (`deno task serve`, how the docs start the proxy). */
async function serveTaskFlags(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))) as {
    tasks: Record<string, string>;
  };
  const words = config.tasks.serve.split(/\s+/);
  const run = words.indexOf("run");
  const main = words.indexOf("adapters/cli/main.ts");
  if (words[0] !== "deno" || run < 0 || main < run || words[main + 1] !== "serve") {
    throw new Error(
      `deno.json's serve task is not "deno run … adapters/cli/main.ts serve": ${config.tasks.serve}`,
    );
  }
  return words.slice(run + 1, main);
}

Deno.test("deno task serve: this Deno accepts its V8 flags, and they leave WebAssembly in the process", async () => {
  const flags = await serveTaskFlags();
  // Deno refuses to start on a V8 flag it does not know: a renamed flag would stop every `deno task serve`.
  const help = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "adapters/cli/main.ts", "serve", "--help"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals({ code: help.code, stderr: new TextDecoder().decode(help.stderr) }, { code: 0, stderr: "" });
  if (!new TextDecoder().decode(help.stdout).startsWith("Usage: tug serve")) {
    throw new Error(`tug serve --help printed: ${new TextDecoder().decode(help.stdout)}`);
  }
  // `--jitless` (and `--lite-mode`, which implies it) would save memory but remove WebAssembly, which the
  // library's hash-wasm hasher needs: flags may trade speed for memory, never a language feature.
  const probe = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = probe.stdin.getWriter();
  await writer.write(new TextEncoder().encode("console.log(typeof WebAssembly?.compile);\n"));
  await writer.close();
  const out = await probe.output();
  assertEquals({
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr),
  }, {
    stdout: "function",
    stderr: "",
  });
});

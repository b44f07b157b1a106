/**
 * Builds the `tug` command as one self-contained binary for this platform with Node's single executable
 * applications (SEA, https://nodejs.org/docs/latest-v20.x/api/single-executable-applications.html): the
 * CommonJS bundle of main_sea.ts goes, as a blob, into a copy of the `node` binary (postject, from npm),
 * which then runs it instead of Node's own command line. The binary needs neither Node nor node_modules.
 *
 * Run: `deno task compile:node` → `dist/tug`; an argument names another output file (tests build into a
 * temporary folder): `deno run -A adapters/cli/build_sea.ts /tmp/x/tug`. `NODE` names the Node 20+ binary
 * to copy (default: `node` on PATH). Unlike `deno task compile`, which downloads Deno's `denort` runtime
 * from dl.deno.land, this needs no network beyond the npm registry (esbuild, postject), and none once they
 * are cached.
 *
 * @module
 */
import process from "node:process";
import { Buffer } from "node:buffer";
import { basename, dirname, resolve } from "node:path";
import { inject } from "npm:postject@1.0.0-alpha.6";
import { bundleCli } from "./build_node.ts";

/** The fuse Node's SEA support looks for (Node's docs: the `--sentinel-fuse` of postject). */
const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

/** What `node` says about itself. */
interface NodeInfo {
  execPath: string;
  version: string;
  sea: boolean;
  shared: boolean;
}

async function nodeInfo(node: string): Promise<NodeInfo> {
  const script = "console.log(JSON.stringify({execPath: process.execPath, version: process.version, " +
    "sea: !!process.config.variables.single_executable_application, " +
    "shared: !!process.config.variables.node_shared}))";
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(node, { args: ["-e", script], stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${node} not found: the one-binary build copies Node 20+ (set NODE to its path)`);
    }
    throw e;
  }
  if (out.code !== 0) throw new Error(`${node} -e failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function run(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    const dec = new TextDecoder();
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${dec.decode(out.stdout)}${dec.decode(out.stderr)}`);
  }
}

/**
 * Builds the binary at `outfile` from the Node binary `node` and returns its size in bytes and the Node
 * version inside. The binary replaces `outfile` only once it is complete.
 *
 * @example
 * ```ts ignore
 * const { bytes } = await buildSea("dist/tug");
 * ```
 */
export async function buildSea(outfile: string, node = "node"): Promise<{ bytes: number; node: string }> {
  if (Deno.build.os === "windows") {
    throw new Error("the one-binary build (Node SEA) is not set up for Windows");
  }
  const info = await nodeInfo(node);
  const major = Number(/^v(\d+)\./.exec(info.version)?.[1]);
  if (!(major >= 20)) throw new Error(`${info.execPath} is Node ${info.version}; the binary needs Node 20+`);
  // A Node linked against a shared libnode (some distributions' packages) keeps the fuse in the library,
  // and a copy of the executable would not be self-contained.
  if (!info.sea || info.shared) {
    throw new Error(
      `${info.execPath} (Node ${info.version}) cannot make a single executable application` +
        `${info.shared ? " (it is built against a shared libnode)" : ""}: set NODE to an official Node build`,
    );
  }
  outfile = resolve(outfile);
  await Deno.mkdir(dirname(outfile), { recursive: true });
  // The work folder sits beside the output, so that the finished binary is renamed into place.
  const work = await Deno.makeTempDir({ dir: dirname(outfile), prefix: ".tug-sea-" });
  try {
    // Node 20 runs a SEA's script as CommonJS whose `require` loads built-in modules only: one CJS bundle.
    await bundleCli(`${work}/tug.cjs`, {
      entry: new URL("./main_sea.ts", import.meta.url).pathname,
      format: "cjs",
    });
    await Deno.writeTextFile(
      `${work}/sea-config.json`,
      JSON.stringify({
        main: "tug.cjs",
        output: "tug.blob",
        // The binary is a command, not Node: no warning about an experimental feature on every run.
        disableExperimentalSEAWarning: true,
        // V8's compiled code goes in too: ~0.2 MB more, a faster start. Tied to the V8 of this same node.
        useCodeCache: true,
      }),
    );
    await run(info.execPath, ["--experimental-sea-config", "sea-config.json"], work);
    const binary = `${work}/${basename(outfile)}`;
    await Deno.copyFile(info.execPath, binary);
    await Deno.chmod(binary, 0o755);
    const macos = Deno.build.os === "darwin";
    // Node's docs: on macOS the signature goes before injecting, and an ad-hoc one after (not tested here).
    if (macos) await run("codesign", ["--remove-signature", binary], work);
    // postject's LIEF reports ELF notes it cannot name ("Can't find string offset for section name
    // '.note.100'") through console.warn; they are harmless. They are shown only if the injection fails.
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
    try {
      await inject(binary, "NODE_SEA_BLOB", Buffer.from(await Deno.readFile(`${work}/tug.blob`)), {
        sentinelFuse: SEA_FUSE,
        machoSegmentName: macos ? "NODE_SEA" : undefined,
      });
    } catch (e) {
      throw new Error(`postject failed: ${e instanceof Error ? e.message : e}\n${warnings.join("\n")}`);
    } finally {
      console.warn = warn;
    }
    if (macos) await run("codesign", ["--sign", "-", binary], work);
    await Deno.rename(binary, outfile);
    return { bytes: (await Deno.stat(outfile)).size, node: info.version };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const outfile = process.argv[2] ?? new URL("../../dist/tug", import.meta.url).pathname;
  const started = performance.now();
  const { bytes, node } = await buildSea(outfile, Deno.env.get("NODE") ?? "node");
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(
    `${outfile}: ${(bytes / 2 ** 20).toFixed(1)} MiB, one binary for ${Deno.build.os}-${Deno.build.arch} ` +
      `(Node ${node} with tug inside; needs no Node or node_modules), built in ${seconds} s`,
  );
}

/**
 * Builds the npm package for Node 20+ from the same sources Deno runs: `deno task build:npm [OUT_DIR]`
 * (default `dist/npm`), then `npm pack` in OUT_DIR.
 *
 * - `esm/`: ES modules, one per entry point of deno.json's `exports` plus `tug.js` (the `bin`), with shared
 *   chunks (esbuild, code splitting). npm packages stay imports and become `dependencies`.
 * - `types/`: a `.d.ts` beside the path of every source module reachable from the entry points, from
 *   TypeScript's isolated declarations (the sources have no slow types, which JSR checks too).
 * - `package.json`: `exports` with the same subpaths as deno.json, `bin.tug`, `engines.node >= 20`.
 *
 * @module
 */
import * as esbuild from "npm:esbuild@^0.28.2";
import ts from "npm:typescript@^5.9.3";
import { npmSpecifiers, parseNpmSpecifier } from "./npm_specifiers.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** What {@linkcode buildNpmPackage} wrote. */
export interface NpmPackageBuild {
  /** The folder holding package.json. */
  dir: string;
  /** The package.json written. */
  manifest: Record<string, unknown>;
}

/** Maps an export subpath to the esbuild entry name: `.` → `mod`, `./store/testing` → `store/testing`. */
function entryName(subpath: string): string {
  return subpath === "." ? "mod" : subpath.slice(2);
}

/**
 * Builds the package into `outDir` (emptied first).
 *
 * @example
 * ```ts ignore
 * import { buildNpmPackage } from "./npm_package.ts";
 *
 * const { dir } = await buildNpmPackage("/tmp/tug-npm");
 * ```
 */
export async function buildNpmPackage(outDir: string): Promise<NpmPackageBuild> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const exportsMap = config.exports as Record<string, string>;
  await Deno.remove(outDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(outDir, { recursive: true });

  // The page `tug serve` shows at /, embedded as in the Node bundle (adapters/cli/build_node.ts).
  const { buildWebPage } = await import("../web/build.ts");
  const webFiles = await buildWebPage({ minify: true });
  // The npm packages the output imports, with the ranges the sources name.
  const dependencies: Record<string, string> = {};
  const entryPoints: Record<string, string> = { tug: `${ROOT}adapters/cli/main_bundle.ts` };
  for (const [subpath, file] of Object.entries(exportsMap)) {
    entryPoints[entryName(subpath)] = `${ROOT}${file}`;
  }
  await esbuild.build({
    entryPoints,
    outdir: `${outDir}/esm`,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    plugins: [npmSpecifiers({
      external: true,
      onSpecifier: (spec) => dependencies[spec.name] ??= spec.range || "*",
    })],
    external: ["node:*"],
    chunkNames: "chunks/[name]-[hash]",
    logLevel: "warning",
    define: { __TUG_WEB_FILES__: JSON.stringify(webFiles) },
  }).finally(() => esbuild.stop());
  const tug = `${outDir}/esm/tug.js`;
  await Deno.writeTextFile(tug, `#!/usr/bin/env node\n${await Deno.readTextFile(tug)}`);
  await Deno.chmod(tug, 0o755);

  // Declarations of every source module the entry points reach, type-only imports included (esbuild drops
  // those, so the walk follows the declarations' own imports).
  const problems: string[] = [];
  const queue = Object.values(exportsMap).map((file) => file.slice(2));
  const seen = new Set(queue);
  for (let relative = queue.shift(); relative !== undefined; relative = queue.shift()) {
    const path = `${ROOT}${relative}`;
    const out = ts.transpileDeclaration(await Deno.readTextFile(path), {
      fileName: relative,
      reportDiagnostics: true,
      compilerOptions: {
        isolatedDeclarations: true,
        declaration: true,
        allowImportingTsExtensions: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
      },
    });
    for (const d of out.diagnostics ?? []) {
      const line = d.file && d.start !== undefined
        ? d.file.getLineAndCharacterOfPosition(d.start).line + 1
        : 0;
      problems.push(`${relative}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
    }
    for (const [, specifier] of out.outputText.matchAll(/["'](\.{1,2}\/[^"']+\.ts)["']/g)) {
      const next = new URL(specifier, `file://${path}`).pathname.slice(ROOT.length);
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
    // Node's TypeScript resolves "./x.js" to x.d.ts; npm: specifiers become the package's own name.
    const text = out.outputText
      .replace(/(["'])(\.{1,2}\/[^"']+)\.ts\1/g, "$1$2.js$1")
      .replace(/(["'])npm:([^"']+)\1/g, (_, q, rest) => {
        const spec = parseNpmSpecifier(`npm:${rest}`)!;
        return `${q}${spec.name}${spec.subpath}${q}`;
      });
    const target = `${outDir}/types/${relative.replace(/\.ts$/, ".d.ts")}`;
    await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(target, text);
  }

  if (problems.length > 0) throw new Error(`declarations need explicit types:\n${problems.join("\n")}`);
  const exportsField: Record<string, { types: string; default: string }> = {};
  for (const [subpath, file] of Object.entries(exportsMap)) {
    exportsField[subpath] = {
      types: `./types/${file.slice(2).replace(/\.ts$/, ".d.ts")}`,
      default: `./esm/${entryName(subpath)}.js`,
    };
  }
  const manifest = {
    name: "@tug/tug",
    version: config.version,
    description:
      "Pull container images anywhere JavaScript runs: Docker's pull path, verified, into an OCI layout",
    type: "module",
    exports: exportsField,
    bin: { tug: "./esm/tug.js" },
    engines: { node: ">=20" },
    files: ["esm/", "types/"],
    dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
  };
  await Deno.writeTextFile(`${outDir}/package.json`, JSON.stringify(manifest, null, 2) + "\n");
  await Deno.writeTextFile(
    `${outDir}/README.md`,
    '# @tug/tug\n\nPull container images anywhere JavaScript runs: `import { pull } from "@tug/tug"`, or `npx tug pull alpine`.\n',
  );
  return { dir: outDir, manifest };
}

if (import.meta.main) {
  const { dir, manifest } = await buildNpmPackage(Deno.args[0] ?? `${ROOT}dist/npm`);
  console.log(`${dir}: ${manifest.name}@${manifest.version}`);
}

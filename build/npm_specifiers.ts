/**
 * An esbuild plugin for the `npm:` specifiers tug's sources import (`npm:hono@^4.13.19/cors`), so every
 * build (the page, the Node command, the npm package, the browser core, the worker) reads the same sources
 * that Deno runs without an import map.
 *
 * esbuild does not know `npm:`. The plugin rewrites `npm:NAME@RANGE/SUB` to the bare `NAME/SUB`; then it
 * either keeps it as an import (`external`: the npm package lists NAME as a dependency) or resolves it with
 * esbuild's own resolver (its `browser`/`node` conditions and `exports` maps) in the package Deno installed
 * for that specifier: a node_modules folder when the config has one, else DENO_DIR's npm cache.
 *
 * @module
 */
import type * as esbuild from "npm:esbuild@^0.28.2";
import { builtinModules } from "node:module";

/** Options for {@linkcode npmSpecifiers}. */
export interface NpmSpecifiersOptions {
  /** Keep `npm:` imports as bare imports of the package instead of bundling it (default false). */
  external?: boolean;
  /** Called with each `npm:` specifier the build imports (the npm package lists them as dependencies). */
  onSpecifier?: (specifier: NpmSpecifier) => void;
}

/** A parsed `npm:` specifier. */
export interface NpmSpecifier {
  /** The package name, with its scope. */
  name: string;
  /** The version range (`^4.13.19`), or "" when none is written. */
  range: string;
  /** The subpath with its leading slash (`/cors`), or "". */
  subpath: string;
}

/**
 * Parses `npm:NAME@RANGE/SUB` (NAME may be scoped; RANGE and SUB are optional).
 *
 * @example
 * ```ts
 * import { parseNpmSpecifier } from "./npm_specifiers.ts";
 *
 * const s = parseNpmSpecifier("npm:hono@^4.13.19/utils/url");
 * console.assert(s?.name === "hono" && s.range === "^4.13.19" && s.subpath === "/utils/url");
 * console.assert(parseNpmSpecifier("npm:@hono/node-server@^2")?.name === "@hono/node-server");
 * ```
 */
export function parseNpmSpecifier(specifier: string): NpmSpecifier | undefined {
  const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/.exec(specifier);
  return m ? { name: m[1], range: m[2] ?? "", subpath: m[3] ?? "" } : undefined;
}

/**
 * The esbuild plugin.
 *
 * @example
 * ```ts ignore
 * import * as esbuild from "npm:esbuild@^0.28.2";
 * import { npmSpecifiers } from "./npm_specifiers.ts";
 *
 * await esbuild.build({ entryPoints: ["src/mod.ts"], bundle: true, plugins: [npmSpecifiers()] });
 * ```
 */
export function npmSpecifiers(options: NpmSpecifiersOptions = {}): esbuild.Plugin {
  return {
    name: "npm-specifiers",
    setup(build) {
      // One folder of node_modules/NAME links to the package folders Deno installed, made on first use.
      let links: string | undefined;
      const linked = new Map<string, Promise<string>>(); // name → the package's real folder
      const resolving = new Set<string>();
      const link = (spec: NpmSpecifier): Promise<string> => {
        links ??= Deno.makeTempDirSync({ prefix: "tug-npm-links-" });
        let folder = linked.get(spec.name);
        if (folder === undefined) {
          folder = linkPackage(links, spec);
          linked.set(spec.name, folder);
        }
        return folder;
      };
      build.onResolve({ filter: /^npm:/ }, async (args) => {
        const spec = parseNpmSpecifier(args.path);
        if (spec === undefined) return { errors: [{ text: `not an npm specifier: ${args.path}` }] };
        options.onSpecifier?.(spec);
        const bare = spec.name + spec.subpath;
        if (options.external) return { path: bare, external: true };
        await link(spec);
        return await build.resolve(bare, { kind: args.kind, resolveDir: links, importer: args.importer });
      });
      // A linked package's own imports (@hono/node-server imports its peer "hono/ws"): DENO_DIR's npm cache
      // has no node_modules around the package, so they resolve among the links too, with the range the
      // package declares (one copy per name: the sources' own import of it wins when it came first).
      build.onResolve({ filter: /^(@[^/:]+\/)?[^./:@][^:]*$/ }, async (args) => {
        // build.resolve below runs these callbacks again: the second round is left to esbuild.
        const key = `${args.importer}\0${args.path}`;
        if (options.external || links === undefined || resolving.has(key)) return undefined;
        const owner = [...linked.entries()];
        let from: string | undefined;
        for (const [, folder] of owner) {
          const real = await folder;
          if (args.importer.startsWith(real + "/")) from = real;
        }
        if (from === undefined) return undefined;
        const spec = parseNpmSpecifier(`npm:${args.path}`);
        // Node's own modules ("http", "stream/web") are esbuild's to resolve, as on any platform: "node".
        if (spec === undefined || builtinModules.includes(spec.name) || builtinModules.includes(args.path)) {
          return undefined;
        }
        const pkg = JSON.parse(await Deno.readTextFile(`${from}/package.json`));
        // An npm: specifier takes one range without spaces: the first of "^4 || ^5.0.0-0".
        const declared: string = pkg.dependencies?.[spec.name] ?? pkg.peerDependencies?.[spec.name] ?? "";
        const range = declared.split("||")[0].replace(/\s+/g, "");
        await link({ ...spec, range });
        resolving.add(key);
        try {
          return await build.resolve(args.path, {
            kind: args.kind,
            resolveDir: links,
            importer: args.importer,
          });
        } finally {
          resolving.delete(key);
        }
      });
      build.onDispose(() => {
        if (links !== undefined) Deno.removeSync(links, { recursive: true });
      });
    },
  };
}

/**
 * Loads the package through Deno (which installs it), links its folder as `dir/node_modules/NAME` and
 * returns the folder's real path.
 */
async function linkPackage(dir: string, spec: NpmSpecifier): Promise<string> {
  const root = `npm:${spec.name}${spec.range ? `@${spec.range}` : ""}`;
  await import(root);
  const entry = new URL(import.meta.resolve(root));
  if (entry.protocol !== "file:") throw new Error(`${root} resolved to ${entry.href}, not a file`);
  // Up from the entry file to the folder whose package.json names the package.
  let folder: string | undefined;
  for (let at = new URL(".", entry); folder === undefined && at.pathname !== "/"; at = new URL("..", at)) {
    try {
      const pkg = JSON.parse(await Deno.readTextFile(new URL("package.json", at)));
      if (pkg.name === spec.name) folder = at.pathname;
    } catch { /* no package.json here */ }
  }
  if (folder === undefined) throw new Error(`no package.json of ${spec.name} above ${entry.pathname}`);
  const target = `${dir}/node_modules/${spec.name}`;
  await Deno.mkdir(new URL(".", `file://${target}`).pathname, { recursive: true });
  await Deno.symlink(folder.replace(/\/$/, ""), target);
  return await Deno.realPath(folder);
}

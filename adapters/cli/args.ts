/**
 * A small command-line parser with Docker's habits: `--flag value`, `--flag=value`, repeatable flags,
 * short aliases, `--` ends the flags.
 *
 * @module
 */

/** How one flag is read. */
export interface FlagSpec {
  /** `boolean` takes no value; `string` takes one; `list` takes one per use and collects them. */
  readonly type: "boolean" | "string" | "list";
  /** A one-letter alias, e.g. `q` for `--quiet`. */
  readonly short?: string;
}

/** Parsed arguments: flags by long name and the positional arguments. */
export interface ParsedArgs {
  readonly flags: Record<string, string | boolean | string[] | undefined>;
  readonly positionals: string[];
}

/**
 * Parses `argv` against the flag specs; unknown flags are refused with a usage error.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 *
 * const args = parseArgs(["--platform", "linux/arm64", "-q", "alpine"], {
 *   platform: { type: "string" },
 *   quiet: { type: "boolean", short: "q" },
 * });
 * console.assert(args.flags.platform === "linux/arm64" && args.flags.quiet === true);
 * console.assert(args.positionals[0] === "alpine");
 * ```
 */
export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>): ParsedArgs {
  const flags: Record<string, string | boolean | string[] | undefined> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith("-") && arg.length === 2 && arg !== "-") {
      name = byShort.get(arg[1]);
      if (name === undefined) throw new UsageError(`unknown shorthand flag: '${arg[1]}' in ${arg}`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown flag: --${name}`);
    if (spec.type === "boolean") {
      if (inline !== undefined && inline !== "true" && inline !== "false") {
        throw new UsageError(`invalid value "${inline}" for flag --${name}: expected true or false`);
      }
      flags[name] = inline === undefined ? true : inline === "true";
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
      value = argv[++i];
    }
    if (spec.type === "list") flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  }
  return { flags, positionals };
}

/** A mistake in how the command was called (exit code 2, usage shown). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

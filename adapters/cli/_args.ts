/**
 * The one command-line parser of `tug`, with Docker's habits: `--flag value`, `--flag=value`, repeatable
 * flags, short aliases, `--` ends the flags. A command declares its flags once (name, alias, type, value
 * placeholder, help text) with {@linkcode defineCommand}; the same declaration types the parsed values and
 * writes the command's `--help`, so what is parsed and what is documented cannot drift apart.
 *
 * @module
 */

/** How one flag is read, and how `--help` shows it. */
export interface FlagSpec {
  /** `boolean` takes no value; `string` takes one; `list` takes one per use and collects them. */
  readonly type: "boolean" | "string" | "list";
  /** A one-letter alias, e.g. `q` for `--quiet`. */
  readonly short?: string;
  /** The value's name in the help, e.g. `DIR` for `--store DIR`. */
  readonly value?: string;
  /** The help text; each `\n` starts a continuation line. A flag without help is not listed. */
  readonly help?: string;
}

/** A command's flags by long name. */
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

/** The parsed value of one flag: `undefined` when it was not given. */
export type FlagValue<S extends FlagSpec> = S["type"] extends "boolean" ? boolean | undefined
  : S["type"] extends "list" ? string[] | undefined
  : string | undefined;

/** Parsed arguments: flags by long name (typed by their specs) and the positional arguments. */
export interface ParsedArgs<S extends FlagSpecs> {
  readonly flags: { -readonly [K in keyof S]: FlagValue<S[K]> };
  readonly positionals: string[];
}

/**
 * Parses `argv` against the flag specs. Unknown flags, a missing value and a boolean given something other
 * than true/false are refused with a {@linkcode UsageError} (Docker's wording).
 *
 * @example
 * ```ts
 * import { parseArgs } from "./_args.ts";
 *
 * const args = parseArgs(["--platform", "linux/arm64", "-q", "alpine"], {
 *   platform: { type: "string" },
 *   quiet: { type: "boolean", short: "q" },
 * });
 * console.assert(args.flags.platform === "linux/arm64" && args.flags.quiet === true);
 * console.assert(args.positionals[0] === "alpine");
 * ```
 */
export function parseArgs<const S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
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
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
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
  return { flags: flags as ParsedArgs<S>["flags"], positionals };
}

/**
 * The options table of a help text: `  -q, --quiet   Help…`, the `--name VALUE` part padded to `column`
 * characters (a longer one gets a line of its own), continuation lines indented under the help.
 *
 * @example
 * ```ts
 * import { formatOptions } from "./_args.ts";
 *
 * const table = formatOptions({ quiet: { type: "boolean", short: "q", help: "Say less" } }, 10);
 * console.assert(table === "  -q, --quiet   Say less");
 * ```
 */
export function formatOptions(specs: FlagSpecs, column: number): string {
  const indent = " ".repeat(6 + column);
  const lines: string[] = [];
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.help === undefined) continue;
    const prefix = spec.short ? `  -${spec.short}, ` : "      ";
    const left = `--${name}${spec.value ? ` ${spec.value}` : ""}`;
    const [first, ...rest] = spec.help.split("\n");
    if (left.length < column) lines.push(prefix + left.padEnd(column) + first);
    else lines.push(prefix + left, indent + first);
    for (const line of rest) lines.push(indent + line);
  }
  return lines.join("\n");
}

/** `--help`/`-h`, which every command takes (not listed in the options). */
const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const;

/** What a command declares about how it is called. */
export interface CommandDefinition<S extends FlagSpecs> {
  /** The help's head: the `Usage: tug …` line, a blank line, what the command does. */
  readonly synopsis: string;
  /** Its flags, in the order the help lists them. */
  readonly flags: S;
  /** Width of the help's `--name VALUE` column (default 14). */
  readonly column?: number;
}

/** A declared command: its help text and its parser. */
export interface Command<S extends FlagSpecs> {
  /** The full `--help` text (no trailing newline): the synopsis, then `Options:` when it lists any. */
  readonly usage: string;
  /** Parses the arguments after the command name; `--help`/`-h` comes back as `flags.help`. */
  parse(argv: readonly string[]): ParsedArgs<S & typeof HELP_FLAG>;
}

/**
 * Declares a command's flags once: the result parses its arguments (typed) and holds its `--help` text.
 *
 * @example
 * ```ts
 * import { defineCommand } from "./_args.ts";
 *
 * const cmd = defineCommand({
 *   synopsis: "Usage: tug demo [OPTIONS]\n\nShow a demo.",
 *   flags: { store: { type: "string", value: "DIR", help: "Store folder" } },
 * });
 * const { flags } = cmd.parse(["--store", "/tmp/s"]);
 * console.assert(flags.store === "/tmp/s" && flags.help === undefined);
 * console.assert(cmd.usage.endsWith("Options:\n      --store DIR   Store folder"));
 * ```
 */
export function defineCommand<const S extends FlagSpecs>(definition: CommandDefinition<S>): Command<S> {
  const specs = { ...HELP_FLAG, ...definition.flags } as S & typeof HELP_FLAG;
  const table = formatOptions(definition.flags, definition.column ?? 14);
  return {
    usage: table === "" ? definition.synopsis : `${definition.synopsis}\n\nOptions:\n${table}`,
    parse: (argv) => parseArgs(argv, specs),
  };
}

/** A mistake in how the command was called (exit code 2, usage shown). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

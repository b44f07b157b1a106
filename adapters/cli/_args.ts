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
  const set = (name: string, spec: FlagSpec, value: string) => {
    if (spec.type === "list") flags[name] = [...((flags[name] as string[] | undefined) ?? []), value];
    else flags[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      let value = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (spec.type === "boolean") {
        if (value !== undefined && value !== "true" && value !== "false") {
          throw new UsageError(`invalid value "${value}" for flag --${name}: expected true or false`);
        }
        flags[name] = value === undefined ? true : value === "true";
        continue;
      }
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        value = argv[++i];
      }
      set(name, spec, value);
    } else if (arg.startsWith("-") && arg.length > 1) {
      // Short flags combine as in Docker's pflag: `-qa` is `-q -a`; the first one that takes a value takes
      // the rest of the argument (`-ofile`, `-o=file`) or, when nothing is left, the next argument.
      for (let at = 1; at < arg.length; at++) {
        const letter = arg[at];
        const name = byShort.get(letter);
        if (name === undefined) {
          throw new UsageError(`unknown shorthand flag: '${letter}' in -${arg.slice(at)}`);
        }
        const spec = specs[name];
        if (spec.type === "boolean") {
          if (arg[at + 1] === "=") {
            const value = arg.slice(at + 2);
            if (value !== "true" && value !== "false") {
              throw new UsageError(`invalid value "${value}" for flag -${letter}: expected true or false`);
            }
            flags[name] = value === "true";
            break;
          }
          flags[name] = true;
          continue;
        }
        let value = arg.slice(at + 1);
        if (value.startsWith("=")) value = value.slice(1);
        else if (value === "") {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${letter}' in -${letter}`);
          value = argv[++i];
        }
        set(name, spec, value);
        break;
      }
    } else {
      positionals.push(arg);
    }
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
  /**
   * How many positional arguments it takes: at least `min`, at most `max` (no limit when absent). A call
   * outside the range is refused, before the command runs, with Docker's message (cli/required.go).
   */
  readonly args: { readonly min: number; readonly max?: number };
  /** Width of the help's `--name VALUE` column (default 14). */
  readonly column?: number;
}

/** A declared command: its help text and its parser. */
export interface Command<S extends FlagSpecs> {
  /** The full `--help` text (no trailing newline): the synopsis, then `Options:` when it lists any. */
  readonly usage: string;
  /** Parses the arguments after the command name; `--help`/`-h` comes back as `flags.help`. */
  parse(argv: readonly string[]): ParsedArgs<S & typeof HELP_FLAG>;
  /**
   * Parses as `parse` does, but answers `--help` itself: writes the usage with `write` and returns
   * `undefined`, so a command's first lines are `const args = CMD.parseOrHelp(argv, out); if (!args) return 0;`.
   */
  parseOrHelp(
    argv: readonly string[],
    write: (text: string) => unknown,
  ): ParsedArgs<S & typeof HELP_FLAG> | undefined;
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
 *   args: { min: 0, max: 0 },
 * });
 * const { flags } = cmd.parse(["--store", "/tmp/s"]);
 * console.assert(flags.store === "/tmp/s" && flags.help === undefined);
 * console.assert(cmd.usage.endsWith("Options:\n      --store DIR   Store folder"));
 * ```
 */
export function defineCommand<const S extends FlagSpecs>(definition: CommandDefinition<S>): Command<S> {
  const specs = { ...HELP_FLAG, ...definition.flags } as S & typeof HELP_FLAG;
  const table = formatOptions(definition.flags, definition.column ?? 14);
  const usage = table === "" ? definition.synopsis : `${definition.synopsis}\n\nOptions:\n${table}`;
  const parse = (argv: readonly string[]) => {
    const parsed = parseArgs(argv, specs);
    if (!parsed.flags.help) checkArgCount(definition, parsed.positionals.length);
    return parsed;
  };
  return {
    usage,
    parse,
    parseOrHelp: (argv, write) => {
      const parsed = parse(argv);
      if (!parsed.flags.help) return parsed;
      write(usage + "\n");
      return undefined;
    },
  };
}

const plural = (n: number) => `${n} argument${n === 1 ? "" : "s"}`;

/**
 * Refuses a wrong number of positional arguments with the messages of Docker's cobra checks
 * (docker/cli cli/required.go: NoArgs, ExactArgs, RequiresMinArgs, RequiresMaxArgs, RequiresRangeArgs):
 * `'tug pull' requires 1 argument`, a blank line, `Usage:  tug pull [OPTIONS] NAME[:TAG|@DIGEST]`, a blank
 * line, the pointer to `--help`. The command line prefixes `tug: `, as docker prefixes `docker: `.
 */
function checkArgCount(definition: CommandDefinition<FlagSpecs>, count: number): void {
  const { min, max } = definition.args;
  if (count >= min && (max === undefined || count <= max)) return;
  const useLine = definition.synopsis.split("\n")[0].replace(/^Usage:\s*/, "");
  const words = useLine.split(" ");
  const end = words.findIndex((w) => !/^[a-z][a-z-]*$/.test(w));
  const path = words.slice(0, end < 0 ? words.length : Math.max(1, end)).join(" ");
  let problem: string;
  let pointer = "Run";
  if (max === 0) problem = "accepts no arguments";
  else if (min === max) problem = `requires ${plural(min)}`;
  else if (max === undefined) {
    problem = `requires at least ${plural(min)}`;
    pointer = "See"; // RequiresMinArgs says "See"; the others "Run".
  } else if (min === 0) problem = `requires at most ${plural(max)}`;
  else problem = `requires at least ${min} and at most ${plural(max)}`;
  throw new UsageError(
    `'${path}' ${problem}\n\nUsage:  ${useLine}\n\n${pointer} '${path} --help' for more information`,
  );
}

/** A mistake in how the command was called (exit code 2, usage shown). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

import { assertEquals, assertThrows } from "../../test/_assert.ts";
import { defineCommand, formatOptions, parseArgs, UsageError } from "./_args.ts";

const SPECS = {
  store: { type: "string" },
  quiet: { type: "boolean", short: "q" },
  mirror: { type: "list" },
  output: { type: "string", short: "o" },
} as const;

/** The message of the UsageError `argv` raises. */
function usageMessage(argv: string[]): string {
  return assertThrows(() => parseArgs(argv, SPECS), UsageError).message;
}

Deno.test("parseArgs() reads --flag value, --flag=value, short aliases, and keeps positionals in order", () => {
  const { flags, positionals } = parseArgs(
    ["a", "--store", "/s", "-q", "b", "--output=x=y", "-o", "z", "c"],
    SPECS,
  );
  assertEquals(flags, { store: "/s", quiet: true, output: "z" });
  assertEquals(positionals, ["a", "b", "c"]);
});

Deno.test("parseArgs() collects every use of a list flag and leaves flags not given undefined", () => {
  const { flags } = parseArgs(["--mirror", "m1", "--mirror=m2"], SPECS);
  assertEquals(flags.mirror, ["m1", "m2"]);
  assertEquals(flags.store, undefined);
  assertEquals(flags.quiet, undefined);
});

Deno.test("parseArgs() reads --bool=true/false and refuses any other value", () => {
  assertEquals(parseArgs(["--quiet=false"], SPECS).flags.quiet, false);
  assertEquals(parseArgs(["--quiet=true"], SPECS).flags.quiet, true);
  assertEquals(usageMessage(["--quiet=yes"]), `invalid value "yes" for flag --quiet: expected true or false`);
});

Deno.test("parseArgs() takes everything after -- as positionals, and - as a positional", () => {
  const { flags, positionals } = parseArgs(["-", "--", "--store", "-q"], SPECS);
  assertEquals(flags, {});
  assertEquals(positionals, ["-", "--store", "-q"]);
});

Deno.test("parseArgs() refuses unknown flags with Docker's messages", () => {
  assertEquals(usageMessage(["--bogus"]), "unknown flag: --bogus");
  assertEquals(usageMessage(["--bogus=1"]), "unknown flag: --bogus");
  assertEquals(usageMessage(["-Z"]), "unknown shorthand flag: 'Z' in -Z");
  // Names of Object.prototype are not flags either.
  assertEquals(usageMessage(["--constructor", "x"]), "unknown flag: --constructor");
  assertEquals(usageMessage(["--toString"]), "unknown flag: --toString");
});

Deno.test("parseArgs() refuses a string or list flag without its value", () => {
  assertEquals(usageMessage(["--store"]), "flag needs an argument: --store");
  assertEquals(usageMessage(["a", "-o"]), "flag needs an argument: 'o' in -o");
  assertEquals(usageMessage(["--mirror"]), "flag needs an argument: --mirror");
  // The next argument is the value, even when it looks like a flag (as Docker's pflag does).
  assertEquals(parseArgs(["--store", "-q"], SPECS).flags, { store: "-q" });
});

Deno.test("formatOptions() pads the flag column, gives long flags their own line, indents continuations", () => {
  const table = formatOptions({
    all: { type: "boolean", short: "a", help: "Everything, even\nwhat is hidden" },
    "max-window": { type: "string", value: "BYTES", help: "Largest window" },
    store: { type: "string", value: "DIR", help: "Store folder" },
    hidden: { type: "boolean" },
  }, 14);
  assertEquals(
    table,
    [
      "  -a, --all         Everything, even",
      "                    what is hidden",
      "      --max-window BYTES",
      "                    Largest window",
      "      --store DIR   Store folder",
    ].join("\n"),
  );
});

Deno.test("defineCommand() adds --help/-h, and its usage is the synopsis plus the options it parses", () => {
  const cmd = defineCommand({
    synopsis: "Usage: tug demo [OPTIONS] NAME\n\nDemonstrate.",
    flags: { quiet: { type: "boolean", short: "q", help: "Say less" } },
    args: { min: 0 },
    column: 10,
  });
  assertEquals(
    cmd.usage,
    "Usage: tug demo [OPTIONS] NAME\n\nDemonstrate.\n\nOptions:\n  -q, --quiet   Say less",
  );
  assertEquals(cmd.parse(["-h"]).flags.help, true);
  assertEquals(cmd.parse(["--help", "x"]).positionals, ["x"]);
  assertEquals(cmd.parse(["-q"]).flags, { quiet: true });
  assertEquals(assertThrows(() => cmd.parse(["--loud"]), UsageError).message, "unknown flag: --loud");
});

Deno.test("defineCommand() usage has no Options section when the command lists no flags", () => {
  const cmd = defineCommand({
    synopsis: "Usage: tug demo [SERVER]\n\nDemonstrate.",
    flags: {},
    args: { min: 0, max: 1 },
  });
  assertEquals(cmd.usage, "Usage: tug demo [SERVER]\n\nDemonstrate.");
  assertEquals(cmd.parse(["s"]).positionals, ["s"]);
});

Deno.test("parseArgs() reads combined short flags (-qa) and a short flag's value in the same argument (-ofile)", () => {
  const specs = { ...SPECS, all: { type: "boolean", short: "a" } } as const;
  assertEquals(parseArgs(["-qa", "x"], specs).flags, { quiet: true, all: true });
  assertEquals(parseArgs(["-qa", "x"], specs).positionals, ["x"]);
  // pflag: the first short flag that takes a value takes the rest of the argument, else the next one.
  assertEquals(parseArgs(["-qofile"], specs).flags, { quiet: true, output: "file" });
  assertEquals(parseArgs(["-qo", "file"], specs).flags, { quiet: true, output: "file" });
  assertEquals(parseArgs(["-o=file"], specs).flags, { output: "file" });
  assertEquals(
    assertThrows(() => parseArgs(["-qZ"], specs), UsageError).message,
    // pflag names the rest of the argument from the unknown letter on.
    "unknown shorthand flag: 'Z' in -Z",
  );
  assertEquals(
    assertThrows(() => parseArgs(["-aqo"], specs), UsageError).message,
    "flag needs an argument: 'o' in -o",
  );
});

Deno.test("defineCommand() refuses a wrong number of arguments with Docker's messages (cli/required.go)", () => {
  const make = (use: string, args: { min: number; max?: number }) =>
    defineCommand({ synopsis: `Usage: ${use}\n\nDemonstrate.`, flags: {}, args });
  const message = (cmd: ReturnType<typeof make>, argv: string[]) =>
    assertThrows(() => cmd.parse(argv), UsageError).message;
  const exact = make("tug pull [OPTIONS] NAME[:TAG|@DIGEST]", { min: 1, max: 1 });
  assertEquals(
    message(exact, []),
    "'tug pull' requires 1 argument\n\nUsage:  tug pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n" +
      "Run 'tug pull --help' for more information",
  );
  assertEquals(message(exact, ["a", "b"]).split("\n")[0], "'tug pull' requires 1 argument");
  assertEquals(
    message(make("tug unpack [OPTIONS] NAME DIR", { min: 2, max: 2 }), ["a"]).split("\n")[0],
    "'tug unpack' requires 2 arguments",
  );
  assertEquals(
    message(make("tug rmi [OPTIONS] NAME [NAME...]", { min: 1 }), []),
    "'tug rmi' requires at least 1 argument\n\nUsage:  tug rmi [OPTIONS] NAME [NAME...]\n\n" +
      "See 'tug rmi --help' for more information",
  );
  assertEquals(
    message(make("tug login [OPTIONS] [SERVER]", { min: 0, max: 1 }), ["a", "b"]),
    "'tug login' requires at most 1 argument\n\nUsage:  tug login [OPTIONS] [SERVER]\n\n" +
      "Run 'tug login --help' for more information",
  );
  assertEquals(
    message(make("tug verify [OPTIONS]", { min: 0, max: 0 }), ["a"]),
    "'tug verify' accepts no arguments\n\nUsage:  tug verify [OPTIONS]\n\n" +
      "Run 'tug verify --help' for more information",
  );
  // --help is answered whatever the arguments.
  assertEquals(exact.parse(["--help"]).flags.help, true);
});

Deno.test("defineCommand().parseOrHelp() writes the usage for --help and -h and returns undefined; otherwise it parses", () => {
  const cmd = defineCommand({
    synopsis: "Usage: tug demo [OPTIONS] NAME\n\nShow a demo.",
    flags: { quiet: { type: "boolean", short: "q", help: "Quiet" } },
    args: { min: 1, max: 1 },
  });
  for (const help of ["--help", "-h"]) {
    const written: string[] = [];
    assertEquals(cmd.parseOrHelp([help], (text) => written.push(text)), undefined);
    assertEquals(written, [cmd.usage + "\n"]);
  }
  const written: string[] = [];
  const parsed = cmd.parseOrHelp(["-q", "alpine"], (text) => written.push(text));
  assertEquals(parsed?.positionals, ["alpine"]);
  assertEquals(parsed?.flags.quiet, true);
  assertEquals(written, []);
});

// What the `stasis` command says, apart from doing its work (build/cli.ts does that):
//
//   stasis --version                 the package version
//   stasis help [command]            usage, or one command's help      (exit 0)
//   stasis <command> --help | -h     the same                          (exit 0)
//
// and the plumbing that keeps every failure a `stasis: CODE: sentence` line:
//   - normalizeArgs: `--fuel -1` reaches the option check as a value (parseArgs would take
//     "-1" for an option and print its own text);
//   - optionError: parseArgs' errors (unknown option, missing value) as BAD_OPTION sentences;
//   - cliMessage: option names of the API in messages (shadowStackSize, stackLimit) as the
//     command line's flags;
//   - ioError: a file the command cannot read or write, as IO_ERROR naming it;
//   - ignoreClosedStdout: `stasis inspect … | head` ends quietly when the reader goes away.
import { constants, readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { StasisError } from "../host/errors.ts";
import { packageRoot } from "./paths.ts";

const HELP: Record<string, string> = {
  build: `usage: stasis build <program.ts> -o <program.wasm> [--debug] [--preempt] [--shadow-stack <bytes>] [-- <asc options>]

Compiles an AssemblyScript program into a Stasis module (needs the optional peer
dependencies assemblyscript and binaryen: npm install -D assemblyscript binaryen).

  -o, --out <file>         where to write the module (required)
  --debug                  unoptimized, with names (default: optimized release build)
  --preempt                fuel checks at loops and calls, so any loop can be time-sliced and frozen
  --shadow-stack <bytes>   AssemblyScript shadow stack for references in locals (default 32768)
  -- <asc options>         passed to the AssemblyScript compiler (e.g. -- --transform ./t.js);
                           options Stasis sets itself (--runtime, --outFile, …) are refused`,
  run: `usage: stasis run <program.wasm|program.ts> [--checkpoint <state.img>] [--every <500ms>] [--embed]
                  [--stack-limit <bytes>] [--budget <n>] [--slice <10ms> | --fuel <n>]

Runs a program until main returns (a .ts file is built first and embedded in its images).

  --checkpoint <file>      write an image there every --every, on Ctrl-C, and at the end
  --every <duration>       checkpoint interval, e.g. 500ms, 2s, 1m (needs --checkpoint; default 500ms)
  --embed                  put the .wasm inside each image instead of recording its path
  --stack-limit <bytes>    Asyncify stack a tasklet may suspend with (default 65536)
  --budget <n>             resumptions per step between checks
  --slice <duration>       time slice per resumption (programs built with --preempt)
  --fuel <n>               fixed fuel per resumption (programs built with --preempt)`,
  resume: `usage: stasis resume <state.img|-> [--program <program.wasm> | --trust-embedded] [--checkpoint <state.img>]
                     [--every <500ms>] [--budget <n>] [--slice <10ms> | --fuel <n>] [--fork]

Continues the program frozen in an image (- reads it from standard input), checkpointing
to the same file unless --checkpoint names another. With STASIS_IMAGE_KEY set, only images
signed with that key are accepted, and checkpoints are signed.

  --program <file>         the module the image needs (default: the path it recorded)
  --trust-embedded         run the module embedded in the image (its code is the image author's)
  --checkpoint <file>      where to write checkpoints (default: the image itself)
  --every <duration>       checkpoint interval (default 500ms)
  --budget, --slice, --fuel  as for run
  --fork                   a new lineage: host-call keys no other thaw of this image uses`,
  inspect: `usage: stasis inspect <state.img|-> [--program <program.wasm>] [--json] [--tasklets [--time-limit <10s>]]

Shows an image: module id, program, sizes, signature, and each tasklet's call chain and
what it waits on (decoded from the image bytes; failed tasklets with their error). Runs no
module code unless asked.

  --program <file>         the module the image needs (must match)
  --tasklets               thaw the image to list every tasklet (by id) and the host calls
                           it waits on: runs the program's code, in a worker thread
  --time-limit <duration>  stop --tasklets after this long (default 10s)
  --json                   the same as JSON`,
  help: `usage: stasis help [command]

Shows the usage of every command, or the help of one: build, run, resume, inspect.`,
};

export const USAGE = `usage:
  stasis build <program.ts> -o <program.wasm> [--debug] [--preempt] [--shadow-stack <bytes>] [-- <asc options>]
  stasis run <program.wasm|program.ts> [--checkpoint <state.img>] [--every <500ms>] [--embed]
             [--stack-limit <bytes>] [--budget <n>] [--slice <10ms> | --fuel <n>]
  stasis resume <state.img|-> [--program <program.wasm> | --trust-embedded] [--checkpoint <state.img>] [--every <500ms>]
                [--budget <n>] [--slice <10ms> | --fuel <n>] [--fork]
  stasis inspect <state.img|-> [--program <program.wasm>] [--json] [--tasklets [--time-limit <10s>]]
  stasis help [command]          stasis <command> --help          stasis --version`;

export function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

const isHelpFlag = (arg: string) => arg === "--help" || arg === "-h";

/**
 * The text to print for --version, help and --help requests, or undefined when argv asks
 * for real work. Throws BAD_OPTION for help on a command that does not exist.
 */
export function helpText(argv: string[]): string | undefined {
  const [command, ...rest] = argv;
  if (command === "--version" || command === "-V") return `stasis ${version()}\n`;
  if (command === "help" || (command !== undefined && isHelpFlag(command))) {
    const topic = command === "help" ? rest[0] : undefined;
    if (topic === undefined) return USAGE + "\n";
    if (!(topic in HELP)) throw new StasisError("BAD_OPTION", `there is no command "${topic}"; the commands are ${Object.keys(HELP).join(", ")}`);
    return HELP[topic] + "\n";
  }
  if (command !== undefined && command in HELP && rest.some(isHelpFlag)) return HELP[command] + "\n";
  return undefined;
}

/** `--fuel -1` → `--fuel=-1`: a negative number after an option is that option's value. */
export function normalizeArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (/^--[a-z-]+$/.test(argv[i]) && i + 1 < argv.length && /^-\d/.test(argv[i + 1])) {
      out.push(`${argv[i]}=${argv[i + 1]}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

/** parseArgs' own errors (ERR_PARSE_ARGS_*) as a sentence naming the command's help. */
export function optionError(error: unknown, command: string): StasisError | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("ERR_PARSE_ARGS")) return undefined;
  const message = (error as Error).message;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  const see = `see \`stasis help ${command}\``;
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new StasisError("BAD_OPTION", `${command} has no option ${option ?? "like that"}; ${see}`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") return new StasisError("BAD_OPTION", `${option ?? "an option"} needs a value (or takes none); ${see}`);
  return new StasisError("BAD_OPTION", `${command}: ${message.split(". ")[0]}; ${see}`);
}

/** API option names in host messages, as the flags a command-line user types. */
export function cliMessage(message: string): string {
  return message
    .replace("build with a larger shadowStackSize", "build with a larger --shadow-stack <bytes>")
    .replace("Raise `stackLimit` in Runtime.start options", "Raise --stack-limit <bytes>")
    .replace(/^stackLimit must be/, "--stack-limit must be");
}

const REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/** A file-system error of the CLI as IO_ERROR: what it tried, on which path, and why. */
export function ioError(cause: unknown, action: "read" | "write", path: string): StasisError {
  const code = (cause as NodeJS.ErrnoException)?.code ?? "";
  const reason = REASONS[code] ?? (cause as Error)?.message ?? String(cause);
  return new StasisError("IO_ERROR", `cannot ${action} ${path}: ${reason}`, { cause });
}

/** Fails before a long build when `path` cannot be written (its folder missing or read-only). */
export async function checkWritable(path: string): Promise<void> {
  await access(dirname(resolve(path)), constants.W_OK).catch((cause: unknown) => {
    throw ioError(cause, "write", path);
  });
}

/** A closed standard output (EPIPE: `stasis inspect … | head`) ends the command quietly. */
export function ignoreClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    process.stderr.write(`stasis: IO_ERROR: cannot write to standard output: ${error.message}\n`);
    process.exit(1);
  });
}

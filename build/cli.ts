#!/usr/bin/env node
// The `stasis` command line.
//
//   stasis build prog.ts -o prog.wasm [--debug] [--shadow-stack BYTES]
//   stasis run prog.wasm|prog.ts [--stack-limit BYTES] [--budget N]
//
// Every failure prints `stasis: CODE: sentence` and exits non-zero; no stack traces.
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { Program, Runtime, StasisError } from "../host/index.ts";
import { buildProgram, type BuildResult } from "./index.ts";

const USAGE = `usage:
  stasis build <program.ts> -o <program.wasm> [--debug] [--shadow-stack <bytes>]
  stasis run <program.wasm|program.ts> [--stack-limit <bytes>] [--budget <n>]`;

class UsageError extends Error {}

function integerOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, got "${value}"`);
  return n;
}

function formatBytes(n: number): string {
  return n.toLocaleString("en-US");
}

async function build(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string", short: "o" }, debug: { type: "boolean" }, "shadow-stack": { type: "string" } },
  });
  if (positionals.length !== 1 || !values.out) throw new UsageError("build takes one program and -o <output.wasm>");
  const result = await buildProgram(positionals[0], {
    mode: values.debug ? "debug" : "release",
    shadowStackSize: integerOption(values["shadow-stack"], "shadow-stack"),
  });
  await writeFile(values.out, result.wasm);
  printBuild(result, values.out);
}

function printBuild(result: BuildResult, out: string): void {
  const { compiled, instrumented } = result.sizes;
  const growth = (((instrumented - compiled) / compiled) * 100).toFixed(1);
  process.stdout.write(
    `wrote ${out} (${result.metadata.mode})\n` +
      `code size: ${formatBytes(compiled)} bytes compiled → ${formatBytes(instrumented)} bytes instrumented (+${growth}%)\n` +
      `module id: ${result.metadata.moduleId}\n`,
  );
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { "stack-limit": { type: "string" }, budget: { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("run takes one program (.wasm, or .ts to build first)");
  const file = positionals[0];
  const bytes = file.endsWith(".ts") ? (await buildProgram(file)).wasm : await readFile(file);
  const program = await Program.load(bytes);
  const rt = await Runtime.start(program, {
    print: (line) => process.stdout.write(line + "\n"),
    stackLimit: integerOption(values["stack-limit"], "stack-limit"),
  });
  await rt.run({ budget: integerOption(values.budget, "budget") });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "build") await build(rest);
    else if (command === "run") await run(rest);
    else if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      process.stdout.write(USAGE + "\n");
      return command === undefined ? 2 : 0;
    } else throw new UsageError(`unknown command "${command}"`);
    return 0;
  } catch (error) {
    if (error instanceof StasisError) {
      process.stderr.write(`stasis: ${error.code}: ${error.message}\n`);
    } else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`stasis: ${(error as Error).message}\n${USAGE}\n`);
      return 2;
    } else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`stasis: cannot read ${(error as NodeJS.ErrnoException).path}: no such file\n`);
    } else {
      process.stderr.write(`stasis: unexpected error: ${(error as Error).message ?? error}\n`);
    }
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

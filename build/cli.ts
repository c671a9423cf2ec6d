#!/usr/bin/env node
// The `stasis` command line.
//
//   stasis build prog.ts -o prog.wasm [--debug] [--preempt] [--shadow-stack BYTES] [-- ASC OPTIONS…]
//   stasis run prog.wasm|prog.ts [--checkpoint state.img] [--every 500ms] [--embed] [--stack-limit BYTES] [--budget N]
//              [--slice 10ms | --fuel N]     (programs built with --preempt)
//   stasis resume state.img|- [--program prog.wasm | --trust-embedded] [--checkpoint other.img] [--every 500ms] [--budget N] [--fork]
//   stasis inspect state.img [--program prog.wasm] [--json] [--tasklets [--time-limit 10s]]
//   stasis help [command] | stasis <command> --help | stasis --version   (build/cli-help.ts)
//
// Every failure prints `stasis: CODE: sentence` and exits non-zero; no stack traces.
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { decodeImage, isImageSigned, Program, Runtime, StasisError, type PrintLevel } from "../host/index.ts";
import { CheckpointWriter, loadImageChain } from "../host/node/index.ts";
import { decodeChain, mergeImages } from "../host/image/delta.ts";
import { checkWritable, cliMessage, helpText, ignoreClosedStdout, ioError, normalizeArgs, optionError, USAGE } from "./cli-help.ts";
import type { BuildResult } from "./index.ts";
import { slicer } from "./slicer.ts";
import { checkSignature, chooseProgram, imageKey, inspectInWorker, loadProgramFile, seal } from "./trust.ts";
import { formatStacks, stacksFromImage, onTaskletFailure } from "./inspect-stacks.ts";

/** The compiler is loaded only by the commands that build: it takes a while to load. */
async function buildProgram(...args: Parameters<typeof import("./index.ts").buildProgram>): Promise<BuildResult> {
  const build = await import("./index.ts");
  return build.buildProgram(...args);
}

class UsageError extends Error {}

function integerOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, got "${value}"`);
  return n;
}

function durationOption(value: string | undefined, name = "every"): number {
  if (value === undefined) return 500;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (!match) throw new UsageError(`--${name} takes a duration like 500ms, 2s or 1m, got "${value}"`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as "ms" | "s" | "m" ?? "ms"];
}

function formatBytes(n: number): string {
  return n.toLocaleString("en-US");
}

/** The program's console: warn and error lines go to stderr, the rest to stdout. */
const print = (line: string, level: PrintLevel = "log") => (level === "warn" || level === "error" ? process.stderr : process.stdout).write(line + "\n");

async function build(argv: string[]): Promise<void> {
  // Everything after `--` goes to asc as is (build/compile.ts checks it).
  const dashes = argv.indexOf("--");
  const args = dashes < 0 ? argv : argv.slice(0, dashes);
  const ascOptions = dashes < 0 ? [] : argv.slice(dashes + 1);
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string", short: "o" }, debug: { type: "boolean" }, preempt: { type: "boolean" }, "shadow-stack": { type: "string" } },
  });
  if (positionals.length !== 1 || !values.out) throw new UsageError("build takes one program and -o <output.wasm>");
  await checkWritable(values.out);
  const result = await buildProgram(positionals[0], {
    mode: values.debug ? "debug" : "release",
    preempt: values.preempt === true,
    shadowStackSize: integerOption(values["shadow-stack"], "shadow-stack"),
    ascOptions,
  });
  await writeFile(values.out, result.wasm).catch((cause: unknown) => {
    throw ioError(cause, "write", values.out!);
  });
  printBuild(result, values.out);
}

function printBuild(result: BuildResult, out: string): void {
  const { compiled, instrumented } = result.sizes;
  const growth = (((instrumented - compiled) / compiled) * 100).toFixed(1);
  process.stdout.write(
    `wrote ${out} (${result.metadata.mode}${result.metadata.preempt ? ", preemptible" : ""})\n` +
      `code size: ${formatBytes(compiled)} bytes compiled → ${formatBytes(instrumented)} bytes instrumented (+${growth}%)\n` +
      `module id: ${result.metadata.moduleId}\n`,
  );
}

interface DriveOptions {
  checkpoint?: string;
  every: number;
  embed: boolean;
  budget?: number;
  /** Preemptible programs: a fixed fuel per resumption, or a time slice (ms) to adapt it to. */
  fuel?: number;
  slice?: number;
}

/** Steps to the end, checkpointing every `every` ms, and once more on Ctrl-C or at the end. */
async function drive(rt: Runtime, options: DriveOptions): Promise<void> {
  const { checkpoint } = options;
  // Holds the checkpoint file's lock for the whole run: a second writer fails LOCKED.
  const writer = checkpoint ? await CheckpointWriter.open(checkpoint) : null;
  // A delta since the last save while the chain is short, else a full image (host/node/chain-store.ts).
  const save = writer ? async () => writer.saveState((since) => (since ? rt.snapshot({ since }) : rt.snapshot({ embed: options.embed })), seal) : async () => {};
  const progress = process.stderr.isTTY;
  const started = Date.now();
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.on("SIGINT", onInterrupt);
  process.on("SIGTERM", onInterrupt);
  try {
    let lastSave = Date.now();
    let lastDraw = 0;
    const next = slicer(rt, options);
    for (let status = rt.step(next()); status !== "done"; status = rt.step(next())) {
      if (status === "waiting") {
        if (rt.callsInFlight === 0) {
          await save();
          throw new StasisError("DEADLOCK", "every tasklet waits on a host call the command line cannot answer; run the program from a host with handlers");
        }
        await Promise.race([rt.settled(), new Promise((resolve) => setTimeout(resolve, options.every))]);
      }
      if (interrupted) {
        await save();
        if (progress) process.stderr.write("\r\x1b[K");
        process.stderr.write(checkpoint ? `stasis: interrupted; state saved to ${checkpoint}: continue with \`stasis resume ${checkpoint}\`\n` : "stasis: interrupted\n");
        process.exitCode = 130;
        return;
      }
      const now = Date.now();
      if (checkpoint && now - lastSave >= options.every) {
        await save();
        lastSave = now;
      }
      if (progress && now - lastDraw >= 200) {
        const saved = checkpoint ? `, checkpoint ${((now - lastSave) / 1000).toFixed(1)} s ago` : "";
        process.stderr.write(`\r\x1b[K  running ${((now - started) / 1000).toFixed(1)} s, ${rt.taskletCount()} tasklets${saved}`);
        lastDraw = now;
      }
      // Let signals and I/O in between steps.
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (progress) process.stderr.write("\r\x1b[K");
    await save();
  } finally {
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onInterrupt);
    await writer?.close();
  }
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      checkpoint: { type: "string" }, every: { type: "string" }, embed: { type: "boolean" },
      "stack-limit": { type: "string" }, budget: { type: "string" }, fuel: { type: "string" }, slice: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("run takes one program (.wasm, or .ts to build first)");
  if (values.every !== undefined && values.checkpoint === undefined) throw new UsageError("--every sets how often --checkpoint writes: pass --checkpoint <state.img> too");
  const file = positionals[0];
  const fromSource = file.endsWith(".ts");
  const program = fromSource ? await Program.load((await buildProgram(file)).wasm) : await loadProgramFile(file, false);
  const rt = await Runtime.start(program, { print, onTaskletFailure, stackLimit: integerOption(values["stack-limit"], "stack-limit") });
  await drive(rt, {
    checkpoint: values.checkpoint,
    every: durationOption(values.every),
    // A program built on the fly has no .wasm to find again: carry it in the image.
    embed: values.embed === true || fromSource,
    budget: integerOption(values.budget, "budget"),
    fuel: integerOption(values.fuel, "fuel"),
    slice: values.slice === undefined ? undefined : durationOption(values.slice, "slice"),
  });
}

/** The image at `path` as its chain: a base, then the deltas a checkpoint wrote after it. */
async function readImageArgument(path: string): Promise<Uint8Array<ArrayBuffer>[]> {
  if (path !== "-") return loadImageChain(path);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return [new Uint8Array(Buffer.concat(chunks))];
}

/** checkSignature over every image of a chain. */
async function checkChainSignature(chain: Uint8Array[]): Promise<boolean> {
  let signed = false;
  for (const image of chain) signed = await checkSignature(image);
  return signed;
}

async function resume(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      program: { type: "string" }, "trust-embedded": { type: "boolean" }, checkpoint: { type: "string" }, every: { type: "string" },
      budget: { type: "string" }, fuel: { type: "string" }, slice: { type: "string" }, fork: { type: "boolean" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("resume takes one image (or - for standard input)");
  if (values.every !== undefined && values.checkpoint === undefined && positionals[0] === "-") throw new UsageError("--every sets how often checkpoints are written: an image read from standard input needs --checkpoint <state.img>");
  const budget = integerOption(values.budget, "budget");
  const chain = await readImageArgument(positionals[0]);
  const contents = await decodeChain(chain);
  // With STASIS_IMAGE_KEY, only images signed with it; a signed image's embedded module is trusted.
  const signed = await checkChainSignature(chain);
  const program = await chooseProgram(contents, { explicit: values.program, imagePath: positionals[0], trustEmbedded: values["trust-embedded"] === true || signed });
  const rt = await Runtime.restore(program, chain, { print, onTaskletFailure, fork: values.fork === true });
  if (rt.done) {
    process.stderr.write("stasis: the program in this image had already finished\n");
    return;
  }
  const checkpoint = values.checkpoint ?? (positionals[0] === "-" ? undefined : positionals[0]);
  await drive(rt, {
    checkpoint,
    every: durationOption(values.every),
    embed: contents.module !== undefined,
    budget,
    fuel: integerOption(values.fuel, "fuel"),
    slice: values.slice === undefined ? undefined : durationOption(values.slice, "slice"),
  });
}

/** "none", "present (not checked: STASIS_IMAGE_KEY is not set)", "valid" or "INVALID: …". */
async function signatureStatus(image: Uint8Array): Promise<string> {
  if (!isImageSigned(image)) return "none";
  if (imageKey() === undefined) return "present (not checked: STASIS_IMAGE_KEY is not set)";
  return checkSignature(image).then(() => "valid", (error: StasisError) => `INVALID: ${error.message}`);
}

async function inspect(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { program: { type: "string" }, json: { type: "boolean" }, tasklets: { type: "boolean" }, "time-limit": { type: "string" } },
  });
  if (positionals.length !== 1) throw new UsageError("inspect takes one image");
  const chain = await readImageArgument(positionals[0]);
  const image = chain.length === 1 ? chain[0] : await mergeImages(chain[0], ...chain.slice(1));
  const contents = await decodeImage(image);
  const storedBytes = contents.memory.runs.reduce((sum, run) => sum + run.data.length, 0);
  let tasklets: ReturnType<Runtime["tasklets"]> | null = null;
  let calls: { id: number; name: string; tasklet: number; payload: string }[] | null = null;
  let taskletsNote = "not read: pass --tasklets to thaw the image and list them (that runs its program, under --time-limit)";
  // A --program that is not the image's module is a mistake, whether or not the image is thawed.
  if (values.program !== undefined && !values.tasklets) {
    const given = await chooseProgram(contents, { explicit: values.program, imagePath: positionals[0], trustEmbedded: false });
    if (given && given.id !== contents.moduleId) {
      throw new StasisError("MODULE_MISMATCH", `the image needs module ${contents.moduleId}, but ${values.program} is module ${given.id}; pass the .wasm it was frozen from`);
    }
  }
  // Thawing runs module code: only when asked, in a worker stopped after the time limit.
  if (values.tasklets) {
    await checkChainSignature(chain);
    try {
      const program = await chooseProgram(contents, { explicit: values.program, imagePath: positionals[0], trustEmbedded: true });
      ({ tasklets, calls } = await inspectInWorker(image, program, durationOption(values["time-limit"] ?? "10s", "time-limit")));
      tasklets?.sort((a, b) => a.id - b.id);
    } catch (error) {
      // Only a recorded path may be stale; a wrong --program is the user's mistake.
      if (!(error instanceof StasisError) || error.code !== "MODULE_MISMATCH" || values.program !== undefined) throw error;
      taskletsNote = `unavailable: ${error.message}`;
    }
  }
  // Stacks are decoded from the image bytes alone (no module code runs): no --tasklets needed.
  const stacks = await stacksFromImage(contents, values.program, positionals[0]);
  const report = {
    moduleId: contents.moduleId,
    abi: contents.abi,
    program: contents.host.program ?? null,
    embeddedModuleBytes: contents.module?.length ?? 0,
    done: contents.host.done,
    imageBytes: image.length,
    memoryBytes: contents.memory.pages * 65536,
    memoryStoredBytes: storedBytes,
    globals: contents.globals.length,
    signature: await signatureStatus(chain[chain.length - 1]),
    tasklets,
    stacks,
    pendingCalls: calls,
  };
  if (values.json) {
    print(JSON.stringify(report, null, 2));
    return;
  }
  print(`module id   ${report.moduleId} (ABI ${report.abi})`);
  print(`program     ${report.program ?? "(not recorded)"}${report.embeddedModuleBytes ? `, embedded (${formatBytes(report.embeddedModuleBytes)} bytes)` : ""}`);
  print(`state       ${report.done ? "finished" : "running"}`);
  print(`image       ${formatBytes(report.imageBytes)} bytes`);
  print(`memory      ${formatBytes(report.memoryBytes)} bytes, ${formatBytes(storedBytes)} non-zero bytes stored`);
  print(`globals     ${report.globals}`);
  print(`signature   ${report.signature}`);
  const stackLines = stacks ? formatStacks(stacks) : [];
  if (stackLines.length > 0) print("stacks (innermost last)\n" + stackLines.join("\n"));
  if (!tasklets) {
    print(`tasklets    ${taskletsNote}`);
    return;
  }
  print(`tasklets    ${tasklets.length}`);
  print("  id  status     waiting for  stack bytes");
  for (const t of tasklets) {
    print(`${String(t.id).padStart(4)}  ${t.status.padEnd(9)}  ${(t.status === "normal" ? t.waitingFor : "").padEnd(11)}  ${String(t.stackBytes).padStart(11)}`);
  }
  print(`host calls  ${calls!.length} pending`);
  for (const c of calls!) {
    const payload = c.payload.length > 60 ? c.payload.slice(0, 57) + "..." : c.payload;
    print(`  call ${c.id} ${c.name}(${JSON.stringify(payload)}) from tasklet ${c.tasklet}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = normalizeArgs(argv);
  try {
    const help = helpText(argv);
    if (help !== undefined) {
      process.stdout.write(help);
      return 0;
    }
    if (command === "build") await build(rest);
    else if (command === "run") await run(rest);
    else if (command === "resume") await resume(rest);
    else if (command === "inspect") await inspect(rest);
    else if (command === "fleet") process.exitCode = await (await import("./fleet-cli.ts")).fleetCommand(rest);
    else if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      process.stdout.write(USAGE + "\n");
      return command === undefined ? 2 : 0;
    } else throw new UsageError(`unknown command "${command}"`);
    return Number(process.exitCode ?? 0);
  } catch (thrown) {
    const error = optionError(thrown, command ?? "") ?? thrown;
    if (error instanceof StasisError) {
      process.stderr.write(`stasis: ${error.code}: ${cliMessage(error.message)}\n`);
      if (error.code === "BAD_OPTION") return 2;
    } else if (error instanceof UsageError) {
      process.stderr.write(`stasis: BAD_OPTION: ${error.message}; see \`stasis help${command in { build: 1, run: 1, resume: 1, inspect: 1 } ? " " + command : ""}\`\n`);
      return 2;
    } else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`stasis: cannot read ${(error as NodeJS.ErrnoException).path}: no such file\n`);
    } else {
      process.stderr.write(`stasis: unexpected error: ${(error as Error).message ?? error}\n`);
    }
    return 1;
  }
}

ignoreClosedStdout();
process.exitCode = await main(process.argv.slice(2));

// The whole console of AssemblyScript's standard library reaches the host's printer with
// a level; the command line writes warn and error lines to stderr.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { Program, Runtime, type PrintLevel } from "../host/index.ts";
import { programPath } from "./helpers.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
let built: Promise<Program> | undefined;
const program = () => (built ??= buildProgram(programPath("console.ts")).then((b) => Program.load(b.wasm)));

describe("console", () => {
  it("prints every console method of the standard library with its level", async () => {
    const lines: [string, PrintLevel][] = [];
    const rt = await Runtime.start(await program(), { print: (line, level) => lines.push([line, level]) });
    await rt.run();
    const timing = /^work: \d+\.\d{3}ms$/;
    expect(lines).toEqual([
      ["a log line", "log"],
      ["a debug line", "debug"],
      ["an info line", "info"],
      ["a warning", "warn"],
      ["an error", "error"],
      ["Assertion failed: arithmetic is broken", "error"],
      [expect.stringMatching(timing), "log"],
      [expect.stringMatching(timing), "log"],
      ["Timer 'work' does not exist (console.timeEnd; timers do not survive a freeze)", "warn"],
      ["sum 499500", "log"],
    ]);
  });

  it("keeps print(line) callers working: a one-parameter printer gets every line", async () => {
    const lines: string[] = [];
    const rt = await Runtime.start(await program(), { print: (line) => lines.push(line) });
    await rt.run();
    expect(lines).toHaveLength(10);
  });

  it("writes warn and error lines to stderr from the command line, the rest to stdout", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stasis-console-"));
    const wasm = join(dir, "console.wasm");
    await writeFile(wasm, (await buildProgram(programPath("console.ts"))).wasm);
    const { stdout, stderr } = await exec(process.execPath, [cli, "run", wasm]);
    expect(stdout).toMatch(/^a log line\na debug line\nan info line\nwork: .*ms\nwork: .*ms\nsum 499500\n$/);
    expect(stderr).toBe("a warning\nan error\nAssertion failed: arithmetic is broken\nTimer 'work' does not exist (console.timeEnd; timers do not survive a freeze)\n");
  });
});

describe("asc options through stasis build", () => {
  it("passes the options after -- to asc", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stasis-asc-"));
    const source = join(dir, "uses.ts");
    const wasm = join(dir, "uses.wasm");
    await writeFile(source, "export function main(): void { console.log(GREETING.toString()); }\n");
    await exec(process.execPath, [cli, "build", source, "-o", wasm, "--", "--use", "GREETING=42"]);
    const { stdout } = await exec(process.execPath, [cli, "run", wasm]);
    expect(stdout).toBe("42\n");
  });

  it("rejects_reserved_or_unknown_asc_options with BAD_OPTION before compiling", async () => {
    await expect(buildProgram(programPath("console.ts"), { ascOptions: ["--runtime", "stub"] })).rejects.toMatchObject({
      code: "BAD_OPTION",
      message: expect.stringContaining("the asc option --runtime cannot be passed through stasis build: tasklets need the incremental runtime"),
    });
    await expect(buildProgram(programPath("console.ts"), { ascOptions: ["--noSuchOption"] })).rejects.toMatchObject({ code: "BAD_OPTION", message: expect.stringContaining("asc has no option --noSuchOption") });
  });
});

describe("stasis resume --budget", () => {
  it("rejects_bad_budget on resume with the same usage sentence as run", async () => {
    const failed = await exec(process.execPath, [cli, "resume", "state.img", "--budget", "0"]).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('stasis: BAD_OPTION: --budget takes a positive whole number, got "0"') });
  });
});

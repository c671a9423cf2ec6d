// The `stasis` command explains itself: --version, help, <command> --help, and a
// `stasis: CODE: sentence` line for each mistake a user makes (build/cli-help.ts).
import { execFile, spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { Program, Runtime } from "../host/index.ts";
import { saveImage } from "../host/node/index.ts";
import { programPath } from "./helpers.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
let dir: string;
let pingpong: string;
let channels: string;
let image: string;

async function stasis(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const error = e as { code: number; stdout: string; stderr: string };
    return { code: error.code, stdout: error.stdout, stderr: error.stderr };
  }
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at |node:internal/);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-cli-"));
  pingpong = join(dir, "pingpong.wasm");
  channels = join(dir, "channels.wasm");
  await writeFile(pingpong, (await buildProgram(programPath("pingpong.ts"))).wasm);
  await writeFile(channels, (await buildProgram(programPath("channels.ts"))).wasm);
  const rt = await Runtime.start(await Program.load(new Uint8Array(await readFile(pingpong)), { source: pingpong }), { print: () => {} });
  rt.step({ budget: 2 });
  image = join(dir, "state.img");
  await saveImage(image, rt.snapshot());
});

describe("stasis explains itself", () => {
  it("prints its version with --version", async () => {
    const { version } = JSON.parse(await readFile(join(packageRoot(), "package.json"), "utf8")) as { version: string };
    expect(await stasis("--version")).toEqual({ code: 0, stdout: `stasis ${version}\n`, stderr: "" });
  });

  it("prints every command's usage with help, and one command's with help <command> and <command> --help", async () => {
    const all = await stasis("help");
    expect(all.code).toBe(0);
    for (const command of ["build", "run", "resume", "inspect"]) expect(all.stdout).toContain(`stasis ${command} `);
    for (const command of ["build", "run", "resume", "inspect"]) {
      const viaHelp = await stasis("help", command);
      const viaFlag = await stasis(command, "--help");
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toMatch(new RegExp(`^usage: stasis ${command} `));
      expect(viaFlag).toEqual(viaHelp);
    }
    expect((await stasis("build", "--help")).stdout).toContain("--shadow-stack <bytes>");
  });

  it("rejects_help_for_an_unknown_command", async () => {
    expect(await stasis("help", "frobnicate")).toMatchObject({ code: 2, stderr: expect.stringMatching(/^stasis: BAD_OPTION: there is no command "frobnicate"; the commands are build, run/) });
  });

  it("rejects_a_missing_input_file_to_build as IO_ERROR naming it, not a compile error", async () => {
    const result = await stasis("build", join(dir, "nope.ts"), "-o", join(dir, "nope.wasm"));
    expect(result).toMatchObject({ code: 1, stderr: `stasis: IO_ERROR: cannot read ${join(dir, "nope.ts")}: no such file\n` });
  });

  it("rejects_an_unwritable_output as IO_ERROR saying it cannot write", async () => {
    const locked = join(dir, "locked");
    await mkdir(locked);
    await chmod(locked, 0o500);
    const out = process.getuid?.() === 0 ? join(dir, "no-such-dir", "out.wasm") : join(locked, "out.wasm");
    const result = await stasis("build", programPath("pingpong.ts"), "-o", out);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^stasis: IO_ERROR: cannot write ${out.replace(/[.]/g, "\\.")}: (no such file or directory|permission denied)\\n$`));
  });

  it("rejects_a_negative_fuel with a sentence, not parseArgs' text", async () => {
    const result = await stasis("run", pingpong, "--fuel", "-1");
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/^stasis: BAD_OPTION: --fuel takes a positive whole number, got "-1"/) });
  });

  it("rejects_an_unknown_option naming the command's help", async () => {
    const result = await stasis("build", programPath("pingpong.ts"), "--fast");
    expect(result).toMatchObject({ code: 2, stderr: "stasis: BAD_OPTION: build has no option --fast; see `stasis help build`\n" });
  });

  it("rejects_every_without_checkpoint instead of ignoring it", async () => {
    const result = await stasis("run", pingpong, "--every", "1s");
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/^stasis: BAD_OPTION: --every sets how often --checkpoint writes: pass --checkpoint/) });
    expect(result.stdout).toBe("");
  });

  it("rejects_inspect_with_the_wrong_program: MODULE_MISMATCH, exit 1", async () => {
    const result = await stasis("inspect", image, "--program", channels);
    expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/^stasis: MODULE_MISMATCH: /) });
  });

  it("lists tasklets in ascending id", async () => {
    const result = await stasis("inspect", image, "--tasklets");
    expect(result.code).toBe(0);
    const ids = [...result.stdout.matchAll(/^\s+(\d+) {2}/gm)].map((m) => Number(m[1]));
    expect(ids.length).toBeGreaterThan(1);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const json = JSON.parse((await stasis("inspect", image, "--json", "--tasklets")).stdout) as { tasklets: { id: number }[] };
    expect(json.tasklets.map((t) => t.id)).toEqual(ids);
  });

  it("rejects_a_closed_stdout quietly: inspect | head ends without a stack trace", async () => {
    const child = spawn(process.execPath, [cli, "inspect", image, "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // the reader is gone before the first line
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("rejects_recursion_past_the_shadow_stack naming --shadow-stack, the flag that fixes it", async () => {
    const source = join(dir, "recurse.ts");
    await writeFile(source, 'function down(n: i32): i32 {\n  const s = "x" + n.toString();\n  return n == 0 ? 0 : down(n - 1) + s.length;\n}\nexport function main(): void {\n  console.log(down(100000).toString());\n}\n');
    const wasm = join(dir, "recurse.wasm");
    expect((await stasis("build", source, "-o", wasm, "--shadow-stack", "4096")).code).toBe(0);
    const result = await stasis("run", wasm);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stasis: ABORT: .*shadow stack is full.*--shadow-stack <bytes>/);
    expect(result.stderr).not.toContain("shadowStackSize");
    noStack(result.stderr);
  });
});

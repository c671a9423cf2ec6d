// Checkpoints across processes: kill -9 at random moments and resume from disk, and
// migration of a running program to another process through a pipe.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { decodeImage, Program, Runtime } from "../host/index.ts";
import { loadImage } from "../host/node/index.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
const ANSWER = "There are 5133 primes up to 50000; the largest is 49999.";
let dir: string;
let wasm: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-process-"));
  wasm = join(dir, "primes.wasm");
  await writeFile(wasm, (await buildProgram(join(packageRoot(), "examples", "primes", "program.ts"))).wasm);
});

/** The inode at `path` (a new checkpoint is renamed over it: a new inode), or null. */
async function inode(path: string): Promise<number | null> {
  return stat(path).then((s) => s.ino, () => null);
}

/**
 * Starts the CLI; with `kill`, SIGKILLs it a few random milliseconds after it wrote a new
 * checkpoint of a program still running (driven by what was checkpointed, not by how
 * fast the machine is). Resolves with what it printed.
 */
function runAndKill(args: string[], state: string, kill: boolean): Promise<{ stdout: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let exited = false;
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      exited = true;
      resolve({ stdout, killed: signal === "SIGKILL" });
    });
    if (!kill) return;
    void (async () => {
      const before = await inode(state);
      while (!exited) {
        const now = await inode(state);
        if (now !== null && now !== before) {
          const image = await readFile(state).catch(() => null);
          if (image === null) continue;
          if ((await decodeImage(image)).host.done) return; // the last one: let it finish
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
          child.kill("SIGKILL");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })().catch(reject);
  });
}

/**
 * Runs `program` from the CLI with checkpoints to `state` (or resumes from them), killing
 * each process with SIGKILL after it wrote a checkpoint, `kills` times, then lets it
 * finish. Every checkpoint left on disk must load. Returns the last run's output.
 */
async function killAndResume(program: string, state: string, kills: number, flags: string[]) {
  let killed = 0;
  for (let round = 0; round < kills * 10; round++) {
    const args = existsSync(state) ? ["resume", state, ...flags] : ["run", program, "--checkpoint", state, ...flags];
    const run = await runAndKill(args, state, killed < kills);
    if (existsSync(state)) await loadImage(state); // never unreadable: throws if damaged
    if (!run.killed) return { killed, output: run.stdout };
    killed++;
  }
  throw new Error(`the program did not finish after ${killed} kills`);
}

describe("checkpoints survive kill -9", () => {
  it("resumes 20+ times from disk and prints the uninterrupted answer", async () => {
    const { killed, output } = await killAndResume(wasm, join(dir, "state.img"), 20, ["--every", "20ms"]);
    expect(killed).toBeGreaterThanOrEqual(20);
    expect(output.trim().split("\n").pop()).toBe(ANSWER);
    // 21 process starts, each waited for until it checkpoints: on a loaded machine that is slow.
  }, 600_000);
});

describe("preemptible programs under kill -9", () => {
  it("a loop with no Stasis calls, checkpointed mid-loop, resumes to the uninterrupted answer", async () => {
    const loop = join(dir, "longloop.wasm");
    await writeFile(loop, (await buildProgram(join(packageRoot(), "test", "programs", "longloop.ts"), { preempt: true })).wasm);
    const { killed, output } = await killAndResume(loop, join(dir, "loop.img"), 5, ["--every", "20ms", "--slice", "5ms"]);
    expect(killed).toBeGreaterThanOrEqual(5);
    expect(output.trim()).toBe("primes below 3000000: 216816");
  }, 600_000);
});

describe("Ctrl-C", () => {
  it("writes a last checkpoint and exits 130; resume finishes the run", async () => {
    const state = join(dir, "interrupted.img");
    const child = spawn(process.execPath, [cli, "run", wasm, "--checkpoint", state, "--every", "100ms"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // Interrupt once it is running (it has written a checkpoint).
    while (!existsSync(state)) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill("SIGINT");
    const code = await new Promise((resolve) => child.on("exit", resolve));
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted; state saved to .*interrupted\.img/);
    await loadImage(state);
    const { stdout } = await exec(process.execPath, [cli, "resume", state]);
    expect(stdout.trim().split("\n").pop()).toBe(ANSWER);
  });
});

describe("migration to another process", () => {
  it("finishes in a child process from an image sent over a pipe", async () => {
    const program = await Program.load(new Uint8Array(await readFile(wasm)));
    const rt = await Runtime.start(program, { print: () => {} });
    for (let i = 0; i < 50; i++) rt.step({ budget: 5000 });
    expect(rt.done).toBe(false);
    const image = rt.snapshot();
    const child = exec(process.execPath, [cli, "resume", "-", "--program", wasm]);
    child.child.stdin!.end(Buffer.from(image));
    const { stdout } = await child;
    expect(stdout.trim()).toBe(ANSWER);
  });
});

describe("stasis resume and inspect", () => {
  it("rejects_damaged_image with the error code and a sentence, exit code 1", async () => {
    const damaged = join(dir, "damaged.img");
    await writeFile(damaged, Buffer.from("STASISIM but not really an image"));
    const result = await exec(process.execPath, [cli, "resume", damaged]).catch((e: { code: number; stderr: string }) => e);
    expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/^stasis: (TRUNCATED|CORRUPT): .+\n$/) });
  });

  it("inspects an image: module, sizes and every tasklet", async () => {
    const program = await Program.load(new Uint8Array(await readFile(wasm)), { source: wasm });
    const rt = await Runtime.start(program, { print: () => {} });
    rt.step({ budget: 2000 });
    const image = join(dir, "inspect.img");
    await writeFile(image, rt.snapshot());
    const { stdout } = await exec(process.execPath, [cli, "inspect", image, "--json", "--tasklets"]);
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ moduleId: program.id, program: wasm, done: false, globals: program.metadata.globals.length });
    // Every tasklet, as rt.tasklets() has them, listed by ascending id.
    expect(report.tasklets).toEqual(rt.tasklets().sort((a, b) => a.id - b.id));
    const text = await exec(process.execPath, [cli, "inspect", image, "--tasklets"]);
    expect(text.stdout).toMatch(/tasklets +\d+/);
  });
});

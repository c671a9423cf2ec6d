// Readable stacks (host/stacks.ts): the call chain decoded from a tasklet's saved Asyncify
// frames matches the program's own record of where it is, for deep mixed recursion,
// virtual dispatch, indirect calls, channels, host calls, sleep, join and preempted
// loops; an image alone gives the same stacks; damaged memory gives CORRUPT, nothing else.
import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildProgram, type BuildMode } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { decodeImage, Program, Runtime, StasisError, type TaskletInfo } from "../host/index.ts";
import { parseFrames } from "../host/frames.ts";
import { imageTasklets } from "../host/stacks.ts";
import { programPath } from "./helpers.ts";

const exec = promisify(execFile);
const cache = new Map<string, Promise<Program>>();
function load(mode: BuildMode, preempt: boolean): Promise<Program> {
  const key = `${mode}:${preempt}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = buildProgram(programPath("stacks.ts"), { mode, preempt }).then((b) => Program.load(b.wasm))));
  return p;
}

const TASKLETS_WITHOUT_SPINNER = 9;

/** Starts the program and steps one resumption at a time until every tasklet has blocked once. */
async function blocked(mode: BuildMode, preempt: boolean): Promise<Runtime> {
  const rt = await Runtime.start(await load(mode, preempt), { print: () => {}, handlers: { approval: () => new Promise(() => {}) } });
  if (preempt) (rt.exports.setPreempt as (on: number) => void)(1);
  const want = TASKLETS_WITHOUT_SPINNER + (preempt ? 1 : 0);
  for (let i = 0; i < 200; i++) {
    rt.step(preempt ? { budget: 1, fuel: 20_000 } : { budget: 1 });
    if (rt.tasklets().length === want && rt.tasklets().every((t) => own(rt, t.id).wait !== "")) break;
  }
  return rt;
}

/** The program's own record of where tasklet `id` is. */
function own(rt: Runtime, id: number): { path: string[]; wait: string } {
  const text = (rt.exports.__getString as (p: number) => string)((rt.exports.reportOf as (id: number) => number)(id));
  const [path, wait] = text.split("|");
  return { path: path ? path.split(">") : [], wait: wait ?? "" };
}

function decoded(t: TaskletInfo): { path: string[]; wait: string } {
  return { path: t.stack!.frames.filter((f) => !f.library).map((f) => f.function), wait: t.stack!.waitsOn };
}

function isSubsequence(part: string[], whole: string[]): boolean {
  let i = 0;
  for (const name of whole) if (i < part.length && part[i] === name) i++;
  return i === part.length;
}

function expectWait(actual: string, expected: string): void {
  if (expected === "sleep") expect(actual).toMatch(/^sleep until \d{4}-\d\d-\d\dT/);
  else expect(actual).toBe(expected);
}

describe("readable stacks", () => {
  for (const [mode, preempt] of [["debug", false], ["release", false], ["debug", true], ["release", true]] as const) {
    it(`match the program's own record at the same point (${mode}${preempt ? ", --preempt" : ""})`, async () => {
      const rt = await blocked(mode, preempt);
      const tasklets = rt.tasklets();
      expect(tasklets.length).toBe(TASKLETS_WITHOUT_SPINNER + (preempt ? 1 : 0));
      const waits = new Set<string>();
      for (const t of tasklets) {
        const mine = own(rt, t.id);
        const theirs = decoded(t);
        expect(t.stack!.complete, `tasklet ${t.id}: ${t.stack!.note}`).toBe(true);
        // Debug builds inline nothing: every frame is there. Release builds inline some
        // functions into their callers: the frames left are the program's, in order, from the same root.
        if (mode === "debug") expect(theirs.path, `tasklet ${t.id}`).toEqual(mine.path);
        else {
          expect(isSubsequence(theirs.path, mine.path), `tasklet ${t.id}: ${theirs.path.join(">")} in ${mine.path.join(">")}`).toBe(true);
          expect(theirs.path[0]).toBe(mine.path[0]);
        }
        expectWait(theirs.wait, mine.wait);
        waits.add(theirs.wait.replace(/ until .*/, ""));
      }
      expect([...waits].sort()).toEqual(
        ["Channel#receive", "Channel#send", 'hostCall("approval", "order-17")', "join(2)", "schedule() (runnable)", "sleep", ...(preempt ? ["preempted (runnable)"] : [])].sort(),
      );
      // The deepest chain: 9 levels of even/odd, then 5 of Tree#walk (release may fold odd into even).
      const walker = tasklets.find((t) => decoded(t).path[0] === "Walker#run")!;
      expect(decoded(walker).path.filter((n) => n === "Tree#walk").length).toBe(5);
      const indirect = tasklets.find((t) => decoded(t).path[0] === "Indirect#run")!;
      expect(decoded(indirect).path).toEqual(["Indirect#run", "countdown", "countdown", "countdown", "countdown"]);
    });
  }

  it("are the same when decoded from the image alone, which runs no module code", async () => {
    const rt = await blocked("release", true);
    const image = rt.snapshot({ embed: true });
    const fromImage = imageTasklets(rt.program.frames!, await decodeImage(image));
    expect(fromImage.map((t) => ({ id: t.id, status: t.status, waitingFor: t.waitingFor, stack: t.stack }))).toEqual(
      rt.tasklets().map((t) => ({ id: t.id, status: t.status, waitingFor: t.waitingFor, stack: t.stack })),
    );
    const dir = await mkdtemp(join(tmpdir(), "stasis-stacks-"));
    await writeFile(join(dir, "s.img"), image);
    const cli = join(packageRoot(), "dist", "build", "cli.js");
    // The image embeds its module: inspect reads only its frame table, runs nothing (no --trust-embedded needed).
    const { stdout } = await exec(process.execPath, [cli, "inspect", join(dir, "s.img")]);
    expect(stdout).toContain('hostCall("approval", "order-17")');
    expect(stdout).toMatch(/tasklet \d+: preempted \(runnable\)\n {4}Spinner#run +\(stacks\.ts\)\n {4}spin/);
    const json = JSON.parse((await exec(process.execPath, [cli, "inspect", join(dir, "s.img"), "--json"])).stdout);
    expect(json.stacks.map((t: TaskletInfo) => t.stack)).toEqual(rt.tasklets().map((t) => t.stack));
  });

  it("rejects_damaged_memory with CORRUPT and nothing else", async () => {
    const rt = await blocked("release", false);
    const contents = await decodeImage(rt.snapshot());
    const table = rt.program.frames!;
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 300; round++) {
      const runs = contents.memory.runs.map((r) => ({ firstChunk: r.firstChunk, data: r.data.slice() }));
      for (let flips = 0; flips < 1 + Math.floor(random() * 8); flips++) {
        const run = runs[Math.floor(random() * runs.length)];
        const at = Math.floor(random() * run.data.length);
        run.data[at] = Math.floor(random() * 256);
      }
      try {
        imageTasklets(table, { ...contents, memory: { ...contents.memory, runs } });
      } catch (error) {
        expect(error).toBeInstanceOf(StasisError);
        expect((error as StasisError).code).toBe("CORRUPT");
      }
    }
    // A registry head pointing outside memory.
    const head = contents.globals.find((g) => g.index === table.globals.liveHead)!;
    const bad = { ...contents, globals: contents.globals.map((g) => (g === head ? { ...g, lo: 0xfffffff0, hi: 0 } : g)) };
    expect(() => imageTasklets(table, bad)).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    // A saved stack claiming more bytes than its block holds.
    const runs = contents.memory.runs.map((r) => ({ firstChunk: r.firstChunk, data: r.data.slice() }));
    const at = (address: number) => {
      const run = runs.find((r) => address >= r.firstChunk << 12 && address < (r.firstChunk << 12) + r.data.length)!;
      return { view: new DataView(run.data.buffer), offset: address - (run.firstChunk << 12) };
    };
    const u32 = (address: number) => at(address).view.getUint32(at(address).offset, true);
    const first = head.lo;
    const saved = u32(first + table.layout.tasklet_saved);
    expect(saved).not.toBe(0);
    at(saved + table.layout.saved_asyncBytes).view.setUint32(at(saved + table.layout.saved_asyncBytes).offset, 0x7ffffff0, true);
    expect(() => imageTasklets(table, { ...contents, memory: { ...contents.memory, runs } })).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });

  it("rejects_damaged_frame_table with CORRUPT", () => {
    for (const text of ["", "{", '{"version":2}', '{"version":1,"functions":[{"name":"f","localsBytes":0,"calls":[7]}],"entry":0}']) {
      expect(() => parseFrames(new TextEncoder().encode(text))).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    }
  });
});

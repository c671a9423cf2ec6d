// The checkpoint store (host/node/store.ts, lock.ts): no symlink following, typed I/O
// errors with no temporary file left, stray temporary files swept, one writer per file.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { DEFER, Runtime, StasisError, isDeltaImage, type HostHandler } from "../host/index.ts";
import { CheckpointWriter, loadImage, loadImageChain, lockPathFor, saveImage } from "../host/node/index.ts";
import { loadProgram } from "./helpers.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
const writerScript = join(packageRoot(), "test", "child", "writer.mjs");
const chainWriterScript = join(packageRoot(), "test", "child", "chain-writer.mjs");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-store-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fresh(name: string): Promise<string> {
  const sub = join(dir, name);
  await mkdir(sub);
  return sub;
}

async function rejection(promise: Promise<unknown>): Promise<StasisError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(StasisError);
  return error as StasisError;
}

/** Starts the writer child and resolves once it printed `line` (the event, not a delay). */
function startChild(args: string[], line: string, script = writerScript): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    child.stdout!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes(line)) resolve(child);
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`writer child exited (${code}) before printing ${line}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.on("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

describe("checkpoint files", () => {
  it("rejects_planted_symlink: a symlink at a temporary name or at the target never writes its target", async () => {
    const sub = await fresh("symlink");
    const victim = join(sub, "victim.txt");
    await writeFile(victim, "precious");
    const state = join(sub, "state.img");
    // The name the store used before (predictable from the pid), and the target itself.
    await symlink(victim, join(sub, `.state.img.${process.pid}.tmp`));
    await saveImage(state, new Uint8Array([1, 2, 3]));
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect(await readFile(state)).toEqual(Buffer.from([1, 2, 3]));
    const linked = join(sub, "linked.img");
    await symlink(victim, linked);
    await saveImage(linked, new Uint8Array([4, 5]));
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect(await readFile(linked)).toEqual(Buffer.from([4, 5]));
    // The planted link was swept as a stray temporary file; nothing else is left.
    expect((await readdir(sub)).sort()).toEqual(["linked.img", "state.img", "victim.txt"]);
  });

  it("rejects_unwritable_target with IO_ERROR naming the path, and leaves no temporary file", async () => {
    const sub = await fresh("unwritable");
    const target = join(sub, "dir.img");
    await mkdir(target);
    const error = await rejection(saveImage(target, new Uint8Array(10)));
    expect(error.code).toBe("IO_ERROR");
    expect(error.message).toContain(target);
    expect(error.message).toMatch(/directory/);
    const missing = await rejection(saveImage(join(sub, "no", "such", "dir.img"), new Uint8Array(10)));
    expect(missing.code).toBe("IO_ERROR");
    expect(await readdir(sub)).toEqual(["dir.img"]);
  });

  it("rejects_full_disk: ENOSPC is IO_ERROR, the previous image stays and no temporary file is left", async (context) => {
    if (process.platform !== "linux" || process.getuid?.() !== 0) {
      console.log("skipped: the ENOSPC test mounts a 64 KiB tmpfs, which needs root on Linux");
      context.skip();
    }
    const mount = await fresh("tmpfs");
    try {
      await exec("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mount]);
    } catch (error) {
      console.log(`skipped: cannot mount a tmpfs here (${(error as Error).message.split("\n")[0]})`);
      context.skip();
    }
    try {
      const state = join(mount, "state.img");
      const small = new Uint8Array(8 * 1024).fill(1);
      await saveImage(state, small);
      const error = await rejection(saveImage(state, new Uint8Array(256 * 1024).fill(2)));
      expect(error.code).toBe("IO_ERROR");
      expect(error.message).toContain(state);
      expect(error.message).toMatch(/no space left/);
      expect(new Uint8Array(await readFile(state))).toEqual(small);
      expect(await readdir(mount)).toEqual(["state.img"]);
    } finally {
      await exec("umount", [mount]);
    }
  });

  it("a writer killed mid-write leaves a temporary file that the next writer sweeps", async () => {
    const sub = await fresh("killed");
    const state = join(sub, "state.img");
    const strays = async () => (await readdir(sub)).filter((n) => n.endsWith(".tmp"));
    let caught = false;
    for (let attempt = 0; attempt < 20 && !caught; attempt++) {
      const child = await startChild(["write", state, "32"], "saved");
      // Kill it as soon as a temporary file exists (a write in progress).
      while ((await strays()).length === 0) await new Promise((resolve) => setImmediate(resolve));
      await kill(child);
      caught = (await strays()).length > 0;
    }
    expect(caught).toBe(true);
    expect(existsSync(lockPathFor(state))).toBe(true); // the dead writer's lock is stale
    const writer = await CheckpointWriter.open(state); // takes the stale lock over, sweeps
    expect(await strays()).toEqual([]);
    await writer.save(new Uint8Array([9]));
    await writer.close();
    expect(await readdir(sub)).toEqual(["state.img"]);
  });

  it("rejects_second_writer: two writers to one file, in one process or two, the second fails LOCKED", async () => {
    const sub = await fresh("two");
    const state = join(sub, "state.img");
    const first = await CheckpointWriter.open(state);
    expect((await rejection(CheckpointWriter.open(state))).code).toBe("LOCKED");
    expect((await rejection(saveImage(state, new Uint8Array(1)))).code).toBe("LOCKED");
    await first.close();
    await saveImage(state, new Uint8Array(1));

    const child = await startChild(["hold", state], "locked");
    try {
      const wasm = join(packageRoot(), "test", "fixtures", "pingpong-v1.wasm");
      const result = await exec(process.execPath, [cli, "run", wasm, "--checkpoint", state]).catch((e: { code: number; stderr: string }) => e);
      expect(result).toMatchObject({ code: 1, stderr: expect.stringMatching(/^stasis: LOCKED: another writer checkpoints to .*state\.img: process \d+ holds it/) });
      expect((await rejection(CheckpointWriter.open(state))).code).toBe("LOCKED");
    } finally {
      await kill(child);
    }
    // Its holder is dead: the lock is stale and taken over.
    await saveImage(state, new Uint8Array([2]));
    expect(await readdir(sub)).toEqual(["state.img"]);
  });

  it("rejects_stolen_lock: a writer whose lock was taken stops with LOCKED", async () => {
    const sub = await fresh("stolen");
    const state = join(sub, "state.img");
    const writer = await CheckpointWriter.open(state);
    await writeFile(lockPathFor(state), JSON.stringify({ pid: 1, host: hostname(), nonce: "someone-else", since: "now" }));
    expect((await rejection(writer.save(new Uint8Array(1)))).code).toBe("LOCKED");
    expect(existsSync(state)).toBe(false);
    await writer.close();
  });

  it("rejects_special_files: loadImage reads only regular files, within the size limit", async () => {
    const sub = await fresh("special");
    expect((await rejection(loadImage("/dev/zero"))).code).toBe("IO_ERROR");
    expect((await rejection(loadImage(sub))).code).toBe("IO_ERROR");
    await exec("mkfifo", [join(sub, "fifo")]);
    const fifo = await rejection(loadImage(join(sub, "fifo")));
    expect(fifo.code).toBe("IO_ERROR");
    expect(fifo.message).toMatch(/not a regular file/);
    const big = join(sub, "big.img");
    await writeFile(big, new Uint8Array(16 << 20));
    expect((await rejection(loadImage(big, { maxMemoryBytes: 1 << 16, maxModuleBytes: 1 << 16 }))).code).toBe("LIMIT");
    expect((await rejection(loadImage(join(sub, "none.img")))).code).toBe("NOT_FROZEN");
  });

  describe("a base and a chain of deltas (chain-store.ts)", () => {
    const churnHandlers: Record<string, HostHandler> = { op: () => DEFER, main: () => DEFER };

    async function churning() {
      const program = await loadProgram("churn.ts");
      const rt = await Runtime.start(program, { print: () => {}, handlers: churnHandlers, seed: 1 });
      const advance = (n: number) => {
        for (const call of rt.pendingCalls()) rt.complete(call.id, call.name === "main" ? "0" : ["a3000", "f1", "y1", "s7"][(n + call.id) % 4]);
        rt.step({ budget: 20 });
      };
      return { program, rt, advance };
    }

    it("saveState writes deltas after a base, compacts every maxDeltas, and loads as the latest state", async () => {
      const sub = await fresh("chain");
      const state = join(sub, "state.img");
      const { rt, advance } = await churning();
      const writer = await CheckpointWriter.open(state, { maxDeltas: 3, maxDeltaBytes: 1 << 30 });
      const files: string[][] = [];
      for (let n = 0; n < 9; n++) {
        advance(n);
        await writer.saveState((since) => (since ? rt.snapshot({ since }) : rt.snapshot()));
        files.push((await readdir(sub)).filter((f) => f.startsWith("state.img") && !f.endsWith(".lock")).sort());
        const chain = await loadImageChain(state);
        expect(chain.length).toBe(1 + (n % 4));
        expect(chain.slice(1).every(isDeltaImage)).toBe(true);
        expect(Buffer.from(await loadImage(state)).equals(Buffer.from(rt.snapshot()))).toBe(true);
      }
      await writer.close();
      expect(files[3]).toEqual(["state.img", "state.img.d1", "state.img.d2", "state.img.d3"]);
      expect(files[4]).toEqual(["state.img"]);
      // The byte bound: a chain never holds more delta bytes than its base (the default).
      const bounded = await CheckpointWriter.open(join(sub, "bounded.img"), { maxDeltas: 100 });
      for (let n = 0; n < 6; n++) {
        advance(n);
        await bounded.saveState((since) => (since ? rt.snapshot({ since }) : rt.snapshot()));
        const chain = await loadImageChain(join(sub, "bounded.img"));
        const deltaBytes = chain.slice(1).reduce((sum, d) => sum + d.length, 0);
        expect(deltaBytes - chain[chain.length - 1].length).toBeLessThan(chain[0].length);
      }
      await bounded.close();
    });

    it("ignores deltas left over from an older chain (a kill between a compaction and their removal)", async () => {
      const sub = await fresh("stale");
      const state = join(sub, "state.img");
      const { rt, advance } = await churning();
      const writer = await CheckpointWriter.open(state);
      advance(0);
      await writer.saveState((since) => (since ? rt.snapshot({ since }) : rt.snapshot()));
      advance(1);
      await writer.saveState((since) => (since ? rt.snapshot({ since }) : rt.snapshot()));
      const stale = await readFile(join(sub, "state.img.d1"));
      advance(2);
      await writer.save(rt.snapshot()); // a new base; the old delta is removed …
      await writer.close();
      await writeFile(join(sub, "state.img.d1"), stale); // … or was not, when the writer died first
      expect((await loadImageChain(state)).length).toBe(1);
      expect(Buffer.from(await loadImage(state)).equals(Buffer.from(rt.snapshot()))).toBe(true);
    });

    it("a writer killed at any point leaves a chain that loads and thaws", async () => {
      const sub = await fresh("chain-killed");
      const state = join(sub, "state.img");
      const { program } = await churning();
      const wasm = join(sub, "churn.wasm");
      await writeFile(wasm, program.bytes!);
      for (let attempt = 0; attempt < 8; attempt++) {
        // Kill after a varying number of saves: mid-delta, mid-compaction or between them.
        const child = await startChild([wasm, state], `saved ${1 + ((attempt * 5) % 11)}\n`, chainWriterScript);
        await kill(child);
        const chain = await loadImageChain(state);
        const rt = await Runtime.restore(program, chain, { handlers: churnHandlers, print: () => {} });
        expect(rt.pendingCalls().length).toBeGreaterThan(0);
      }
    }, 120_000);
  });
});
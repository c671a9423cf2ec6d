// What the command line trusts in an image (build/trust.ts, build/slicer.ts), driven
// through the built CLI: embedded modules, inspect running code, recorded program paths,
// and checkpoints that come on time whatever --fuel/--budget say.
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import binaryen from "binaryen";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { stampMetadata } from "../build/section.ts";
import { decodeImage, encodeImage, Program, Runtime } from "../host/index.ts";

const exec = promisify(execFile);
const cli = join(packageRoot(), "dist", "build", "cli.js");
const fixtureWasm = join(packageRoot(), "test", "fixtures", "pingpong-v1.wasm");
let dir: string;
let fixture: Program;
/** A pingpong image taken mid-run, embedding its module. */
let embedded: Uint8Array;
let loop: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function stasis(args: string[], options: { cwd?: string } = {}): Promise<Result> {
  return exec(process.execPath, [cli, ...args], { ...options, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

async function imageFile(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** The image with its host record's program path replaced (and no embedded module). */
async function recording(program: string): Promise<Uint8Array> {
  const contents = await decodeImage(embedded);
  delete contents.module;
  return encodeImage({ ...contents, host: { ...contents.host, program } });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-cli-safety-"));
  fixture = await Program.load(new Uint8Array(await readFile(fixtureWasm)), { source: fixtureWasm });
  const rt = await Runtime.start(fixture, { print: () => {}, seed: 1 });
  rt.step({ budget: 3 });
  embedded = rt.snapshot({ embed: true });
  loop = join(dir, "longloop.wasm");
  await writeFile(loop, (await buildProgram(join(packageRoot(), "test", "programs", "longloop.ts"), { preempt: true })).wasm);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("embedded modules", () => {
  it("rejects_untrusted_embedded: resume runs a module from the image only with --trust-embedded or a matching --program", async () => {
    const refused = await stasis(["resume", await imageFile("e1.img", embedded)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^stasis: UNTRUSTED: the image carries its own program .*--trust-embedded/);
    const trusted = await stasis(["resume", await imageFile("e2.img", embedded), "--trust-embedded"]);
    const matched = await stasis(["resume", await imageFile("e3.img", embedded), "--program", fixtureWasm]);
    expect(trusted.code).toBe(0);
    expect(matched).toEqual(trusted);
    expect(trusted.stdout.length).toBeGreaterThan(0);
    const other = await stasis(["resume", await imageFile("e4.img", embedded), "--program", loop]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/^stasis: MODULE_MISMATCH: /);
  });
});

/** The fixture module with a start function that loops forever, stamped with its own id. */
function loopingModule(): Uint8Array {
  const module = binaryen.readBinary(new Uint8Array(fixture.bytes!));
  module.setFeatures(binaryen.Features.All);
  module.addFunction("__loop_forever", binaryen.none, binaryen.none, [], module.loop("again", module.br("again")));
  module.setStart(module.getFunction("__loop_forever"));
  const bytes = withoutSection(module.emitBinary(), "stasis");
  module.dispose();
  const fields: Partial<typeof fixture.metadata> = { ...fixture.metadata };
  delete fields.moduleId;
  return stampMetadata(bytes, fields as Omit<typeof fixture.metadata, "moduleId">).wasm;
}

function withoutSection(wasm: Uint8Array, name: string): Uint8Array {
  const leb = (at: number): [number, number] => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return [value, at];
    }
  };
  const kept: Uint8Array[] = [wasm.subarray(0, 8)];
  for (let at = 8; at < wasm.length; ) {
    const [size, body] = leb(at + 1);
    const [nameLength, nameAt] = leb(body);
    const isNamed = wasm[at] === 0 && new TextDecoder().decode(wasm.subarray(nameAt, nameAt + nameLength)) === name;
    if (!isNamed) kept.push(wasm.subarray(at, body + size));
    at = body + size;
  }
  return Buffer.concat(kept);
}

describe("inspect", () => {
  it("rejects_inspect_running_code: inspect runs no module code unless --tasklets, then under a time limit", async () => {
    const evil = loopingModule();
    const contents = await decodeImage(embedded);
    const program = await Program.load(evil as Uint8Array<ArrayBuffer>);
    const image = await imageFile("loop.img", encodeImage({ ...contents, moduleId: program.id, module: evil }));
    const plain = await stasis(["inspect", image]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(program.id);
    expect(plain.stdout).toMatch(/tasklets +not read: pass --tasklets/);
    const limited = await stasis(["inspect", image, "--tasklets", "--time-limit", "1s"]);
    expect(limited.code).toBe(1);
    expect(limited.stderr).toMatch(/^stasis: LIMIT: thawing the image took longer than 1 s/);
    const sound = await stasis(["inspect", await imageFile("sound.img", embedded), "--tasklets", "--json"]);
    expect(JSON.parse(sound.stdout).tasklets.length).toBeGreaterThan(0);
  });
});

describe("recorded program paths", () => {
  it("rejects_special_program_path: /dev/zero, a FIFO, a directory, a huge file", async () => {
    await exec("mkfifo", [join(dir, "fifo.wasm")]);
    const huge = join(dir, "huge.wasm");
    await writeFile(huge, "");
    await truncate(huge, 65 << 20);
    for (const [program, code, pattern] of [
      ["/dev/zero", "IO_ERROR", /not a regular file/],
      [join(dir, "fifo.wasm"), "IO_ERROR", /not a regular file/],
      [dir, "IO_ERROR", /not a regular file/],
      [huge, "LIMIT", /more than the limit/],
    ] as const) {
      const result = await stasis(["resume", await imageFile("special.img", await recording(program))]);
      expect(result.code, program).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`^stasis: ${code}: `));
      expect(result.stderr).toMatch(pattern);
    }
  });

  it("rejects_leaking_program_bytes: a recorded path to a file that is not a module is named, its bytes are not", async () => {
    const secret = join(dir, "notes.txt");
    await writeFile(secret, "SECRET-TOKEN-1234");
    const result = await stasis(["resume", await imageFile("leak.img", await recording(secret))]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stasis: MODULE_MISMATCH: the image names .*notes\.txt as its program/);
    expect(result.stderr).not.toMatch(/SECRET-TOKEN|53 45 43 52|0x53/);
  });

  it("resolves a relative recorded path against the image's directory, not the working directory", async () => {
    const sub = join(dir, "relative");
    await mkdir(sub);
    await copyFile(fixtureWasm, join(sub, "prog.wasm"));
    const image = await imageFile(join("relative", "rel.img"), await recording("prog.wasm"));
    const result = await stasis(["resume", image], { cwd: tmpdir() });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });
});

/** Runs the CLI until its checkpoint first appears, then kills it; returns whether that image was mid-run. */
async function firstCheckpoint(args: string[], state: string): Promise<{ done: boolean }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  let exited = false;
  child.on("exit", () => (exited = true));
  try {
    while (!existsSync(state)) {
      if (exited) throw new Error("the run ended without writing a checkpoint");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const contents = await decodeImage(await readFile(state));
    return { done: contents.host.done };
  } finally {
    child.kill("SIGKILL");
  }
}

describe("checkpoints on time", () => {
  it("rejects_late_checkpoints: run --fuel N with no --budget checkpoints mid-run", async () => {
    const state = join(dir, "fuel.img");
    expect(await firstCheckpoint(["run", loop, "--fuel", "1000", "--checkpoint", state, "--every", "20ms"], state)).toEqual({ done: false });
  });

  it("rejects_late_checkpoints: --every is honoured with a huge --budget", async () => {
    const state = join(dir, "budget.img");
    expect(await firstCheckpoint(["run", loop, "--fuel", "1000", "--budget", "1000000", "--checkpoint", state, "--every", "20ms"], state)).toEqual({ done: false });
  });

  it("rejects_late_checkpoints: a --preempt build is time-sliced by default", async () => {
    const state = join(dir, "default.img");
    expect(await firstCheckpoint(["run", loop, "--checkpoint", state, "--every", "20ms"], state)).toEqual({ done: false });
  });
});

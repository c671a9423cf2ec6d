// Freeze and thaw: a thawed program continues exactly as if it had never stopped.
import { describe, expect, it } from "vitest";
import { GLOBAL_EXPORT_PREFIX } from "../host/abi.ts";
import { Runtime, type Program } from "../host/index.ts";
import { call, loadProgram } from "./helpers.ts";

interface Outcome {
  output: string[];
  memory: Uint8Array;
  globals: unknown[];
}

/** Memory and globals; the Asyncify scratch, dead between steps and left out of images, reads as zeros. */
function finalState(rt: Runtime, output: string[]): Outcome {
  const globals = rt.program.metadata.globals.map((g) => (rt.exports[GLOBAL_EXPORT_PREFIX + g.index] as WebAssembly.Global).value);
  const memory = new Uint8Array(rt.memory.buffer).slice();
  const scratch = rt.exports as { __stasis_scratch_start(): number; __stasis_scratch_end(): number };
  memory.fill(0, scratch.__stasis_scratch_start(), scratch.__stasis_scratch_end());
  return { output, memory, globals };
}

interface Scenario {
  program: string;
  budget: number;
  setup?: (rt: Runtime) => void;
}

const scenarios: Scenario[] = [
  { program: "gc-stress.ts", budget: 4000 },
  { program: "deep.ts", budget: 2, setup: (rt) => call(rt, "setDepth", 250) },
  { program: "channels.ts", budget: 5 },
  { program: "grow.ts", budget: 40 },
];

async function straightRun(program: Program, s: Scenario): Promise<Outcome> {
  const output: string[] = [];
  const rt = await Runtime.start(program, { print: (l) => output.push(l), seed: 42 });
  s.setup?.(rt);
  while (rt.step({ budget: s.budget }) !== "done");
  return finalState(rt, output);
}

/** Freezes after every k-th step and continues in a fresh runtime thawed from the image. */
async function frozenRun(program: Program, s: Scenario, every: number): Promise<{ outcome: Outcome; freezes: number }> {
  const output: string[] = [];
  const print = (l: string) => output.push(l);
  let rt = await Runtime.start(program, { print, seed: 42 });
  s.setup?.(rt);
  let freezes = 0;
  for (let step = 1; rt.step({ budget: s.budget }) !== "done"; step++) {
    if (step % every === 0) {
      rt = await Runtime.restore(program, rt.snapshot(), { print });
      freezes++;
    }
  }
  return { outcome: finalState(rt, output), freezes };
}

describe("freeze → thaw → continue is byte-identical to a straight run", () => {
  for (const s of scenarios) {
    it(s.program, async () => {
      const program = await loadProgram(s.program);
      const straight = await straightRun(program, s);
      const { outcome, freezes } = await frozenRun(program, s, 3);
      expect(freezes).toBeGreaterThan(2);
      expect(outcome.output).toEqual(straight.output);
      expect(outcome.globals).toEqual(straight.globals);
      expect(Buffer.from(outcome.memory).equals(Buffer.from(straight.memory))).toBe(true);
    });
  }

  it("through 10 generations of thaw → run → freeze", async () => {
    const s = scenarios[1];
    const program = await loadProgram(s.program);
    const straight = await straightRun(program, s);
    const output: string[] = [];
    const print = (l: string) => output.push(l);
    let rt = await Runtime.start(program, { print, seed: 42 });
    s.setup?.(rt);
    let image = rt.snapshot();
    for (let generation = 0; generation < 10; generation++) {
      rt = await Runtime.restore(program, image, { print });
      rt.step({ budget: s.budget });
      image = rt.snapshot();
    }
    rt = await Runtime.restore(program, image, { print });
    await rt.run({ budget: s.budget });
    const outcome = finalState(rt, output);
    expect(outcome.output).toEqual(straight.output);
    expect(Buffer.from(outcome.memory).equals(Buffer.from(straight.memory))).toBe(true);
  });

  it("thaws one image twice into independent runtimes (a fork)", async () => {
    const program = await loadProgram("pingpong.ts");
    const first: string[] = [];
    const rt = await Runtime.start(program, { print: (l) => first.push(l) });
    rt.step({ budget: 4 });
    const image = rt.snapshot();
    const a: string[] = [];
    const b: string[] = [];
    const ra = await Runtime.restore(program, image, { print: (l) => a.push(l) });
    const rb = await Runtime.restore(program, image, { print: (l) => b.push(l) });
    ra.step({ budget: 1 });
    expect(a).toEqual(["b 1"]);
    expect(b).toEqual([]);
    await rb.run();
    await ra.run();
    expect(first).toEqual(["a 0", "b 0", "a 1"]);
    expect(a).toEqual(["b 1", "a 2", "b 2", "done"]);
    expect(b).toEqual(a);
  });

  it("keeps a finished program finished", async () => {
    const program = await loadProgram("pingpong.ts");
    const rt = await Runtime.start(program, { print: () => {} });
    await rt.run();
    const thawed = await Runtime.restore(program, rt.snapshot(), { print: () => {} });
    expect(thawed.done).toBe(true);
  });

  it("elides zero memory: a mostly empty memory gives a small image", async () => {
    const program = await loadProgram("pingpong.ts");
    const rt = await Runtime.start(program, { print: () => {} });
    rt.step({ budget: 2 });
    rt.memory.grow(1024 - rt.memory.buffer.byteLength / 65536); // 64 MiB of memory, nearly all zero
    const image = rt.snapshot();
    expect(rt.memory.buffer.byteLength).toBe(64 << 20);
    expect(image.length).toBeLessThan(64 * 1024);
    const thawed = await Runtime.restore(program, image, { print: () => {} });
    expect(thawed.memory.buffer.byteLength).toBe(64 << 20);
  });

  it("embeds the program on request, so the image alone can be thawed", async () => {
    const program = await loadProgram("pingpong.ts");
    const rt = await Runtime.start(program, { print: () => {} });
    rt.step({ budget: 4 });
    const output: string[] = [];
    const thawed = await Runtime.restore(null, rt.snapshot({ embed: true }), { print: (l) => output.push(l) });
    await thawed.run();
    expect(output).toEqual(["b 1", "a 2", "b 2", "done"]);
    await expect(Runtime.restore(null, rt.snapshot())).rejects.toMatchObject({ code: "MODULE_MISMATCH" });
  });

  it("rejects_image_of_another_module, naming the module it needs", async () => {
    const rt = await Runtime.start(await loadProgram("pingpong.ts"), { print: () => {} });
    const other = await loadProgram("globals.ts");
    await expect(Runtime.restore(other, rt.snapshot())).rejects.toMatchObject({
      code: "MODULE_MISMATCH",
      message: expect.stringContaining(rt.program.id),
    });
  });
});

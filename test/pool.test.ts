// Warm instances (host/pool.ts): a thaw into a released instance of the same Program
// continues exactly as a thaw into a fresh one, byte for byte, and a released runtime
// is finished: it refuses every call and nothing of it reaches the instance's next owner.
import { describe, expect, it } from "vitest";
import { DEFER, Program, Runtime, StasisError, type HostHandler } from "../host/index.ts";
import { call, loadProgram } from "./helpers.ts";

const LINEAGE = "5".repeat(32);

/** Every host call stays pending until the driver answers it (in id order, from its payload). */
const handlers: Record<string, HostHandler> = { work: () => DEFER, tick: () => DEFER };

interface Case {
  program: string;
  budget: number;
  /** Steps to take at most; without it, until main returns. */
  steps?: number;
  setup?: (rt: Runtime) => void;
}

const cases: Case[] = [
  // The collector mid-cycle; only its first 10 steps (its heap soon holds tens of MiB).
  { program: "gc-stress.ts", budget: 1000, steps: 10 },
  { program: "channels.ts", budget: 5 },
  // Memory grows between images.
  { program: "grow.ts", budget: 40 },
  // A hundred tasklets waiting on host calls.
  { program: "calls.ts", budget: 30, setup: (rt) => call(rt, "setScenario", 1) },
];

/** Answers every pending call, then steps once. */
function advance(rt: Runtime, budget: number): void {
  for (const c of rt.pendingCalls().sort((a, b) => a.id - b.id)) rt.complete(c.id, `done ${new TextDecoder().decode(c.payload)}`);
  rt.step({ budget });
}

/** Images of a straight run after each step, up to and including one taken after main returned (or c.steps of them). */
async function trajectory(program: Program, c: Case): Promise<Uint8Array[]> {
  const rt = await Runtime.start(program, { print: () => {}, seed: 42, lineage: LINEAGE, handlers });
  c.setup?.(rt);
  const images = [rt.snapshot()];
  for (let i = 0; i < (c.steps ?? 200) && !rt.done; i++) {
    advance(rt, c.budget);
    images.push(rt.snapshot());
  }
  expect(rt.done).toBe(c.steps === undefined);
  return images;
}

/** Thaws `image`, steps once, freezes: the image and what it printed. */
async function thawStep(program: Program, image: Uint8Array, budget: number, release: "after-snapshot" | "after-step" | "never") {
  const output: string[] = [];
  const idle = program.pool.size;
  const rt = await Runtime.restore(program, image, { print: (line) => output.push(line), handlers });
  const took = program.pool.size < idle;
  const again = rt.snapshot();
  advance(rt, budget);
  const next = rt.snapshot();
  if (release === "after-snapshot") rt.release();
  if (release === "after-step") {
    // Entered the module after its last snapshot (tasklets() allocates and frees): the
    // next thaw must find the non-zero chunks by scanning.
    rt.tasklets();
    rt.release();
  }
  return { again, next, output, took };
}

describe("warm instances (Runtime.restore into a released instance)", () => {
  for (const c of cases) {
    it(`${c.program}: images after a warm thaw are byte-identical to those after a fresh thaw`, async () => {
      const base = await loadProgram(c.program);
      const fresh = await Program.load(base.module, { pool: 0 });
      const warm = await Program.load(base.module, { pool: 1 });
      const all = await trajectory(base, c);
      expect(all.length).toBeGreaterThan(3);
      // At most 12 of them, spread over the run, the first and the last (main returned) included.
      const images = all.length <= 12 ? all : Array.from({ length: 12 }, (_, i) => all[Math.round((i * (all.length - 1)) / 11)]);
      let reused = 0;
      for (const [i, image] of images.entries()) {
        const expected = await thawStep(fresh, image, c.budget, "never");
        const got = await thawStep(warm, image, c.budget, i % 2 === 0 ? "after-snapshot" : "after-step");
        if (got.took) reused++;
        expect(Buffer.compare(got.again, expected.again), `thaw → freeze of image ${i}`).toBe(0);
        expect(Buffer.compare(got.next, expected.next), `thaw → step → freeze of image ${i}`).toBe(0);
        expect(got.output).toEqual(expected.output);
      }
      // Every image but the first found the instance the previous one released (none is smaller).
      expect(reused).toBe(images.length - 1);
      // An image with less memory than the idle instance: a fresh instance, the same bytes.
      const first = images[0];
      const expected = await thawStep(fresh, first, c.budget, "never");
      const got = await thawStep(warm, first, c.budget, "never");
      const pages = async (image: Uint8Array) => (await Runtime.restore(fresh, image, { handlers, print: () => {} })).memory.buffer.byteLength;
      const grew = (await pages(images.at(-1)!)) > (await pages(first));
      if (c.program === "grow.ts") expect(grew).toBe(true);
      expect(got.took).toBe(!grew);
      expect(Buffer.compare(got.next, expected.next)).toBe(0);
    }, 120_000);
  }

  it("the warm instance prints to its new owner and answers with its seed", async () => {
    const program = await Program.load((await loadProgram("grow.ts")).module, { pool: 1 });
    const first: string[] = [];
    const a = await Runtime.start(program, { print: (l) => first.push(l), seed: 7, lineage: LINEAGE });
    const image = a.snapshot();
    const b = await Runtime.restore(program, image, { print: (l) => first.push(l) });
    b.release();
    const second: string[] = [];
    const c = await Runtime.restore(program, image, { print: (l) => second.push(l) });
    expect(program.pool.size).toBe(0);
    await c.run();
    expect(first).toEqual([]);
    expect(second).toEqual([expect.stringMatching(/^grew to \d+ MiB, failures 0, random ok$/)]);
  });

  it("rejects_every_call_after_release with RELEASED; a second release does nothing", async () => {
    const program = await Program.load((await loadProgram("calls.ts")).module, { pool: 1 });
    const started = await Runtime.start(program, { print: () => {}, handlers, lineage: LINEAGE });
    call(started, "setScenario", 1);
    started.step({ budget: 30 });
    const rt = await Runtime.restore(program, started.snapshot(), { print: () => {}, handlers });
    const [pending] = rt.pendingCalls();
    rt.release();
    rt.release();
    const calls: [string, () => unknown][] = [
      ["step", () => rt.step()],
      ["snapshot", () => rt.snapshot()],
      ["pendingCalls", () => rt.pendingCalls()],
      ["complete", () => rt.complete(pending.id, "x")],
      ["tasklets", () => rt.tasklets()],
      ["taskletCount", () => rt.taskletCount()],
      ["settled", () => rt.settled()],
      ["exports", () => rt.exports],
      ["memory", () => rt.memory],
      ["done", () => rt.done],
      ["stackLimit", () => rt.stackLimit],
      ["lineageId", () => rt.lineageId],
      ["callsInFlight", () => rt.callsInFlight],
    ];
    for (const [name, use] of calls) {
      let error: unknown;
      try {
        use();
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(StasisError);
      expect((error as StasisError).code, name).toBe("RELEASED");
      expect((error as StasisError).message, name).toMatch(/Runtime\.restore/);
    }
    await expect(rt.run()).rejects.toMatchObject({ code: "RELEASED" });
  });

  it("rejects_run_waiting_on_handlers_after_release: run() wakes and rejects, the late answer reaches nobody", async () => {
    const program = await Program.load((await loadProgram("calls.ts")).module, { pool: 1 });
    const started = await Runtime.start(program, { print: () => {}, handlers, lineage: LINEAGE });
    call(started, "setScenario", 1);
    started.step({ budget: 30 });
    const image = started.snapshot();
    let answer: (reply: string) => void = () => {};
    const slow: Record<string, HostHandler> = { work: (c) => (c.id === 1 ? new Promise<string>((resolve) => (answer = resolve)) : DEFER) };
    const a = await Runtime.restore(program, image, { print: () => {}, handlers: slow });
    const running = a.run(); // steps, then waits for call 1's handler
    const image2 = a.snapshot(); // its memory as it is now (stepping may have grown it)
    a.release();
    await expect(running).rejects.toMatchObject({ code: "RELEASED" });
    // The next owner of the instance still waits on call 1; a's handler settling changes nothing.
    const b = await Runtime.restore(program, image2, { print: () => {}, handlers });
    expect(program.pool.size).toBe(0);
    const before = b.pendingCalls().map((c) => c.id);
    answer("done 0");
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(b.pendingCalls().map((c) => c.id)).toEqual(before);
    expect(before).toContain(1);
  });

  it("rejects_pooling_a_poisoned_instance: a runtime that trapped is dropped at release", async () => {
    const base = await loadProgram("misuse.ts");
    const program = await Program.load(base.module, { pool: 2 });
    const started = await Runtime.start(program, { print: () => {} });
    call(started, "setScenario", 10);
    const rt = await Runtime.restore(program, started.snapshot(), { print: () => {} });
    await expect(rt.run()).rejects.toMatchObject({ code: "TRAP" });
    rt.release();
    expect(program.pool.size).toBe(0);
    expect(() => rt.step()).toThrow(expect.objectContaining({ code: "RELEASED" }));
  });

  it("two live runtimes never share an instance", async () => {
    const program = await Program.load((await loadProgram("channels.ts")).module, { pool: 2 });
    const image = (await Runtime.start(program, { print: () => {}, seed: 1, lineage: LINEAGE })).snapshot();
    const a = await Runtime.restore(program, image, { print: () => {} });
    a.release();
    const b = await Runtime.restore(program, image, { print: () => {} });
    const c = await Runtime.restore(program, image, { print: () => {} });
    expect(program.pool.size).toBe(0);
    expect(b.memory).not.toBe(c.memory);
    // Runtimes whose memory or exports were handed out are not pooled: code outside may still hold them.
    b.release();
    c.release();
    expect(program.pool.size).toBe(0);
  });

  it("rejects_release_from_a_host_callback with BUSY, and the runtime goes on", async () => {
    const program = await Program.load((await loadProgram("grow.ts")).module, { pool: 1 });
    const image = (await Runtime.start(program, { print: () => {}, seed: 3, lineage: LINEAGE })).snapshot();
    let caught: unknown;
    const rt: Runtime = await Runtime.restore(program, image, {
      print: () => {
        try {
          rt.release();
        } catch (error) {
          caught = error;
        }
      },
    });
    expect(await rt.run()).toBe("done");
    expect(caught).toMatchObject({ code: "BUSY" });
    expect(rt.done).toBe(true);
    rt.release();
    expect(program.pool.size).toBe(1);
  });

  it("rejects_a_bad_pool_size with BAD_OPTION", async () => {
    const base = await loadProgram("channels.ts");
    for (const pool of [-1, 1.5, 2000, Number.NaN]) {
      await expect(Program.load(base.module, { pool })).rejects.toMatchObject({ code: "BAD_OPTION" });
    }
  });
});

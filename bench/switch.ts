// Switch latency (part of `npm run bench`): ns per switch, four ways of running the same
// coroutines, at several stack depths, measured side by side.
//
// A benchmark coroutine recurses `depth` calls deep — every frame keeps an int and a
// reference alive — and then yields forever from its deepest frame. `count` of them are
// parked; one switch is one resumption of the next coroutine in round-robin order (it
// runs until it yields again), so ns per switch = time of n resumptions / n. The four
// contenders take turns sample by sample (stats.ts), so noise hits them alike.
//  - stasis: bench/programs/switch.ts. After a first step that brings every tasklet to
//    its first schedule(), rt.step({ budget: n }) makes exactly n switches inside wasm.
//    Depth D = Task#run plus D nested calls.
//  - generator: D generators delegating with `yield*`, the innermost yields; a loop
//    calls next() on each chain in turn.
//  - async: D async functions awaiting each other; the innermost loops on `await null`,
//    so the microtask queue round-robins the chains. A gate parks them between samples.
//  - jsAsyncify: bench/jsdriven.ts, the same recursion as stasis unwound to and rewound
//    from JavaScript at every switch.
import { Runtime, type Program } from "../host/index.ts";
import { buildJsDriven, jsDrivenFibers } from "./jsdriven.ts";
import { exportsOf, loadProgram, meanStackBytes } from "./load.ts";
import { nsPerOpInterleaved, type Timing } from "./stats.ts";

export const CONTENDERS = ["stasis", "generator", "async", "jsAsyncify"] as const;
export type Contender = (typeof CONTENDERS)[number];
export const CONTENDER_LABELS: Record<Contender, string> = {
  stasis: "Stasis",
  generator: "JS generators (yield*)",
  async: "async/await",
  jsAsyncify: "JS-driven Asyncify",
};

export interface SwitchRow {
  tasklets: number;
  depth: number;
  ns: Record<Contender, Timing>;
  /** Mean bytes a suspended Stasis tasklet saves (Asyncify frames + shadow stack). */
  stasisStackBytes: number;
}

type Switcher = (n: number) => unknown;

async function stasisSwitcher(program: Program, tasklets: number, depth: number): Promise<{ switches: Switcher; stackBytes: number }> {
  const rt = await Runtime.start(program);
  exportsOf(rt).configure(tasklets, depth);
  rt.step({ budget: tasklets + 1 });
  const stackBytes = meanStackBytes(rt.tasklets().filter((t) => t.status === "suspended"));
  return { switches: (n) => rt.step({ budget: n }), stackBytes };
}

function* generatorDive(level: number): Generator<void, number, void> {
  const frame = { level };
  let acc = level * 7;
  if (level > 1) acc += yield* generatorDive(level - 1);
  else for (;;) yield;
  return acc + frame.level;
}

function generatorSwitcher(tasklets: number, depth: number): Switcher {
  const chains = Array.from({ length: tasklets }, () => generatorDive(depth));
  for (const chain of chains) chain.next();
  let k = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      chains[k].next();
      if (++k === tasklets) k = 0;
    }
  };
}

function asyncSwitcher(tasklets: number, depth: number): Switcher {
  let budget = 0;
  let finished = () => {};
  let openGate = () => {};
  let gate = new Promise<void>((resolve) => (openGate = resolve));
  async function spin(): Promise<number> {
    for (;;) {
      if (--budget >= 0) await null;
      else {
        if (budget === -1) finished();
        await gate;
      }
    }
  }
  async function dive(level: number): Promise<number> {
    const frame = { level };
    let acc = level * 7;
    acc += level > 1 ? await dive(level - 1) : await spin();
    return acc + frame.level;
  }
  for (let i = 0; i < tasklets; i++) void dive(depth);
  return async (n) => {
    budget = n;
    const open = openGate;
    gate = new Promise<void>((resolve) => (openGate = resolve));
    const done = new Promise<void>((resolve) => (finished = resolve));
    open();
    await done;
  };
}

export async function measureSwitch(configs: { tasklets: number; depth: number }[], reps: number, targetMs: number): Promise<SwitchRow[]> {
  const program = await loadProgram("bench", "programs", "switch.ts");
  const jsDriven = await buildJsDriven();
  const rows: SwitchRow[] = [];
  for (const { tasklets, depth } of configs) {
    const stasis = await stasisSwitcher(program, tasklets, depth);
    const switchers: Record<Contender, Switcher> = {
      stasis: stasis.switches,
      generator: generatorSwitcher(tasklets, depth),
      async: asyncSwitcher(tasklets, depth),
      jsAsyncify: await jsDrivenFibers(jsDriven, tasklets, depth),
    };
    const timings = await nsPerOpInterleaved(CONTENDERS.map((c) => switchers[c]), reps, targetMs);
    const ns = Object.fromEntries(CONTENDERS.map((c, i) => [c, timings[i]])) as Record<Contender, Timing>;
    rows.push({ tasklets, depth, ns, stasisStackBytes: stasis.stackBytes });
  }
  return rows;
}

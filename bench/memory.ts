// Memory per suspended tasklet, and the time to spawn and park a million (part of
// `npm run bench`).
//
// bench/programs/suspended.ts spawns K tasklets that each recurse `depth` calls deep and
// block on a channel nobody sends on. With `measure` the program reports the heap in
// use (memory size minus the TLSF allocator's free bytes, after a full GC) before
// spawning and once all K are blocked; we report that delta / K, the linear-memory
// growth / K (coarser: the allocator grows memory by doubling), and the mean saved
// stack of the suspended tasklets (rt.tasklets()). JS: heapUsed delta / K around K
// generator chains of the same depth parked at their first yield, after gc().
// Spawn and park: the same program at depth 0 (the shallowest tasklet) without the heap
// measurements, timed from the first step until every tasklet is blocked (spawn, then
// run each until it blocks); JS: creating K generators that hold nothing and running
// each to its first yield.
import { Runtime, type Program } from "../host/index.ts";
import { exportsOf, loadProgram, meanStackBytes } from "./load.ts";
import { gc, median, timeMs } from "./stats.ts";

export interface MemoryRow {
  depth: number;
  /** Heap in use per suspended tasklet, after a full GC. */
  heapBytes: number;
  /** Linear-memory growth per tasklet. */
  growthBytes: number;
  /** Mean saved stack (Asyncify frames + shadow stack) per tasklet. */
  stackBytes: number;
  /** JS generator chain of the same depth: V8 heap used per chain. */
  jsBytes: number;
}

export interface SpawnParkRow {
  count: number;
  stasisMs: number;
  jsMs: number;
}

const program = (): Promise<Program> => loadProgram("bench", "programs", "suspended.ts");

function* sleeper(level: number): Generator<void, number, void> {
  if (level === 0) {
    yield;
    return 0;
  }
  const frame = { level };
  let acc = level * 7;
  if (level > 1) acc += yield* sleeper(level - 1);
  else yield;
  return acc + frame.level;
}

function jsBytesPerChain(count: number, depth: number): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const chains: Generator<void, number, void>[] = [];
  for (let i = 0; i < count; i++) {
    const chain = sleeper(depth);
    chain.next();
    chains.push(chain);
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  chains.length = 0; // used after the measurement, so gc() above cannot collect them
  return bytes;
}

/**
 * Runs the program with `count` tasklets at `depth` until all are blocked; returns the
 * runtime, the ms it took and the memory size it started with.
 */
async function parkAll(p: Program, count: number, depth: number, measure: boolean): Promise<{ rt: Runtime; ms: number; startBytes: number }> {
  const rt = await Runtime.start(p);
  const startBytes = rt.memory.buffer.byteLength;
  const exports = exportsOf(rt);
  exports.configure(count, depth, measure ? 1 : 0);
  const ms = timeMs(() => {
    while (!exports.measured()) rt.step({ budget: 1_000_000 });
  });
  return { rt, ms, startBytes };
}

export async function measureMemory(depths: number[], count: number): Promise<MemoryRow[]> {
  const p = await program();
  const rows: MemoryRow[] = [];
  for (const depth of depths) {
    const { rt, startBytes } = await parkAll(p, count, depth, true);
    const exports = exportsOf(rt);
    rows.push({
      depth,
      heapBytes: (exports.heapAfter() - exports.heapBefore()) / count,
      growthBytes: (rt.memory.buffer.byteLength - startBytes) / count,
      stackBytes: meanStackBytes(rt.tasklets().filter((t) => t.waitingFor === "receive")),
      jsBytes: jsBytesPerChain(count, depth),
    });
  }
  return rows;
}

export async function measureSpawnPark(count: number, reps: number): Promise<SpawnParkRow> {
  const p = await program();
  const stasis: number[] = [];
  const js: number[] = [];
  for (let i = 0; i < reps; i++) {
    stasis.push((await parkAll(p, count, 0, false)).ms);
    gc();
    js.push(timeMs(() => {
      const chains: Generator<void, number, void>[] = new Array(count);
      for (let k = 0; k < count; k++) {
        chains[k] = sleeper(0);
        chains[k].next();
      }
      return chains;
    }));
    gc();
  }
  return { count, stasisMs: median(stasis), jsMs: median(js) };
}

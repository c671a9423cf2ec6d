// Memory per parked tasklet (part of `npm run bench`, with the switch in instructions):
// bench/programs/parked.ts parks `count` shallow tasklets in schedule() inside run(),
// held in an Array<Tasklet>; bytes per tasklet = (heap in use after − before) / count,
// the heap in use measured inside the program after a full GC. The Array's spare
// capacity counts too (up to 2× its 4 bytes per slot).
import { Runtime } from "../host/index.ts";
import { exportsOf, loadProgram } from "./load.ts";

export interface ParkedRow {
  count: number;
  /** Heap in use per parked tasklet. */
  heapBytes: number;
  /** Linear-memory growth per tasklet (coarser: the allocator grows memory by doubling). */
  growthBytes: number;
}

export async function measureParked(count: number): Promise<ParkedRow> {
  const rt = await Runtime.start(await loadProgram("bench", "programs", "parked.ts"));
  const exports = exportsOf(rt);
  exports.configure(count);
  await rt.run();
  if (!exports.measured()) throw new Error("parked.ts did not finish measuring");
  return { count, heapBytes: ((exports.heapAfter() >>> 0) - (exports.heapBefore() >>> 0)) / count, growthBytes: exports.growth() / count };
}

// `node dist/bench/parked.js`: this measurement alone.
if (process.argv[1]?.endsWith("parked.js")) {
  const row = await measureParked(1_000_000);
  console.log(`${row.heapBytes.toFixed(1)} bytes of heap, ${row.growthBytes.toFixed(1)} bytes of memory growth per parked tasklet`);
}

// Memory per parked tasklet (bench/parked.ts): main spawns `count` tasklets, holds them
// in an Array<Tasklet>, and lets each run once into schedule() inside its run(), where
// it stays (runnable, suspended). Reports the heap in use (memory size minus the TLSF
// allocator's free blocks, after a full GC) before spawning and once all are parked,
// and how much linear memory grew.
import { Task, spawn, schedule, Tasklet } from "stasis/assembly";
import { ROOT } from "rt/tlsf";
import { BLOCK_OVERHEAD } from "rt/common";

let count: i32 = 1_000_000;
let started: i32 = 0;
let before: usize = 0;
let after: usize = 0;
let done = false;
let pagesBefore: i32 = 0;
let pagesAfter: i32 = 0;
let all: Array<Tasklet> | null = null;

export function configure(k: i32): void { count = k; }
export function measured(): bool { return done; }
export function heapBefore(): usize { return before; }
export function heapAfter(): usize { return after; }
export function growth(): i32 { return (pagesAfter - pagesBefore) << 16; }

/** As in suspended.ts: memory size minus the free blocks of ~lib/rt/tlsf's lists. */
function heapInUse(): usize {
  __collect();
  const root = changetype<usize>(ROOT);
  let free: usize = 0;
  for (let i: usize = 0; i < 23 * 16; i++) {
    let block = load<usize>(root + 96 + (i << 2));
    while (block) {
      free += BLOCK_OVERHEAD + (load<usize>(block) & ~<usize>3);
      block = load<usize>(block, 8);
    }
  }
  return (<usize>memory.size() << 16) - free;
}

class Parker extends Task {
  run(): void {
    started++;
    while (true) schedule();
  }
}

export function main(): void {
  before = heapInUse();
  pagesBefore = memory.size();
  const list = new Array<Tasklet>();
  for (let i = 0; i < count; i++) list.push(spawn(new Parker()));
  all = list;
  while (started < count) schedule();
  after = heapInUse();
  pagesAfter = memory.size();
  done = true; // and return: the program ends, the parked tasklets stay as they are
}

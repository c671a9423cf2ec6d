// Memory per parked tasklet (bench/parked.ts): main spawns `count` tasklets, holds them
// in an Array<Tasklet>, and lets each run once into schedule() inside its run(), where
// it stays (runnable, suspended). Reports the heap in use (memory size minus the TLSF
// allocator's free blocks, after a full GC) before spawning and once all are parked,
// and how much linear memory grew.
import { Task, spawn, schedule, Tasklet } from "stasis/assembly";
import { heapInUse } from "./lib/heap";

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

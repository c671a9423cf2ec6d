// Memory benchmark program: main spawns `count` tasklets; each recurses `depth` calls
// deep (every frame keeps an int and a managed reference alive, as in switch.ts; depth 0
// parks in Task#run itself), then blocks receiving from one channel nobody sends on, so
// all stay suspended. With `measure`, main reports the heap in use before spawning and
// once all are blocked (a full GC each); then it returns, which ends the program and
// leaves the tasklets blocked for the host to inspect.
import { Task, spawn, schedule, Channel } from "stasis/assembly";
import { heapInUse } from "./lib/heap";

let count: i32 = 100000;
let depth: i32 = 1;
let measure = true;
let blocked: i32 = 0;
let before: usize = 0;
let after: usize = 0;
let done = false;
const never = new Channel<i32>(0);

export function configure(k: i32, levels: i32, measureHeap: bool): void {
  count = k;
  depth = levels;
  measure = measureHeap;
}
export function measured(): bool { return done; }
export function heapBefore(): usize { return before; }
export function heapAfter(): usize { return after; }

class Frame {
  constructor(public level: i32) {}
}

function dive(level: i32): i32 {
  const frame = new Frame(level);
  let acc = level * 7;
  if (level > 1) acc += dive(level - 1);
  else {
    blocked++;
    acc += never.receive();
  }
  return acc + frame.level;
}

class Sleeper extends Task {
  run(): void {
    if (depth > 0) {
      dive(depth);
      return;
    }
    blocked++; // depth 0: parks in run() itself and holds no objects
    never.receive();
  }
}

export function main(): void {
  if (measure) before = heapInUse();
  for (let i = 0; i < count; i++) spawn(new Sleeper());
  while (blocked < count) schedule();
  if (measure) after = heapInUse();
  done = true; // and return: the program ends, the blocked tasklets stay as they are
}

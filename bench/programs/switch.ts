// Switch benchmark program: `tasklets` tasklets each recurse `depth` nested calls
// (every frame keeps an int and a managed reference alive across the switch) and
// then call schedule() forever from the deepest frame. main joins the first one, so
// it never returns: the host drives the program with step({ budget }) and counts
// resumptions, and simply drops the runtime when it is done measuring.
import { Task, spawn, schedule, Tasklet } from "stasis/assembly";

let tasklets: i32 = 2;
let depth: i32 = 1;

/** Called by the host after Runtime.start, before the first step. */
export function configure(count: i32, levels: i32): void {
  tasklets = count;
  depth = levels;
}

class Frame {
  constructor(public level: i32) {}
}

function dive(level: i32): i32 {
  const frame = new Frame(level); // managed reference, a GC root while suspended
  let acc = level * 7;
  if (level > 1) acc += dive(level - 1);
  else while (true) schedule();
  return acc + frame.level;
}

class Spinner extends Task {
  run(): void {
    dive(depth);
  }
}

export function main(): void {
  const all = new Array<Tasklet>();
  for (let i = 0; i < tasklets; i++) all.push(spawn(new Spinner()));
  all[0].join();
}

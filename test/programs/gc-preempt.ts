// GC under preemption: tasklets that never call schedule() build linked structures of
// program objects (each class gets a GC visitor) while allocating garbage, so under
// --preempt they are switched at arbitrary points of their own code while collections
// are in every phase. Each checks its whole structure at the end.
import { Task, Tasklet, spawn } from "stasis/assembly";
import { garbage, grow, verify, Node } from "./lib/chains";

const TASKLETS = 3;
const ROUNDS = 40;

let failures = 0;

class Builder extends Task {
  constructor(public seed: i32) { super(); }
  run(): void {
    let head: Node | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      head = grow(head, "n", this.seed, round, 3);
      garbage(6, this.seed);
    }
    if (!verify(head, "n", this.seed, ROUNDS - 1, 3)) failures++;
  }
}

export function main(): void {
  const tasklets = new Array<Tasklet>();
  for (let i = 0; i < TASKLETS; i++) tasklets.push(spawn(new Builder(i)));
  for (let i = 0; i < TASKLETS; i++) tasklets[i].join();
  console.log("builders " + TASKLETS.toString() + ", failures " + failures.toString());
}

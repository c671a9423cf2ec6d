// GC under preemption: tasklets that never call schedule() build linked structures of
// program objects (each class gets a GC visitor) while allocating garbage, so under
// --preempt they are switched at arbitrary points of their own code while collections
// are in every phase. Each checks its whole structure at the end.
import { Task, Tasklet, spawn } from "stasis/assembly";

const TASKLETS = 3;
const ROUNDS = 40;

class Node {
  constructor(public label: string, public values: Array<i32>, public next: Node | null) {}
}

let failures = 0;

function label(seed: i32, round: i32): string {
  return "n" + seed.toString() + "/" + round.toString();
}

class Builder extends Task {
  constructor(public seed: i32) { super(); }
  run(): void {
    let head: Node | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      const values = new Array<i32>();
      for (let k = 0; k < 3; k++) values.push(this.seed * 1000 + round * 10 + k);
      head = new Node(label(this.seed, round), values, head);
      for (let g = 0; g < 6; g++) {
        const junk = new Array<string>();
        junk.push("garbage " + g.toString() + " of " + this.seed.toString());
      }
    }
    let r = ROUNDS - 1;
    let node = head;
    while (node) {
      if (node.label != label(this.seed, r) || node.values[2] != this.seed * 1000 + r * 10 + 2) failures++;
      node = node.next;
      r--;
    }
    if (r != -1) failures++;
  }
}

export function main(): void {
  const tasklets = new Array<Tasklet>();
  for (let i = 0; i < TASKLETS; i++) tasklets.push(spawn(new Builder(i)));
  for (let i = 0; i < TASKLETS; i++) tasklets[i].join();
  console.log("builders " + TASKLETS.toString() + ", failures " + failures.toString());
}

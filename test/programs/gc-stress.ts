// GC stress: many suspended tasklets each hold a linked structure of strings and arrays
// across switches while everyone allocates garbage, forcing many incremental collections.
// Every tasklet re-verifies its whole structure after each switch.
import { Task, spawn, schedule, Tasklet } from "stasis/assembly";

const TASKLETS = 1000;
const ROUNDS = 100;

class Node {
  constructor(public label: string, public values: Array<i32>, public next: Node | null) {}
}

let failures = 0;
let checks = 0;

function expectedLabel(seed: i32, round: i32): string {
  return "t" + seed.toString() + "/" + round.toString();
}

function verify(head: Node | null, seed: i32, round: i32): bool {
  let r = round;
  let node = head;
  while (node) {
    if (node.label != expectedLabel(seed, r)) return false;
    if (node.values.length != 4) return false;
    for (let k = 0; k < 4; k++) if (node.values[k] != seed * 1000 + r * 10 + k) return false;
    node = node.next;
    r--;
  }
  return r == -1;
}

/** Holds references in its own frame across the switch (a deeper shadow-stack frame). */
function switchHolding(head: Node, seed: i32): void {
  const scratch = new Array<string>();
  scratch.push(head.label);
  scratch.push("held by " + seed.toString());
  schedule();
  if (scratch[0] != head.label || scratch[1] != "held by " + seed.toString()) failures++;
}

class Keeper extends Task {
  constructor(public seed: i32) { super(); }
  run(): void {
    let head: Node | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      const values = new Array<i32>();
      for (let k = 0; k < 4; k++) values.push(this.seed * 1000 + round * 10 + k);
      head = new Node(expectedLabel(this.seed, round), values, head);
      for (let g = 0; g < 8; g++) {
        const junk = new Array<string>();
        junk.push("garbage " + g.toString() + " of " + this.seed.toString());
      }
      if (round % 2 == 0) schedule();
      else switchHolding(head, this.seed);
      // The newest node after every switch; the whole structure every 10 rounds.
      checks++;
      if (head!.label != expectedLabel(this.seed, round)) failures++;
      if ((round % 10 == 9 || round == ROUNDS - 1) && !verify(head, this.seed, round)) failures++;
    }
  }
}

export function main(): void {
  const tasklets = new Array<Tasklet>();
  for (let i = 0; i < TASKLETS; i++) tasklets.push(spawn(new Keeper(i)));
  for (let i = 0; i < TASKLETS; i++) tasklets[i].join();
  console.log("checks " + checks.toString() + " failures " + failures.toString());
}

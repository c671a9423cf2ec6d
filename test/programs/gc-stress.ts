// GC stress: many suspended tasklets each hold a linked structure of strings and arrays
// across switches while everyone allocates garbage, forcing many incremental collections.
// Every tasklet re-verifies its whole structure after each switch.
import { Task, spawn, schedule, Tasklet } from "stasis/assembly";
import { garbage, grow, label, verify, Node } from "./lib/chains";

const TASKLETS = 1000;
const ROUNDS = 100;

let failures = 0;
let checks = 0;

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
      head = grow(head, "t", this.seed, round, 4);
      garbage(8, this.seed);
      if (round % 2 == 0) schedule();
      else switchHolding(head, this.seed);
      // The newest node after every switch; the whole structure every 10 rounds.
      checks++;
      if (head!.label != label("t", this.seed, round)) failures++;
      if ((round % 10 == 9 || round == ROUNDS - 1) && !verify(head, "t", this.seed, round, 4)) failures++;
    }
  }
}

export function main(): void {
  const tasklets = new Array<Tasklet>();
  for (let i = 0; i < TASKLETS; i++) tasklets.push(spawn(new Keeper(i)));
  for (let i = 0; i < TASKLETS; i++) tasklets[i].join();
  console.log("checks " + checks.toString() + " failures " + failures.toString());
}

// GC stress with failures: tasklets hold linked structures across switches while
// everyone allocates garbage; a third of them throw (at a round fixed by their seed),
// some while holding references in a deeper frame. The survivors re-verify their whole
// structure after every switch, and a structure handed over by a failed tasklet before it
// died must stay intact too (only the failed tasklet's own frames are dropped).
import { Task, spawn, schedule, Tasklet } from "stasis/assembly";
import { garbage, grow, label, verify, Node } from "./lib/chains";

const TASKLETS = 300;
const ROUNDS = 60;

let failures = 0;
let checks = 0;
const handedOver = new Array<Node | null>(TASKLETS);

function doomed(seed: i32): bool {
  return seed % 3 == 1;
}

function failRound(seed: i32): i32 {
  return (seed * 7) % ROUNDS;
}

/** Switches with references in this frame; a doomed tasklet may throw from here. */
function holdAndSwitch(head: Node, seed: i32, round: i32): void {
  const scratch = new Array<string>();
  scratch.push(head.label);
  scratch.push("held by " + seed.toString());
  schedule();
  if (doomed(seed) && round == failRound(seed) && seed % 2 == 1) throw new Error("tasklet " + seed.toString() + " gives up in a deep frame");
  if (scratch[0] != head.label || scratch[1] != "held by " + seed.toString()) failures++;
}

class Keeper extends Task {
  constructor(public seed: i32) { super(); }
  run(): void {
    let head: Node | null = null;
    for (let round = 0; round < ROUNDS; round++) {
      head = grow(head, "t", this.seed, round, 3);
      garbage(6, this.seed);
      if (doomed(this.seed) && round == failRound(this.seed)) {
        // Hand the structure over, then die (directly or from a deeper frame).
        handedOver[this.seed] = head;
        if (this.seed % 2 == 0) throw new Error("tasklet " + this.seed.toString() + " gives up at round " + round.toString());
      }
      if (round % 2 == 0) schedule();
      else holdAndSwitch(head!, this.seed, round);
      checks++;
      if (head!.label != label("t", this.seed, round)) failures++;
      if ((round % 10 == 9 || round == ROUNDS - 1) && !verify(head, "t", this.seed, round, 3)) failures++;
    }
  }
}

export function main(): void {
  const tasklets = new Array<Tasklet>();
  for (let i = 0; i < TASKLETS; i++) tasklets.push(spawn(new Keeper(i)));
  let failed = 0;
  let wrong = 0;
  for (let i = 0; i < TASKLETS; i++) {
    tasklets[i].join();
    if (tasklets[i].failed) failed++;
    if (tasklets[i].failed != doomed(i)) wrong++;
  }
  // Allocate more, then check what the failed tasklets handed over.
  for (let g = 0; g < 20000; g++) {
    const junk = new Array<string>();
    junk.push("late garbage " + g.toString());
  }
  for (let i = 0; i < TASKLETS; i++) {
    if (!doomed(i)) continue;
    const head = handedOver[i];
    // A tasklet that died in holdAndSwitch had started one more round than it handed over.
    if (!head || !verify(head, "t", i, failRound(i), 3)) failures++;
  }
  console.log("checks " + checks.toString() + " failures " + failures.toString() + " failed " + failed.toString() + " wrong " + wrong.toString());
}

// A million shallow tasklets suspended at once, then woken and finished.
import { Task, Channel, spawn, schedule } from "stasis/assembly";

const COUNT = 1_000_000;
const gate = new Channel<i32>();
let parked = 0;
let finished = 0;

class Sleeper extends Task {
  run(): void {
    parked++;
    gate.receive();
    finished++;
  }
}

export function main(): void {
  for (let i = 0; i < COUNT; i++) spawn(new Sleeper());
  while (parked < COUNT) schedule();
  console.log("parked " + parked.toString() + " in " + (memory.size() >> 4).toString() + " MiB of memory");
  gate.close();
  while (finished < COUNT) schedule();
  console.log("finished " + finished.toString());
}

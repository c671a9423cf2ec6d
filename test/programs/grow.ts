// Tasklets that build a heap well past the initial memory while switching; each checks
// its data at the end.
import { Task, Tasklet, spawn, schedule } from "stasis/assembly";

const WORKERS = 8;
const BLOCKS = 64;
let failures = 0;

class Grower extends Task {
  constructor(public seed: i32) { super(); }
  run(): void {
    const blocks = new Array<Uint8Array>();
    for (let i = 0; i < BLOCKS; i++) {
      const block = new Uint8Array(16 * 1024);
      for (let j = 0; j < block.length; j += 512) block[j] = <u8>(this.seed * 31 + i + j);
      blocks.push(block);
      schedule();
    }
    for (let i = 0; i < BLOCKS; i++) {
      const block = blocks[i];
      for (let j = 0; j < block.length; j += 512) if (block[j] != <u8>(this.seed * 31 + i + j)) failures++;
    }
  }
}

export function main(): void {
  const all = new Array<Tasklet>();
  for (let i = 0; i < WORKERS; i++) all.push(spawn(new Grower(i)));
  for (let i = 0; i < WORKERS; i++) all[i].join();
  console.log("grew to " + (memory.size() >> 4).toString() + " MiB, failures " + failures.toString() + ", random " + (Math.random() < 2 ? "ok" : "?"));
}

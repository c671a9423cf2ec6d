// Walkers: 64 tasklets wander a 96 × 64 torus, one step per generation, steered by a
// coordinator tasklet over channels. The page draws them on a canvas; the final
// checksum (after GENERATIONS generations) is the same however often the run was frozen,
// thawed, reloaded or moved to a server and back.
import { Task, Channel, spawn } from "stasis/assembly";

const WALKERS = 64;
const GENERATIONS = 2000;
export const WIDTH = 96;
export const HEIGHT = 64;

/** x, y of every walker, read by the page straight from memory. */
const positions = new StaticArray<i32>(WALKERS * 2);
let generation = 0;

export function positionsPointer(): usize {
  return changetype<usize>(positions);
}
export function walkerCount(): i32 {
  return WALKERS;
}
export function currentGeneration(): i32 {
  return generation;
}
export function totalGenerations(): i32 {
  return GENERATIONS;
}
export function checksum(): i32 {
  let sum = 0;
  for (let i = 0; i < WALKERS * 2; i++) sum = sum * 31 + positions[i];
  return sum;
}

class Walker extends Task {
  constructor(public index: i32, public ticks: Channel<i32>, public done: Channel<i32>) { super(); }
  run(): void {
    let x = (this.index * 37) % WIDTH;
    let y = (this.index * 11) % HEIGHT;
    while (true) {
      const turn = this.ticks.receive();
      if (!this.ticks.ok) break;
      // A deterministic pseudo-random step from the walker and the generation.
      const r = (this.index * 1103515245 + turn * 12345) >>> 16;
      x = (x + WIDTH + (r & 3) - 1 - ((r >> 2) & 1)) % WIDTH;
      y = (y + HEIGHT + ((r >> 3) & 3) - 1 - ((r >> 5) & 1)) % HEIGHT;
      positions[this.index * 2] = x;
      positions[this.index * 2 + 1] = y;
      this.done.send(1);
    }
  }
}

export function main(): void {
  const ticks = new Array<Channel<i32>>();
  const done = new Channel<i32>(WALKERS);
  for (let i = 0; i < WALKERS; i++) {
    // Where each walker starts (as Walker.run does), so the page has dots to draw at once.
    positions[i * 2] = (i * 37) % WIDTH;
    positions[i * 2 + 1] = (i * 11) % HEIGHT;
    ticks.push(new Channel<i32>(1));
    spawn(new Walker(i, ticks[i], done));
  }
  for (generation = 0; generation < GENERATIONS; generation++) {
    for (let i = 0; i < WALKERS; i++) ticks[i].send(generation);
    for (let i = 0; i < WALKERS; i++) done.receive();
  }
  for (let i = 0; i < WALKERS; i++) ticks[i].close();
  console.log("checksum " + checksum().toString());
}

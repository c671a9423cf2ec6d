// Freeze/thaw benchmark program: holds `mib` MiB of non-zero data in the heap, then
// parks. The host grows the memory further to measure zero elision.
import { schedule } from "stasis/assembly";

const blocks = new Array<Uint8Array>();
let mib = 1;

export function configure(n: i32): void {
  mib = n;
}

export function main(): void {
  for (let i = 0; i < mib * 16; i++) {
    const block = new Uint8Array(64 * 1024 - 64);
    for (let j = 0; j < block.length; j++) block[j] = <u8>(j * 7 + i + 1);
    blocks.push(block);
  }
  while (true) schedule();
}

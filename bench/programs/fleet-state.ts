// A fleet benchmark computation: holds `size` bytes of incompressible state (asked from
// the host once), then yields forever, so each claim thaws, steps, freezes and commits an
// image of about that size.
import { hostCall, schedule } from "stasis/assembly";

let state: Uint8Array = new Uint8Array(0);
let counter: u32 = 0;

export function main(): void {
  const size = I32.parseInt(hostCall("size", "").text());
  state = new Uint8Array(size);
  let x: u32 = 2463534242;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    state[i] = <u8>x;
  }
  while (true) {
    counter++;
    state[counter % <u32>size] ^= 1;
    schedule();
  }
}

// The delta-cycle benchmark's computation (bench/delta.ts): one tasklet, main, waiting on
// a host call; each answer it counts and asks again. The small program of issue 12.
import { hostCall } from "stasis/assembly";

let events: i32 = 0;
let bytes: i32 = 0;

export function main(): void {
  while (true) {
    const r = hostCall("event", events.toString());
    events++;
    bytes += r.text().length;
  }
}

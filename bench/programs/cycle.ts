// The fleet-style cycle's computation (bench/cycle.ts): one tasklet (main) that waits on a
// host call, counts the answer and asks again. Every cycle thaws it with one call
// pending, answers that call, steps until the next call, and freezes it again.
import { hostCall } from "stasis/assembly";

let answered: i32 = 0;

export function main(): void {
  while (true) {
    const reply = hostCall("tick", answered.toString());
    if (reply.ok) answered++;
  }
}

// A fleet workflow that waits for a human: the approval handler DEFERs, and the answer
// comes from `stasis fleet complete` (or fleet.complete) — minutes or days later.
import { hostCall, sleep } from "stasis/assembly";

export function main(): void {
  const receipt = hostCall("double", "21");
  console.log("charged " + receipt.text());
  const decision = hostCall("approval", "order-7");
  console.log("approval: " + (decision.ok ? decision.text() : "error " + decision.error));
  sleep(50);
  console.log("shipped");
}

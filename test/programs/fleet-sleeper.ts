// Sleeps to an absolute deadline the host hands out (the same instant for every copy),
// then prints once.
import { hostCall } from "stasis/assembly";

export function main(): void {
  const deadline = hostCall("deadline", "");
  hostCall("stasis.sleep", deadline.text());
  console.log("woke");
}

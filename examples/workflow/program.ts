// An order workflow as tasklets: for each order, charge the card, wait for a human
// approval (which may take days: the computation waits frozen on disk), wait out a
// cooling-off period, then ship — or refund if the approval is refused.
//
// Every effect on the outside world is a host call. A call may be delivered again after
// a crash (at-least-once), so the host's handlers are idempotent by call id: each
// effect happens exactly once.
import { Task, Tasklet, spawn, hostCall, sleep } from "stasis/assembly";

/** Calls a host step; a failure ends this order's workflow (its tasklet alone). */
function call(name: string, payload: string): string {
  const result = hostCall(name, payload);
  if (!result.ok) throw new Error(name + " failed: " + result.error);
  return result.text();
}

class OrderWorkflow extends Task {
  constructor(public order: string) { super(); }
  run(): void {
    const receipt = call("charge", this.order);
    console.log(this.order + ": charged (" + receipt + ")");
    const decision = call("approval", this.order);
    if (decision != "approved") {
      call("refund", receipt);
      console.log(this.order + ": " + decision + ", refunded " + receipt);
      return;
    }
    console.log(this.order + ": approved; shipping after the cooling-off period");
    sleep(2000);
    console.log(this.order + ": shipped (" + call("ship", this.order) + ")");
  }
}

export function main(): void {
  const orders = ["order-17 espresso machine", "order-18 grinder", "order-19 kettle (expired card)"];
  const flows = new Array<Tasklet>();
  for (let i = 0; i < orders.length; i++) flows.push(spawn(new OrderWorkflow(orders[i])));
  // A workflow that throws stops alone (its tasklet is marked failed); the others go on.
  let failed = 0;
  for (let i = 0; i < flows.length; i++) {
    flows[i].join();
    if (flows[i].failed) {
      failed++;
      console.log(orders[i] + ": failed: " + flows[i].error!);
    }
  }
  console.log("all orders settled (" + failed.toString() + " failed)");
}

// Handlers for `stasis fleet worker --handlers` in the fleet tests. Deterministic, so a
// computation's output can be compared with its uninterrupted run; `approval` DEFERs
// (answered with `stasis fleet complete`). When FLEET_HANDLER_LOG is set, each delivery is
// appended to it as "computation call name" (to count deliveries).
import { appendFileSync } from "node:fs";
import { DEFER } from "../../dist/host/index.js";

const log = (call) => {
  if (process.env.FLEET_HANDLER_LOG) appendFileSync(process.env.FLEET_HANDLER_LOG, `${call.computation} ${call.id} ${call.name}\n`);
};

export default {
  double: async (call) => {
    log(call);
    await new Promise((resolve) => setTimeout(resolve, 5));
    return String(BigInt(call.text()) * 2n);
  },
  approval: (call) => {
    log(call);
    return DEFER;
  },
};

// Child process for test/store.test.ts's chain test: `<program.wasm> <state>` runs
// test/programs/churn.ts forever, answering its host calls, and checkpoints after every
// step with CheckpointWriter.saveState (a delta, or a full image every 4 deltas), printing
// "saved <n>" after each, until killed.
import { readFile } from "node:fs/promises";
import { CheckpointWriter } from "../../dist/host/node/index.js";
import { DEFER, Program, Runtime } from "../../dist/host/index.js";

const [wasm, state] = process.argv.slice(2);
const program = await Program.load(new Uint8Array(await readFile(wasm)));
const rt = await Runtime.start(program, { print: () => {}, handlers: { op: () => DEFER, main: () => DEFER }, seed: 1 });
const writer = await CheckpointWriter.open(state, { maxDeltas: 4 });
const commands = ["a3000", "a40000", "f1", "y1", "s7", "n3"];
for (let n = 1; ; n++) {
  for (const call of rt.pendingCalls()) rt.complete(call.id, call.name === "main" ? "0" : commands[(n + call.id) % commands.length]);
  rt.step({ budget: 20 });
  await writer.saveState((since) => (since ? rt.snapshot({ since }) : rt.snapshot()));
  process.stdout.write(`saved ${n}\n`);
}

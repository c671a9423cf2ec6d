// Child process for test/store.test.ts. `hold <path>`: takes the checkpoint lock on
// <path>, prints "locked" and waits to be killed. `write <path> <mib>`: checkpoints
// <mib> MiB images to <path> in a loop, printing "saved" after each, until killed.
import { setInterval } from "node:timers";
import { CheckpointWriter } from "../../dist/host/node/index.js";

const [mode, path, mib] = process.argv.slice(2);
const writer = await CheckpointWriter.open(path);
if (mode === "hold") {
  process.stdout.write("locked\n");
  setInterval(() => {}, 1 << 30);
} else {
  const image = new Uint8Array(Number(mib) << 20).fill(7);
  for (;;) {
    await writer.save(image);
    process.stdout.write("saved\n");
  }
}

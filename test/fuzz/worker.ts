// Runs fuzz cases in a child process, so the corpus runner (corpus.ts) can stop a case
// that never returns. Message in: the WorkerInput. Messages out: { case } before each
// case, { result, escape? } after, { finished } at the end.
import { Program } from "../../host/index.ts";
import type { FuzzBase } from "./bases.ts";
import { mutate, Random } from "./mutate.ts";
import { exercise } from "./target.ts";

export interface WorkerInput {
  bases: FuzzBase[];
  seed: number;
  casesPerBase: number;
  /** Where to start: [base index, case index]. Earlier cases are regenerated, not run. */
  from: [number, number];
}

const input = await new Promise<WorkerInput>((resolve) => process.once("message", (message) => resolve(message as WorkerInput)));
const port = { postMessage: (message: object) => process.send!(message) };
process.on("unhandledRejection", (reason) => port.postMessage({ escape: `unhandled rejection: ${String(reason)}` }));

for (let b = input.from[0]; b < input.bases.length; b++) {
  const base = input.bases[b];
  const program = base.module ? await Program.load(new Uint8Array(base.module)) : null;
  const random = new Random(input.seed + b);
  const image = new Uint8Array(base.image);
  for (let n = 0; n < input.casesPerBase; n++) {
    const mutated = mutate(image, random);
    if (b === input.from[0] && n < input.from[1]) continue;
    port.postMessage({ case: [b, n] });
    const { result, escape } = await exercise(mutated, program, base.chain?.map((image) => new Uint8Array(image)));
    port.postMessage({ result, escape: escape === undefined ? undefined : String((escape as Error)?.stack ?? escape) });
  }
}
port.postMessage({ finished: true });

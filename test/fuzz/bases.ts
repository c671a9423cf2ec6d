// The images the fuzzer mutates: a computation mid-run, one with 100 host calls pending,
// channels with parked tasklets, an image that embeds its module, and a delta (format v2)
// at the end of a base + delta chain: the fuzzer mutates the last delta, the images before
// it stay intact, so the delta parser and the chain's application see the damage.
import { buildProgram } from "../../build/index.ts";
import { packageRoot } from "../../build/paths.ts";
import { DEFER, Program, Runtime } from "../../host/index.ts";
import { join } from "node:path";

export interface FuzzBase {
  name: string;
  /** The module to thaw into; null: the image embeds it. */
  module: Uint8Array | null;
  image: Uint8Array;
  /** For a delta: the chain it follows (a full image, then deltas), thawed with it. */
  chain?: Uint8Array[];
}

async function load(name: string): Promise<Program> {
  return Program.load((await buildProgram(join(packageRoot(), "test", "programs", name))).wasm);
}

export async function fuzzBases(): Promise<FuzzBase[]> {
  const [pingpong, calls, channels] = await Promise.all([load("pingpong.ts"), load("calls.ts"), load("channels.ts")]);
  const midRun = await Runtime.start(pingpong, { print: () => {}, seed: 3 });
  midRun.step({ budget: 4 });
  const waiting = await Runtime.start(calls, { print: () => {}, handlers: { work: () => DEFER }, seed: 5 });
  (waiting.exports.setScenario as (n: number) => void)(1);
  await waiting.run();
  const piped = await Runtime.start(channels, { print: () => {}, seed: 9 });
  piped.step({ budget: 7 });
  const pipedImage = piped.snapshot();
  piped.step({ budget: 5 });
  const firstDelta = piped.snapshot({ since: pipedImage });
  piped.step({ budget: 5 });
  const secondDelta = piped.snapshot({ since: firstDelta });
  return [
    { name: "mid-run", module: pingpong.bytes!, image: midRun.snapshot() },
    { name: "100 calls pending", module: calls.bytes!, image: waiting.snapshot() },
    { name: "channels", module: channels.bytes!, image: pipedImage },
    { name: "embedded module", module: null, image: midRun.snapshot({ embed: true }) },
    { name: "delta after a base and a delta", module: channels.bytes!, image: secondDelta, chain: [pipedImage, firstDelta] },
  ];
}

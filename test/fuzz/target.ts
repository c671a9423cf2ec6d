// The fuzz target: everything a host does with an image it was handed — decode, thaw
// (into the given program, or the embedded one), list tasklets and pending calls, step,
// answer a call, freeze again — where every failure must be a StasisError.
import { DEFER, Runtime, StasisError, decodeImage, type HostHandler, type Program } from "../../host/index.ts";
import { decodeDelta, isDeltaImage } from "../../host/image/delta.ts";

export interface Outcome {
  /** "ok", or the StasisError code the case ended with. */
  result: string;
  /** Set when something other than a StasisError escaped: the case is a finding. */
  escape?: unknown;
}

const handlers: Record<string, HostHandler> = { work: () => DEFER, approval: () => DEFER, echo: (c) => c.text() };

/** `chain`: the images a delta follows (the mutated image is then the chain's last). */
export async function exercise(image: Uint8Array, program: Program | null, chain?: Uint8Array[]): Promise<Outcome> {
  try {
    if (chain && isDeltaImage(image)) decodeDelta(image);
    else await decodeImage(image);
    const rt = await Runtime.restore(program, chain ? [...chain, image] : image, { print: () => {}, handlers, allowMissingHandlers: true, maxMemoryBytes: 64 << 20 });
    rt.tasklets();
    const pending = rt.pendingCalls();
    if (pending.length > 0) rt.complete(pending[0].id, "answer");
    for (let i = 0; i < 3 && !rt.done; i++) rt.step({ budget: 50 });
    rt.snapshot();
    return { result: "ok" };
  } catch (error) {
    if (error instanceof StasisError) return { result: error.code };
    return { result: "ESCAPE", escape: error };
  }
}

// `stasis inspect --tasklets` thaws the image here, in a worker thread the command
// terminates after its time limit: thawing runs the image's module (its start function,
// the scheduler's bookkeeping), which may be hostile and loop forever.
// In: workerData { image, program (bytes or null for the embedded one), source }.
// Out: one message, { ok: true, tasklets, calls } or { ok: false, code, message }.
import { parentPort, workerData } from "node:worker_threads";
import { Program, Runtime, StasisError } from "../host/index.ts";

export interface InspectRequest {
  image: Uint8Array<ArrayBuffer>;
  program: Uint8Array<ArrayBuffer> | null;
  source: string | undefined;
}

export type InspectReply =
  | { ok: true; tasklets: ReturnType<Runtime["tasklets"]>; calls: { id: number; name: string; tasklet: number; payload: string }[] }
  | { ok: false; code: string | undefined; message: string };

const request = workerData as InspectRequest;
let reply: InspectReply;
try {
  const program = request.program ? await Program.load(request.program, { source: request.source }) : null;
  const rt = await Runtime.restore(program, request.image, { print: () => {}, allowMissingHandlers: true });
  const tasklets = rt.tasklets();
  const calls = rt.pendingCalls().map((c) => ({ id: c.id, name: c.name, tasklet: c.tasklet, payload: new TextDecoder().decode(c.payload) }));
  reply = { ok: true, tasklets, calls };
} catch (error) {
  reply = error instanceof StasisError ? { ok: false, code: error.code, message: error.message } : { ok: false, code: undefined, message: String((error as Error)?.message ?? error) };
}
parentPort!.postMessage(reply);

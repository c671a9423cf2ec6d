// Host calls, the host side: handlers registered by name answer the program's
// hostCall()s (assembly/hostcall.ts) asynchronously.
//
// After every step the runtime takes the calls the program made since (takeNewCalls)
// and dispatches them: each handler runs concurrently; when its promise settles, the
// reply is written into the program (Runtime.complete) and the waiting tasklet becomes
// runnable. A handler may also return DEFER: the call stays pending until someone calls
// rt.complete(id, reply) — an approval arriving by webhook, days later, after a thaw.
//
// Pending calls live in the program's memory, so they are part of every image. After a
// thaw all of them are dispatched again with their original ids: handlers should be
// idempotent by id (at-least-once delivery).
import { CALL_RECORD_BYTES, type StasisExports } from "./abi.ts";
import { readBytes, readString } from "./memory.ts";

/** What a handler returns: text (sent as UTF-8), bytes, or DEFER. Throwing answers with an error. */
export type HostReply = string | Uint8Array;

/** Returned by a handler that will answer later through rt.complete(id, reply). */
export const DEFER: unique symbol = Symbol("stasis.defer");

export interface HostCall {
  /** Unique within the computation, stable across freeze and thaw. */
  id: number;
  /**
   * Unique across every computation thawed from the same images: `<lineage>.<id>`. A plain
   * restore re-issues the same key for the same call (so a ledger keyed by it makes an
   * effect happen once); a fork (`Runtime.restore(…, { fork: true })`) never reuses another
   * lineage's keys. Key idempotency ledgers by this, not by id.
   */
  key: string;
  name: string;
  /** The id of the calling tasklet. */
  tasklet: number;
  payload: Uint8Array;
  /** The payload as UTF-8 text. */
  text(): string;
}

export type HostHandler = (call: HostCall) => HostReply | typeof DEFER | Promise<HostReply | typeof DEFER>;

/** Reads call records: the new calls, or every pending one when `all`. */
export function readCalls(stasis: StasisExports, all: boolean, keyOf: (id: number) => string): HostCall[] {
  // Pointers come back as i32: above 2 GiB they read negative without the >>> 0.
  const block = stasis.__stasis_take_calls(all ? 1 : 0) >>> 0;
  if (block === 0) return [];
  try {
    const view = new DataView(stasis.memory.buffer);
    const count = view.getUint32(block, true);
    const calls: HostCall[] = [];
    for (let i = 0, at = block + 4; i < count; i++, at += CALL_RECORD_BYTES) {
      const id = view.getUint32(at, true);
      // The records point into the program's heap, which a damaged image can make point anywhere.
      const name = readString(stasis.memory, view.getUint32(at + 8, true));
      const payload = readBytes(stasis.memory, view.getUint32(at + 12, true));
      if (name === null || payload === null) throw new Error(`the record of host call ${id} is damaged`);
      calls.push({
        id,
        key: keyOf(id),
        tasklet: view.getInt32(at + 4, true),
        name,
        payload,
        text: () => new TextDecoder().decode(payload),
      });
    }
    return calls;
  } finally {
    stasis.__stasis_free(block);
  }
}

/** The built-in handlers every runtime has. */
export const BUILTIN_HANDLERS: Record<string, HostHandler> = {
  /** sleep(ms): the payload is the absolute deadline (ms since the epoch). */
  "stasis.sleep": async (call) => {
    const wait = Number(call.text()) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    return "";
  },
};

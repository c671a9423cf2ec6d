// The pool of warm instances of one Program: rt.release() puts a runtime's instance here,
// Runtime.restore() thaws into one instead of instantiating (instance.ts) when one fits.
//
// Why: a fleet-style cycle (thaw → answer → step → freeze) spent about half its time on
// `new WebAssembly.Instance` and on collecting the dead instance afterwards (issue 12).
// Thawing overwrites every byte of memory and every mutable global anyway, so an idle
// instance of the same module serves as well as a fresh one, provided the thaw leaves it
// in exactly the state a fresh thaw would:
//
//   memory size   Memory never shrinks. A program sees its size (memory.size, and where
//                 AssemblyScript's TLSF grows next), so an instance whose memory is larger
//                 than the image's would run differently and freeze different bytes. The
//                 bound is therefore strict: an idle instance is reused only when its
//                 memory is at most the image's size (then grown to it, the grown pages
//                 are zero); otherwise restore instantiates a fresh one. take() picks the
//                 largest instance that fits (the least growing).
//   bytes         Everything the image does not cover is zeroed, and only that: the chunks
//                 the instance may hold non-zero bytes in (InstanceSlot.nonzero, known
//                 from its last snapshot when nothing ran after it, else found by the
//                 module's own scan) minus the image's runs (state.ts applyState).
//   globals       Every mutable global is exported (build/instrument.ts) and written by
//                 the thaw, the Asyncify state and the stack pointer included.
//   host side     The imports are bound through an ImportBinding (imports.ts): rebind()
//                 gives print, seed and fresh console timers to the new owner. Everything
//                 else (pending wakers, in-flight handlers, lineage, failure listener)
//                 lives in the Runtime object, which is new for every thaw; the released
//                 one refuses every call (RELEASED) and ignores handlers that settle late.
//
// Tables and immutable globals cannot change at run time in a Stasis module, so nothing
// else of an instance's state survives a thaw. A poisoned instance (a trap in the runtime
// or in main) is never pooled: its state is not trusted, so release() drops it.
//
// Limits: at most `limit` idle instances per Program (Program.load(bytes, { pool: N }),
// default DEFAULT_POOL_SIZE); release() drops the instance when the pool is full. An idle
// instance keeps its memory (as large as the largest image it held) until it is reused
// or the Program is collected. Runtime.start always instantiates fresh: a new computation
// needs the module's data segments, which only instantiation writes.
import type { InstanceSlot } from "./instance.ts";

/** Idle instances kept per Program unless Program.load says otherwise. */
export const DEFAULT_POOL_SIZE = 4;

export class InstancePool {
  private readonly idle: InstanceSlot[] = [];

  constructor(readonly limit: number) {}

  /** How many idle instances the pool holds. */
  get size(): number {
    return this.idle.length;
  }

  /**
   * Removes and returns the idle instance with the largest memory of at most `pages`
   * pages, or undefined when none fits (see the header: memory never shrinks).
   */
  take(pages: number): InstanceSlot | undefined {
    let best = -1;
    let bestPages = -1;
    for (let i = 0; i < this.idle.length; i++) {
      const have = this.idle[i].stasis.memory.buffer.byteLength / 65536;
      if (have <= pages && have > bestPages) {
        best = i;
        bestPages = have;
      }
    }
    if (best < 0) return undefined;
    const [slot] = this.idle.splice(best, 1);
    return slot;
  }

  /** Keeps `slot` for a later thaw; false (and the slot is dropped) when the pool is full. */
  give(slot: InstanceSlot): boolean {
    if (this.idle.length >= this.limit || this.idle.includes(slot)) return false;
    // Nothing of the last owner stays reachable through the imports.
    slot.io.rebind(dropLine, 0);
    this.idle.push(slot);
    return true;
  }
}

function dropLine(): void {}

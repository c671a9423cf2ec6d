// Lineages: which thaws of an image are "the same computation" for host-call keys.
//
// Call ids come from a counter inside the program, so two thaws of one image that go
// different ways issue different calls under the same id. Re-issuing an id after a
// crash-resume is what makes handlers idempotent (the same call, asked again); two forks
// of one image are different computations and must never share a key. So a call's key is
// `<lineage>.<id>`: a plain restore keeps the image's lineage (and re-issues the same
// keys), `Runtime.restore(..., { fork: true })` starts a new random one. Calls already
// pending when a fork was taken were issued by the parent: they keep the parent's keys
// (`inherited`, forgotten once answered), so an effect asked for before the fork is not
// asked for again under a new name.
//
// Images frozen before lineages existed carry none; they get one derived from their
// seed, so every plain restore of such an image still re-issues the same keys.

/** Lineage ids: lowercase hex or "legacy-" plus digits, at most 64 characters. */
const LINEAGE_PATTERN = /^(?:[0-9a-f]{32}|legacy-[0-9]{1,20})$/;
/** Keys: a lineage, a dot and a call id. */
const KEY_PATTERN = /^(?:[0-9a-f]{32}|legacy-[0-9]{1,20})\.[0-9]{1,10}$/;

export function newLineage(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function legacyLineage(seed: number): string {
  return `legacy-${Math.abs(Math.trunc(seed)) % 1e20}`;
}

export function isLineage(value: unknown): value is string {
  return typeof value === "string" && LINEAGE_PATTERN.test(value);
}

export function isInherited(value: unknown): value is [number, string][] {
  return Array.isArray(value) && value.every((entry) =>
    Array.isArray(entry) && entry.length === 2 && Number.isInteger(entry[0]) && entry[0] >= 0 && entry[0] <= 0xffffffff &&
    typeof entry[1] === "string" && KEY_PATTERN.test(entry[1]));
}

export class Lineage {
  constructor(
    readonly id: string,
    /** Keys of pending calls issued by an ancestor lineage, by call id. */
    private readonly inherited: Map<number, string> = new Map(),
  ) {}

  keyOf(callId: number): string {
    return this.inherited.get(callId) ?? `${this.id}.${callId}`;
  }

  /** A new lineage whose pending calls (issued before the fork) keep their keys. */
  fork(pendingIds: number[]): Lineage {
    return new Lineage(newLineage(), new Map(pendingIds.map((id) => [id, this.keyOf(id)])));
  }

  /** Call `id` was answered: its key is not needed any more. */
  answered(callId: number): void {
    this.inherited.delete(callId);
  }

  /** For the image's host record. */
  inheritedEntries(): [number, string][] {
    return [...this.inherited];
  }
}

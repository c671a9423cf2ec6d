// Shared by the GC test programs (gc-stress.ts, gc-fail.ts, gc-preempt.ts): a linked
// chain of nodes, one per round, each holding a label string and `width` numbers derived
// from the tasklet's seed and the round, so the whole chain can be checked after any
// number of switches and collections. Not a program itself.

export class Node {
  constructor(public label: string, public values: Array<i32>, public next: Node | null) {}
}

export function label(prefix: string, seed: i32, round: i32): string {
  return prefix + seed.toString() + "/" + round.toString();
}

function value(seed: i32, round: i32, k: i32): i32 {
  return seed * 1000 + round * 10 + k;
}

/** The chain with one more node, for `round`, on top of `head`. */
export function grow(head: Node | null, prefix: string, seed: i32, round: i32, width: i32): Node {
  const values = new Array<i32>();
  for (let k = 0; k < width; k++) values.push(value(seed, round, k));
  return new Node(label(prefix, seed, round), values, head);
}

/** Allocates `count` short-lived arrays and strings: work for the collector. */
export function garbage(count: i32, seed: i32): void {
  for (let g = 0; g < count; g++) {
    const junk = new Array<string>();
    junk.push("garbage " + g.toString() + " of " + seed.toString());
  }
}

/** The chain holds exactly rounds `round` down to 0, every node intact. */
export function verify(head: Node | null, prefix: string, seed: i32, round: i32, width: i32): bool {
  let r = round;
  let node = head;
  while (node) {
    if (node.label != label(prefix, seed, r)) return false;
    if (node.values.length != width) return false;
    for (let k = 0; k < width; k++) if (node.values[k] != value(seed, r, k)) return false;
    node = node.next;
    r--;
  }
  return r == -1;
}

// Traps on every attempt, after printing: the fleet must fail it (poison) without
// committing the line, while the other computations go on.
export function main(): void {
  console.log("about to trap");
  unreachable();
}

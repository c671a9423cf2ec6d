// Never yields: a fleet step of it can only end by the wall-clock limit.
let spins: u64 = 0;

export function main(): void {
  while (true) spins++;
}

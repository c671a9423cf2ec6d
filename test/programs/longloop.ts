// A long computation with no Stasis calls at all: for --preempt and the CLI.
function isPrime(n: i32): bool {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d == 0) return false;
  return true;
}

export function main(): void {
  let count = 0;
  for (let n = 0; n < 3_000_000; n++) if (isPrime(n)) count++;
  console.log("primes below 3000000: " + count.toString());
}

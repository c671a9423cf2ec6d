// Computations with no Stasis calls at all, for --preempt: a naive prime count, a
// recursive fib, a matrix multiply, and tasklets that spin forever without yielding.
import { Task, spawn } from "stasis/assembly";

let scenario = 0;
export function setScenario(n: i32): void {
  scenario = n;
}

function isPrime(n: i32): bool {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d == 0) return false;
  return true;
}

function fib(n: i32): i32 {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function matrixChecksum(n: i32): f64 {
  const a = new Float64Array(n * n);
  const b = new Float64Array(n * n);
  const c = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    a[i] = <f64>(i % 7) - 3.0;
    b[i] = <f64>(i % 5) * 0.5;
  }
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let sum = 0.0;
      for (let k = 0; k < n; k++) sum += a[i * n + k] * b[k * n + j];
      c[i * n + j] = sum;
    }
  let total = 0.0;
  for (let i = 0; i < n * n; i++) total += c[i] * <f64>(i % 3 + 1);
  return total;
}

const spins = new StaticArray<i32>(3);
export function spinCount(i: i32): i32 {
  return spins[i];
}
class Spinner extends Task {
  constructor(public index: i32) { super(); }
  run(): void {
    while (true) spins[this.index]++;
  }
}

export function main(): void {
  if (scenario == 0) {
    let count = 0;
    for (let n = 0; n < 20000; n++) if (isPrime(n)) count++;
    console.log("primes below 20000: " + count.toString());
  } else if (scenario == 1) {
    console.log("fib(24) = " + fib(24).toString());
  } else if (scenario == 2) {
    console.log("matrix checksum " + matrixChecksum(40).toString());
  } else {
    for (let i = 0; i < 3; i++) spawn(new Spinner(i));
    while (true) {}
  }
}

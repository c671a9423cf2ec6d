// The concurrent prime sieve (Doug McIlroy's, made famous by Newsqueak and Go), on
// Stasis tasklets. A generator tasklet sends 2, 3, 4, … down a channel. Each prime
// found gets its own filter tasklet that passes on only the numbers it does not
// divide, so the chain grows one tasklet per prime: thousands of tasklets talking over
// unbuffered channels.
//
// Copy this file to start your own program: a Task subclass per kind of tasklet,
// state in fields, and an exported main().
import { Task, Channel, spawn } from "stasis/assembly";

/** Primes up to this number are counted (set by the host before the first step). */
let limit = 50_000;
let found = 0;
let largest = 0;

export function setLimit(n: i32): void {
  limit = n;
}
export function primesFound(): i32 {
  return found;
}
export function largestPrime(): i32 {
  return largest;
}

class Generate extends Task {
  constructor(public out: Channel<i32>) { super(); }
  run(): void {
    for (let n = 2; n <= limit; n++) this.out.send(n);
    this.out.close();
  }
}

class Filter extends Task {
  constructor(public input: Channel<i32>, public out: Channel<i32>, public prime: i32) { super(); }
  run(): void {
    while (true) {
      const n = this.input.receive();
      if (!this.input.ok) break;
      if (n % this.prime != 0) this.out.send(n);
    }
    this.out.close();
  }
}

export function main(): void {
  let numbers = new Channel<i32>();
  spawn(new Generate(numbers));
  while (true) {
    const prime = numbers.receive();
    if (!numbers.ok) break;
    found++;
    largest = prime;
    const rest = new Channel<i32>();
    spawn(new Filter(numbers, rest, prime));
    numbers = rest;
  }
  console.log("There are " + found.toString() + " primes up to " + limit.toString() + "; the largest is " + largest.toString() + ".");
}

// Issue 15's top-level program: start-up code (run before main) calls a function with a
// loop, which under --preempt burns fuel before any tasklet exists.
function sumTo(n: i32): i32 {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += i;
  return sum;
}

const table = new StaticArray<i32>(64);
for (let i = 0; i < 64; i++) table[i] = sumTo(i * 100);

export function main(): void {
  let total: i64 = 0;
  for (let i = 0; i < 64; i++) total += table[i];
  console.log("table total " + total.toString());
}

// Every method of AssemblyScript's standard console, for the host's printer.
export function main(): void {
  console.log("a log line");
  console.debug("a debug line");
  console.info("an info line");
  console.warn("a warning");
  console.error("an error");
  const two: i32 = 1 + 1;
  console.assert(two == 2, "never printed");
  console.assert(two == 3, "arithmetic is broken");
  console.time("work");
  let sum = 0;
  for (let i = 0; i < 1000; i++) sum += i;
  console.timeLog("work");
  console.timeEnd("work");
  console.timeEnd("work");
  console.log("sum " + sum.toString());
}

// One process of bench/switchcount.ts, run under valgrind: sets up one contender at one
// depth, then makes `n` switches. Usage: node dist/bench/switchcount-run.js
// <stasis|floor|generator> <wasm file or -> <depth> <n>.
import { readFileSync } from "node:fs";
import { Program, Runtime } from "../host/index.ts";

const [kind, file, depthArg, nArg] = process.argv.slice(2);
const depth = Number(depthArg);
const n = Number(nArg);

function* dive(level: number): Generator<void, number, void> {
  let acc = level * 7;
  if (level > 1) acc += yield* dive(level - 1);
  else for (;;) yield;
  return acc + level;
}

if (kind === "stasis") {
  const rt = await Runtime.start(await Program.load(readFileSync(file)));
  (rt.exports as Record<string, (...a: number[]) => void>).configure(2, depth);
  rt.step({ budget: 3 }); // main spawns both and joins; each runs to its first schedule()
  rt.step({ budget: n });
} else if (kind === "floor") {
  const { instance } = await WebAssembly.instantiate(readFileSync(file), { env: { abort() { throw new Error("abort"); } } });
  const exports = instance.exports as Record<string, (...a: number[]) => number>;
  exports.configure(depth);
  exports.run(n);
} else {
  const chains = [dive(depth), dive(depth)];
  for (let i = 0; i < n; i++) chains[i & 1].next();
}

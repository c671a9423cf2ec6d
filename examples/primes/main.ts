// `npm start`: builds the prime-sieve program and runs it on Stasis, with a progress
// line on a terminal, then checks the answer against a plain sieve computed here.
//
//   node dist/examples/primes/main.js [limit]     (default 50000)
import { join } from "node:path";
import { buildProgram } from "../../build/index.ts";
import { packageRoot } from "../../build/paths.ts";
import { Program, Runtime, StasisError } from "../../host/index.ts";

function plainSieveCount(limit: number): number {
  const composite = new Uint8Array(limit + 1);
  let count = 0;
  for (let n = 2; n <= limit; n++) {
    if (composite[n]) continue;
    count++;
    for (let m = n * n; m <= limit; m += n) composite[m] = 1;
  }
  return count;
}

async function main(): Promise<void> {
  const limit = Number(process.argv[2] ?? 50000);
  if (!Number.isInteger(limit) || limit < 2 || limit > 1_000_000) throw new Error("limit must be a whole number from 2 to 1000000");
  const tty = process.stdout.isTTY;
  process.stdout.write("Building examples/primes/program.ts … ");
  const built = await buildProgram(join(packageRoot(), "examples", "primes", "program.ts"));
  process.stdout.write(`done (${built.wasm.length.toLocaleString("en-US")} bytes)\n`);

  const lines: string[] = [];
  const rt = await Runtime.start(await Program.load(built.wasm), { print: (line) => lines.push(line) });
  const exports = rt.exports as { setLimit(n: number): void; primesFound(): number; largestPrime(): number };
  exports.setLimit(limit);

  const started = performance.now();
  let lastDraw = 0;
  while (rt.step({ budget: 20_000 }) !== "done") {
    const now = performance.now();
    if (tty && now - lastDraw > 100) {
      const tasklets = exports.primesFound() + 2;
      process.stdout.write(`\r  sieving: ${exports.primesFound()} primes so far, up to ${exports.largestPrime()}, ${tasklets} tasklets alive`);
      lastDraw = now;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (tty) process.stdout.write("\r\x1b[K");
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const line of lines) process.stdout.write(line + "\n");
  const expected = plainSieveCount(limit);
  const ok = exports.primesFound() === expected;
  process.stdout.write(`${ok ? "✓" : "✗"} a plain sieve counts ${expected} (${seconds} s on Stasis)\n`);
  if (!ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(error instanceof StasisError ? `stasis: ${error.code}: ${error.message}\n` : `${(error as Error).message}\n`);
  process.exitCode = 1;
});

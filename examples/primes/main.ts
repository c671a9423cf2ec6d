// `npm start`: builds the prime-sieve program and runs it on Stasis with a progress line
// on a terminal, checkpointing to .stasis/primes-<limit>.img twice a second. Kill it at
// any moment (Ctrl-C, or even kill -9) and start it again: it continues from the last
// checkpoint and prints the same answer. At the end the answer is checked against a
// plain sieve computed here, and the checkpoint is removed.
//
//   node dist/examples/primes/main.js [limit]     (default 50000)
import { mkdir, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { buildProgram } from "../../build/index.ts";
import { packageRoot } from "../../build/paths.ts";
import { Program, Runtime, StasisError } from "../../host/index.ts";
import { loadImage, saveImage } from "../../host/node/index.ts";

const CHECKPOINT_EVERY_MS = 500;

interface Sieve {
  setLimit(n: number): void;
  primesFound(): number;
  largestPrime(): number;
}

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

/** Thaws the checkpoint if there is a sound one for this very program; otherwise null. */
async function resumeFrom(checkpoint: string, program: Program, print: (line: string) => void): Promise<Runtime | null> {
  try {
    return await Runtime.restore(program, await loadImage(checkpoint), { print });
  } catch (error) {
    if (!(error instanceof StasisError)) throw error;
    if (error.code !== "NOT_FROZEN") process.stdout.write(`Ignoring the checkpoint (${error.code}: ${error.message})\n`);
    return null;
  }
}

async function main(): Promise<void> {
  const limit = Number(process.argv[2] ?? 50000);
  if (!Number.isInteger(limit) || limit < 2 || limit > 1_000_000) throw new Error("limit must be a whole number from 2 to 1000000");
  const tty = process.stdout.isTTY;
  process.stdout.write("Building examples/primes/program.ts … ");
  const built = await buildProgram(join(packageRoot(), "examples", "primes", "program.ts"));
  process.stdout.write(`done (${built.wasm.length.toLocaleString("en-US")} bytes)\n`);
  const program = await Program.load(built.wasm);

  const checkpointDir = join(packageRoot(), ".stasis");
  const checkpoint = join(checkpointDir, `primes-${limit}.img`);
  const shown = relative(process.cwd(), checkpoint);
  await mkdir(checkpointDir, { recursive: true });
  const lines: string[] = [];
  const print = (line: string) => lines.push(line);
  let rt = await resumeFrom(checkpoint, program, print);
  if (rt) {
    process.stdout.write(`Resuming from ${shown} (${(rt.exports as unknown as Sieve).primesFound()} primes found before it was stopped)\n`);
  } else {
    rt = await Runtime.start(program, { print });
    (rt.exports as unknown as Sieve).setLimit(limit);
  }
  const sieve = rt.exports as unknown as Sieve;

  let interrupted = false;
  process.on("SIGINT", () => (interrupted = true));
  const started = performance.now();
  let lastDraw = 0;
  let lastSave = performance.now();
  while (rt.step({ budget: 20_000 }) !== "done") {
    const now = performance.now();
    if (interrupted || now - lastSave >= CHECKPOINT_EVERY_MS) {
      await saveImage(checkpoint, rt.snapshot());
      lastSave = now;
      if (interrupted) {
        process.stdout.write(`${tty ? "\r\x1b[K" : ""}Stopped; the state is in ${shown}. Run \`npm start\` again to continue.\n`);
        process.exit(130);
      }
    }
    if (tty && now - lastDraw > 100) {
      process.stdout.write(`\r\x1b[K  sieving: ${sieve.primesFound()} primes so far, up to ${sieve.largestPrime()}, ${rt.taskletCount()} tasklets alive`);
      lastDraw = now;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (tty) process.stdout.write("\r\x1b[K");
  await rm(checkpoint, { force: true });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  for (const line of lines) process.stdout.write(line + "\n");
  const expected = plainSieveCount(limit);
  const ok = sieve.primesFound() === expected;
  process.stdout.write(`${ok ? "✓" : "✗"} a plain sieve counts ${expected} (this run: ${seconds} s on Stasis)\n`);
  if (!ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(error instanceof StasisError ? `stasis: ${error.code}: ${error.message}\n` : `${(error as Error).message}\n`);
  process.exitCode = 1;
});

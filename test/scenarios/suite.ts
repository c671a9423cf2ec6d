// One scenario suite for every JavaScript runtime. Runtime-neutral: it gets the built
// programs as bytes and uses only the host API, so Node (test/everywhere.test.ts), Deno and
// Bun (test/scenarios/runner.ts), Chromium and Firefox (test/scenarios/browser.html) run the
// very same code. Also the two halves of the cross-runtime matrix: freeze() in one runtime,
// thaw() in another, and relay() between them.
import { DEFER, Program, Runtime, type HostHandler } from "../../host/index.ts";

export type Programs = Record<"pingpong" | "channels" | "calls", Uint8Array<ArrayBuffer>>;

/** Bytes as base64 text: what crosses into a browser page (CDP and WebDriver BiDi carry JSON). */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Programs as base64 text, back to bytes. */
export function programsFrom(plain: Record<keyof Programs, string>): Programs {
  return { pingpong: fromBase64(plain.pingpong), channels: fromBase64(plain.channels), calls: fromBase64(plain.calls) };
}

export interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

const PINGPONG = ["a 0", "b 0", "a 1", "b 1", "a 2", "b 2", "done"];
const work: HostHandler = async (call) => {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
  return "done " + call.text();
};

async function run(bytes: Uint8Array<ArrayBuffer>, options: { scenario?: number; handlers?: Record<string, HostHandler> } = {}) {
  const output: string[] = [];
  const rt = await Runtime.start(await Program.load(bytes), { print: (line) => output.push(line), handlers: options.handlers, seed: 1 });
  if (options.scenario !== undefined) (rt.exports.setScenario as (n: number) => void)(options.scenario);
  return { rt, output };
}

function same(name: string, actual: string[], expected: string[]): Outcome {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  return { name, ok, detail: ok ? `${actual.length} lines` : `got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}` };
}

export async function runSuite(programs: Programs): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const check = async (name: string, body: () => Promise<Outcome>) => {
    try {
      outcomes.push(await body());
    } catch (error) {
      outcomes.push({ name, ok: false, detail: `threw ${(error as Error)?.message ?? error}` });
    }
  };
  await check("tasklets", async () => {
    const { rt, output } = await run(programs.pingpong);
    await rt.run();
    return same("tasklets", output, PINGPONG);
  });
  await check("channels", async () => {
    const { rt, output } = await run(programs.channels);
    await rt.run();
    return same("channels", output.slice(-2), ["primes 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47", "main is tasklet 1"]);
  });
  await check("freeze and thaw", async () => {
    const { rt, output } = await run(programs.pingpong);
    rt.step({ budget: 4 });
    const thawed = await Runtime.restore(rt.program, rt.snapshot(), { print: (line) => output.push(line) });
    await thawed.run();
    return same("freeze and thaw", output, PINGPONG);
  });
  await check("host calls", async () => {
    const { rt, output } = await run(programs.calls, { scenario: 1, handlers: { work } });
    await rt.run();
    return same("host calls", output, ["100 answers, 0 wrong"]);
  });
  await check("deferred call", async () => {
    const { rt, output } = await run(programs.calls, { scenario: 4, handlers: { approval: () => DEFER } });
    await rt.run();
    rt.complete(rt.pendingCalls()[0].id, "granted");
    await rt.run();
    return same("deferred call", output, ["approval: granted"]);
  });
  return outcomes;
}

/** The matrix cases: what is frozen, and what a thaw must print to the end. */
export const MATRIX = {
  /** Frozen between switches. */
  tasklets: { expected: ["b 1", "a 2", "b 2", "done"] },
  /** Frozen with 100 host calls pending; the thawing runtime answers them. */
  pending: { expected: ["100 answers, 0 wrong"] },
} as const;
export type MatrixCase = keyof typeof MATRIX;

export async function freeze(programs: Programs, which: MatrixCase): Promise<Uint8Array> {
  if (which === "tasklets") {
    const { rt } = await run(programs.pingpong);
    rt.step({ budget: 4 });
    return rt.snapshot();
  }
  const { rt } = await run(programs.calls, { scenario: 1, handlers: { work: () => DEFER } });
  await rt.run();
  return rt.snapshot();
}

export async function thaw(programs: Programs, which: MatrixCase, image: Uint8Array): Promise<string[]> {
  const output: string[] = [];
  const program = await Program.load(which === "tasklets" ? programs.pingpong : programs.calls);
  const rt = await Runtime.restore(program, image, { print: (line) => output.push(line), handlers: { work } });
  await rt.run();
  return output;
}

/**
 * The middle of a relay: thaws an image of the "pending" case, answers the first half of
 * its 100 calls, and freezes it again with the other half still pending — so one
 * computation's host calls are answered in three engines in turn.
 */
export async function relay(programs: Programs, image: Uint8Array): Promise<Uint8Array> {
  const rt = await Runtime.restore(await Program.load(programs.calls), image, { print: () => {}, handlers: { work: () => DEFER } });
  await rt.run();
  const calls = rt.pendingCalls().sort((a, b) => a.id - b.id);
  const half = calls.length / 2;
  for (const call of calls.slice(0, half)) rt.complete(call.id, "done " + new TextDecoder().decode(call.payload));
  await rt.run();
  const left = rt.pendingCalls().length;
  if (calls.length !== 100 || left !== half) throw new Error(`relay: ${calls.length} calls pending before, ${left} after answering ${half}`);
  return rt.snapshot();
}

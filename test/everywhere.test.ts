// The same scenario suite on five engines — Node (V8), Deno (V8), Bun (JavaScriptCore),
// Chromium (V8) and Firefox (SpiderMonkey) — and a 5 × 5 matrix: an image frozen in each
// engine (mid-run between switches, and with 100 host calls pending) thaws in every engine,
// itself included, with identical output; and every engine freezes the same bytes. And
// host calls relayed: half answered in one engine, the rest in another (Node → Bun → Deno).
// Engines come from test/engines.ts: a missing one is skipped with a line saying how to
// enable it, or fails under CI=true. STASIS_ENGINES=node,bun narrows the run (npm run test:bun).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { launchChromium, launchFirefox, serveStatic } from "./browser.ts";
import { ENGINES, itWith, requireEngine, selectedEngines, type EngineName } from "./engines.ts";
import { programPath } from "./helpers.ts";
import { freeze, MATRIX, relay, runSuite, thaw, toBase64, type MatrixCase, type Outcome, type Programs } from "./scenarios/suite.ts";

const exec = promisify(execFile);
const runner = join(packageRoot(), "test", "scenarios", "runner.ts");

type Suite = typeof import("./scenarios/suite.ts");
declare global {
  interface Window {
    stasis: { suite: Suite; store: typeof import("../host/browser/index.ts") };
  }
}

let programs: Programs;
let encoded: Record<keyof Programs, string>;
let dir: string;
let server: Server | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-everywhere-"));
  const build = async (name: string) => (await buildProgram(programPath(`${name}.ts`))).wasm;
  programs = { pingpong: await build("pingpong"), channels: await build("channels"), calls: await build("calls") };
  encoded = { pingpong: toBase64(programs.pingpong), channels: toBase64(programs.channels), calls: toBase64(programs.calls) };
  for (const [name, bytes] of Object.entries(programs)) await writeFile(join(dir, `${name}.wasm`), bytes);
});

/** What every engine offers the tests. */
interface Engine {
  suite(): Promise<Outcome[]>;
  freeze(which: MatrixCase): Promise<Uint8Array>;
  thaw(which: MatrixCase, image: Uint8Array): Promise<string[]>;
  /** Thaw a "pending" image, answer half its calls, freeze again. */
  relay(image: Uint8Array): Promise<Uint8Array>;
}

/** Deno and Bun: test/scenarios/runner.ts in a child process, files in `dir`. */
function commandLine(name: "deno" | "bun", prefix: string[]): Engine {
  const run = async (...args: string[]) =>
    (await exec(requireEngine(name), [...prefix, runner, ...args], { env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } })).stdout;
  return {
    suite: async () => JSON.parse(await run("suite", dir)) as Outcome[],
    freeze: async (which) => {
      const path = join(dir, `${name}-${which}.img`);
      await run("freeze", dir, which, path);
      return new Uint8Array(await readFile(path));
    },
    thaw: async (which, image) => {
      const path = join(dir, `to-${name}-${which}.img`);
      await writeFile(path, image);
      return JSON.parse(await run("thaw", dir, which, path)) as string[];
    },
    relay: async (image) => {
      const [input, output] = [join(dir, `relay-in-${name}.img`), join(dir, `relay-out-${name}.img`)];
      await writeFile(input, image);
      await run("relay", dir, input, output);
      return new Uint8Array(await readFile(output));
    },
  };
}

/** The part of a Playwright or Puppeteer page the tests use. */
interface PageLike {
  goto(url: string): Promise<unknown>;
  waitForFunction(fn: () => boolean): Promise<unknown>;
  evaluate<A, R>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
}

/** A browser opened on first use (so `-t deno` needs none), closed after the file. */
function browserSession(open: () => Promise<{ page: PageLike; close: () => Promise<void> }>) {
  let opened: Promise<{ page: PageLike; close: () => Promise<void> }> | undefined;
  const load = async (page: PageLike) => {
    if (!server) server = (await serveStatic()).server;
    const { port } = server.address() as { port: number };
    await page.goto(`http://127.0.0.1:${port}/test/scenarios/browser.html`);
    await page.waitForFunction(() => document.title === "ready");
    return page;
  };
  return {
    page: async () => (await (opened ??= open().then(async (b) => (await load(b.page), b)))).page,
    reload: async () => load((await (opened ??= open())).page),
    close: async () => (await opened)?.close(),
  };
}

const chromium = browserSession(async () => {
  const context = await launchChromium();
  return { page: (await context.newPage()) as unknown as PageLike, close: () => context.close() };
});
const firefox = browserSession(async () => {
  const browser = await launchFirefox();
  return { page: (await browser.newPage()) as unknown as PageLike, close: () => browser.close() };
});

function inBrowser(session: typeof chromium): Engine {
  return {
    suite: async () => (await session.page()).evaluate((p) => window.stasis.suite.runSuite(window.stasis.suite.programsFrom(p)), encoded),
    freeze: async (which) =>
      Uint8Array.from(
        atob(
          await (await session.page()).evaluate(
            async ({ p, which }) => window.stasis.suite.toBase64(await window.stasis.suite.freeze(window.stasis.suite.programsFrom(p), which)),
            { p: encoded, which },
          ),
        ),
        (c) => c.charCodeAt(0),
      ),
    thaw: async (which, image) =>
      (await session.page()).evaluate(
        ({ p, which, image }) => window.stasis.suite.thaw(window.stasis.suite.programsFrom(p), which, window.stasis.suite.fromBase64(image)),
        { p: encoded, which, image: toBase64(image) },
      ),
    relay: async (image) =>
      Uint8Array.from(
        atob(
          await (await session.page()).evaluate(
            async ({ p, image }) => window.stasis.suite.toBase64(await window.stasis.suite.relay(window.stasis.suite.programsFrom(p), window.stasis.suite.fromBase64(image))),
            { p: encoded, image: toBase64(image) },
          ),
        ),
        (c) => c.charCodeAt(0),
      ),
  };
}

const engines: Record<EngineName, Engine> = {
  node: {
    suite: () => runSuite(programs),
    freeze: (which) => freeze(programs, which),
    thaw: (which, image) => thaw(programs, which, image),
    relay: (image) => relay(programs, image),
  },
  deno: commandLine("deno", ["run", "-A", "--quiet"]),
  bun: commandLine("bun", ["run", "--silent"]),
  chromium: inBrowser(chromium),
  firefox: inBrowser(firefox),
};
const names = selectedEngines();

afterAll(async () => {
  await Promise.all([chromium.close(), firefox.close()]);
  server?.close();
});

describe(`one scenario suite, ${names.length} engines`, () => {
  for (const name of names) {
    itWith([name])(`passes on ${name}`, async () => {
      const outcomes = await engines[name].suite();
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      expect(outcomes.map((o) => o.name)).toEqual(["tasklets", "channels", "freeze and thaw", "host calls", "deferred call"]);
    });
  }
});

/** Each engine freezes each case once; every cell thaws that image. */
const images = new Map<string, Promise<Uint8Array>>();
const frozen = (which: MatrixCase, from: EngineName) => {
  const key = `${which}:${from}`;
  if (!images.has(key)) images.set(key, engines[from].freeze(which));
  return images.get(key)!;
};

describe(`cross-engine matrix (${names.length} × ${names.length}): frozen in one engine, thawed in each`, () => {
  for (const which of Object.keys(MATRIX) as MatrixCase[]) {
    for (const from of names) {
      for (const to of names) {
        itWith([from, to])(`${which}: ${from} → ${to}`, async () => {
          expect(await engines[to].thaw(which, await frozen(which, from))).toEqual(MATRIX[which].expected);
        });
      }
    }
    itWith(names)(`${which}: every engine freezes the same bytes`, async () => {
      const reference = toBase64(await frozen(which, "node"));
      for (const from of names) expect(toBase64(await frozen(which, from)), from).toBe(reference);
    });
  }
});

/** All five: three relays; a run narrowed by STASIS_ENGINES: Node → engine → Node. */
const relays: [EngineName, EngineName, EngineName][] =
  names.length === ENGINES.length
    ? [["node", "bun", "deno"], ["node", "firefox", "node"], ["firefox", "chromium", "bun"]]
    : names.filter((name) => name !== "node").map((name) => ["node", name, "node"]);
describe("host calls relayed: frozen with 100 pending, half answered in a second engine, the rest in a third", () => {
  for (const [from, via, to] of relays) {
    itWith([from, via, to])(`${from} → ${via} → ${to}`, async () => {
      const halfAnswered = await engines[via].relay(await frozen("pending", from));
      expect(await engines[to].thaw("pending", halfAnswered)).toEqual(MATRIX.pending.expected);
    });
  }
});

const browsers = ([["chromium", chromium], ["firefox", firefox]] as const).filter(([name]) => names.includes(name));
describe.skipIf(browsers.length === 0)("browser store", () => {
  for (const [name, session] of browsers) {
    itWith([name])(`keeps an image in IndexedDB across a page reload (${name})`, async () => {
      await (await session.page()).evaluate(async (p) => {
        const image = await window.stasis.suite.freeze(window.stasis.suite.programsFrom(p), "tasklets");
        await window.stasis.store.saveImage("reload-test", image);
      }, encoded);
      const reloaded = await session.reload();
      const output = await reloaded.evaluate(
        async (p) => window.stasis.suite.thaw(window.stasis.suite.programsFrom(p), "tasklets", await window.stasis.store.loadImage("reload-test")),
        encoded,
      );
      expect(output).toEqual(MATRIX.tasklets.expected);
      await expect(reloaded.evaluate(() => window.stasis.store.loadImage("no-such-key").then(() => "found", (e: { code: string }) => e.code), undefined)).resolves.toBe("NOT_FROZEN");
    });
  }
});

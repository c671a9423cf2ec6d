// The same scenario suite on Node, Deno and Chromium, and images moved between them:
// every image frozen in one runtime thaws in each of the other two with identical output.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { launchChromium, serveStatic } from "./browser.ts";
import { programPath } from "./helpers.ts";
import { freeze, MATRIX, runSuite, thaw, type MatrixCase, type Outcome, type Programs } from "./scenarios/suite.ts";

const exec = promisify(execFile);
const deno = join(packageRoot(), "node_modules", ".bin", "deno");
const denoRunner = join(packageRoot(), "test", "scenarios", "deno.ts");

type Suite = typeof import("./scenarios/suite.ts");
declare global {
  interface Window {
    stasis: { suite: Suite; store: typeof import("../host/browser/index.ts") };
  }
}

let programs: Programs;
let dir: string;
let server: Server | undefined;
let browser: BrowserContext | undefined;
let openedPage: Page | undefined;

/** Chromium starts only for the tests that use it (so `-t deno` needs no browser). */
async function openPage(): Promise<Page> {
  if (!openedPage) {
    const served = await serveStatic();
    server = served.server;
    browser = await launchChromium();
    openedPage = await browser.newPage();
  }
  const address = server!.address() as { port: number };
  await openedPage.goto(`http://127.0.0.1:${address.port}/test/scenarios/browser.html`);
  await openedPage.waitForFunction(() => document.title === "ready");
  return openedPage;
}

async function page(): Promise<Page> {
  return openedPage ?? openPage();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stasis-everywhere-"));
  const build = async (name: string) => (await buildProgram(programPath(`${name}.ts`))).wasm;
  programs = { pingpong: await build("pingpong"), channels: await build("channels"), calls: await build("calls") };
  for (const [name, bytes] of Object.entries(programs)) await writeFile(join(dir, `${name}.wasm`), bytes);
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

/** Typed arrays do not cross page.evaluate: programs and images travel as number arrays. */
const plain = (bytes: Uint8Array) => Array.from(bytes);
const plainPrograms = () => ({ pingpong: plain(programs.pingpong), channels: plain(programs.channels), calls: plain(programs.calls) });

const runtimes = {
  node: {
    suite: () => runSuite(programs),
    freeze: (which: MatrixCase) => freeze(programs, which),
    thaw: (which: MatrixCase, image: Uint8Array) => thaw(programs, which, image),
  },
  deno: {
    suite: async () => JSON.parse((await exec(deno, ["run", "-A", "--quiet", denoRunner, "suite", dir])).stdout) as Outcome[],
    freeze: async (which: MatrixCase) => {
      const path = join(dir, `deno-${which}.img`);
      await exec(deno, ["run", "-A", "--quiet", denoRunner, "freeze", dir, which, path]);
      return new Uint8Array(await readFile(path));
    },
    thaw: async (which: MatrixCase, image: Uint8Array) => {
      const path = join(dir, `to-deno-${which}.img`);
      await writeFile(path, image);
      return JSON.parse((await exec(deno, ["run", "-A", "--quiet", denoRunner, "thaw", dir, which, path])).stdout) as string[];
    },
  },
  chromium: {
    suite: async () => (await page()).evaluate((p) => window.stasis.suite.runSuite(window.stasis.suite.programsFrom(p)), plainPrograms()),
    freeze: async (which: MatrixCase) =>
      new Uint8Array(
        await (await page()).evaluate(
          async ({ p, which }) => Array.from(await window.stasis.suite.freeze(window.stasis.suite.programsFrom(p), which)),
          { p: plainPrograms(), which },
        ),
      ),
    thaw: async (which: MatrixCase, image: Uint8Array) =>
      (await page()).evaluate(
        ({ p, which, image }) => window.stasis.suite.thaw(window.stasis.suite.programsFrom(p), which, new Uint8Array(image)),
        { p: plainPrograms(), which, image: plain(image) },
      ),
  },
};
type RuntimeName = keyof typeof runtimes;
const names = Object.keys(runtimes) as RuntimeName[];

describe("one scenario suite, three runtimes", () => {
  for (const name of names) {
    it(`passes on ${name}`, async () => {
      const outcomes = await runtimes[name].suite();
      expect(outcomes.filter((o) => !o.ok)).toEqual([]);
      expect(outcomes.map((o) => o.name)).toEqual(["tasklets", "channels", "freeze and thaw", "host calls", "deferred call"]);
    });
  }
});

describe("cross-runtime matrix: frozen in one runtime, thawed in each other", () => {
  for (const which of Object.keys(MATRIX) as MatrixCase[]) {
    for (const from of names) {
      it(`${which}: ${from} → ${names.filter((n) => n !== from).join(", ")}`, async () => {
        const image = await runtimes[from].freeze(which);
        for (const to of names.filter((n) => n !== from)) {
          expect(await runtimes[to].thaw(which, image), `${from} → ${to}`).toEqual(MATRIX[which].expected);
        }
      });
    }
  }
});

describe("browser store", () => {
  it("keeps an image in IndexedDB across a page reload (chromium)", async () => {
    await (await page()).evaluate(async (p) => {
      const image = await window.stasis.suite.freeze(window.stasis.suite.programsFrom(p), "tasklets");
      await window.stasis.store.saveImage("reload-test", image);
    }, plainPrograms());
    const reloaded = await openPage();
    const output = await reloaded.evaluate(
      async (p) => window.stasis.suite.thaw(window.stasis.suite.programsFrom(p), "tasklets", await window.stasis.store.loadImage("reload-test")),
      plainPrograms(),
    );
    expect(output).toEqual(MATRIX.tasklets.expected);
    await expect(reloaded.evaluate(() => window.stasis.store.loadImage("no-such-key").then(() => "found", (e: { code: string }) => e.code))).resolves.toBe("NOT_FROZEN");
  });
});

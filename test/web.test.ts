// examples/web in real Chromium: load, run, freeze into the browser, reload, thaw,
// continue on the Node server and back, finish — and get the checksum of a straight
// run. Saves a screenshot to test-artifacts/web.png.
import { mkdir } from "node:fs/promises";
import type { Server } from "node:http";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { buildProgram } from "../build/index.ts";
import { packageRoot } from "../build/paths.ts";
import { startWebServer } from "../examples/web/server.ts";
import { Program, Runtime } from "../host/index.ts";
import { launchChromium } from "./browser.ts";
import { enginePath, itWith } from "./engines.ts";

interface PageWalkers {
  generation(): number;
  done(): boolean;
  checksum(): number;
}
declare global {
  interface Window {
    walkers: PageWalkers;
  }
}

let server: Server;
let url: string;
let browser: BrowserContext;

beforeAll(async () => {
  ({ server, url } = await startWebServer(0));
  if (enginePath("chromium") !== undefined) browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server?.close();
});

async function straightChecksum(): Promise<string> {
  const output: string[] = [];
  const rt = await Runtime.start(await Program.load((await buildProgram(join(packageRoot(), "examples", "web", "program.ts"))).wasm), { print: (l) => output.push(l) });
  await rt.run();
  return output[0];
}

async function ready(page: Page): Promise<void> {
  await page.waitForFunction(() => document.title.endsWith("(ready)"));
}

const generation = (page: Page) => page.evaluate(() => window.walkers.generation());

describe("examples/web", () => {
  itWith(["chromium"])("freezes, survives a reload, moves to the server and back, and finishes with the straight-run checksum (chromium)", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    await ready(page);
    await page.click("#run");
    await page.waitForFunction(() => window.walkers.generation() > 200);
    await page.click("#freeze");
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("frozen at generation"));
    const frozenAt = await generation(page);

    await page.reload();
    await ready(page);
    expect(await page.textContent("#status")).toMatch(/^restored from this browser after a reload/);
    expect(await generation(page)).toBe(frozenAt);

    await page.click("#server");
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("back from the server"));
    const afterServer = await generation(page);
    expect(afterServer).toBeGreaterThan(frozenAt);

    await page.click("#run");
    await page.waitForFunction(() => window.walkers.done(), undefined, { timeout: 60_000 });
    const checksum = await page.evaluate(() => window.walkers.checksum());
    expect(`checksum ${checksum}`).toBe(await straightChecksum());

    await mkdir(join(packageRoot(), "test-artifacts"), { recursive: true });
    await page.screenshot({ path: join(packageRoot(), "test-artifacts", "web.png") });
  });
});

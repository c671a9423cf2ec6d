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

  itWith(["chromium"])("shows tasklet states, the image size, expected beside computed checksum and a finished state, keeps the state on pagehide, and fits a phone (chromium)", async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    await page.goto(url);
    await ready(page);
    await page.click("#reset");
    await page.waitForFunction(() => document.getElementById("status")!.textContent === "started over");

    // A narrow window: the canvas shrinks to fit, nothing scrolls sideways.
    const box = (await page.locator("#world").boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(360);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    // Dots at generation 0 already.
    await page.waitForFunction(() => {
      const canvas = document.getElementById("world") as HTMLCanvasElement;
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      for (let i = 0; i < data.length; i += 4) if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) return true;
      return false;
    });
    // One chip per live tasklet, in ascending id, each with its state.
    const chips = await page.locator("#tasklets li").allTextContents();
    expect(chips.length).toBe(65);
    expect(await page.textContent("#tasklet-count")).toBe("65");
    expect(chips.map((chip) => Number(chip.split(" ")[0]))).toEqual(Array.from({ length: 65 }, (_, i) => i + 1));
    for (const chip of chips) expect(chip).toMatch(/^\d+ (suspended|running|normal)$/);

    // Leave without Freeze: pagehide keeps the state, the reload restores it.
    await page.click("#run");
    await page.waitForFunction(() => window.walkers.generation() > 100);
    await page.reload();
    await ready(page);
    expect(await page.textContent("#status")).toMatch(/^restored from this browser after a reload: generation \d+, paused/);
    expect(await generation(page)).toBeGreaterThan(100);
    expect(await page.textContent("#image-size")).toMatch(/^[\d,]+ bytes$/);

    // To the end: a finished state, and the checksum beside the expected one.
    await page.click("#run");
    await page.waitForFunction(() => window.walkers.done(), undefined, { timeout: 60_000 });
    await page.waitForFunction(() => document.getElementById("expected")!.textContent !== "?");
    expect(await page.textContent("#status")).toMatch(/^finished: all 2000 generations, checksum -?\d+ — equals an uninterrupted run's$/);
    expect(await page.textContent("#checksum")).toBe(await page.textContent("#expected"));
    expect(`checksum ${await page.textContent("#expected")}`).toBe(await straightChecksum());
    expect(await page.textContent("#verdict")).toBe("✓ same");
    expect(await page.locator("#run").isDisabled()).toBe(true);
    expect(await page.textContent("#run")).toBe("Finished");
    await page.click("#run", { force: true });
    expect(await page.textContent("#status")).toMatch(/^finished/);
    await page.screenshot({ path: join(packageRoot(), "test-artifacts", "web-narrow.png"), fullPage: true });
  });
});

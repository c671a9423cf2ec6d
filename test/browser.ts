// Headless browsers for tests, each with a fresh profile: Debian's chromium driven by
// playwright-core (CDP), Debian's firefox-esr driven by puppeteer-core over WebDriver BiDi
// (binaries from test/engines.ts; never a downloaded browser); and a static server for the
// package root (dist/, node_modules/, test/, examples/).
import { createReadStream, existsSync, statSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import puppeteer, { type Browser as FirefoxBrowser } from "puppeteer-core";
import { packageRoot } from "../build/paths.ts";
import { requireEngine } from "./engines.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
  ".json": "application/json", ".map": "application/json", ".img": "application/octet-stream", ".css": "text/css",
};

/** Serves files under `root` on a loopback port. */
export async function serveStatic(root = packageRoot()): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname));
    const file = join(root, path);
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}` };
}

/** A fresh headless Chromium with its own profile (flags this machine needs). */
export async function launchChromium(): Promise<BrowserContext> {
  return chromium.launchPersistentContext(await mkdtemp(join(tmpdir(), "stasis-chromium-")), {
    executablePath: requireEngine("chromium"),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A fresh headless Firefox (WebDriver BiDi) with its own profile. */
export async function launchFirefox(): Promise<FirefoxBrowser> {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: requireEngine("firefox"),
    headless: true,
    userDataDir: await mkdtemp(join(tmpdir(), "stasis-firefox-")),
  });
}

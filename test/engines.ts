// The five JavaScript engines the suite runs on, where each one's binary is, and what a
// test does when one is missing.
//
//   node      the runtime of the suite itself (always there)
//   deno      the `deno` npm package (devDependency): node_modules/.bin/deno, or DENO_PATH
//   bun       the `bun` npm package (devDependency): the binary of its platform package
//             @oven/bun-linux-x64[-baseline] (present even when npm skipped bun's
//             postinstall, which only moves it), else node_modules/bun/bin/bun.exe once
//             that postinstall replaced the placeholder, or BUN_PATH
//   chromium  Debian's /usr/bin/chromium (apt-get install -y chromium), or CHROMIUM_PATH
//   firefox   Debian's /usr/bin/firefox-esr (apt-get install -y firefox-esr), or FIREFOX_PATH
//
// Missing engine: without CI its tests are skipped and test/engines-setup.ts prints one
// line saying how to enable it; with CI=true (as .ci/run runs) its tests run and fail with
// that same sentence — a missing engine is never a silent pass. STASIS_ENGINES=node,bun
// (npm run test:bun) narrows a run to some engines; the others are left out, not failed.
import { existsSync, openSync, readSync, closeSync, statSync } from "node:fs";
import { join } from "node:path";
import { it } from "vitest";
import { packageRoot } from "../build/paths.ts";

export const ENGINES = ["node", "deno", "bun", "chromium", "firefox"] as const;
export type EngineName = (typeof ENGINES)[number];

/** True when the run must not skip: CI=true (or 1). */
export const strict = process.env.CI === "true" || process.env.CI === "1";

function isExecutable(path: string): boolean {
  if (!existsSync(path) || !statSync(path).isFile()) return false;
  // A real binary starts with ELF (or Mach-O / PE) magic; npm's placeholders are text.
  const fd = openSync(path, "r");
  try {
    const head = Buffer.alloc(4);
    readSync(fd, head, 0, 4, 0);
    return head.toString("latin1") !== "The " && statSync(path).size > 1024 * 1024;
  } finally {
    closeSync(fd);
  }
}

/** The first candidate that passes `check`; a set environment variable is the only candidate. */
function first(variable: string, candidates: string[], check = (path: string) => existsSync(path)): string | undefined {
  const set = process.env[variable];
  return (set ? [set] : candidates).find(check);
}

const modules = () => join(packageRoot(), "node_modules");

const FINDERS: Record<EngineName, { find: () => string | undefined; enable: string }> = {
  node: { find: () => process.execPath, enable: "" },
  deno: {
    find: () => first("DENO_PATH", [join(modules(), ".bin", "deno")]),
    enable: "run `npm install` (the `deno` devDependency ships the binary) or set DENO_PATH",
  },
  bun: {
    find: () =>
      first(
        "BUN_PATH",
        [
          join(modules(), "@oven", "bun-linux-x64", "bin", "bun"),
          join(modules(), "@oven", "bun-linux-x64-baseline", "bin", "bun"),
          join(modules(), "bun", "bin", "bun.exe"),
        ],
        isExecutable,
      ),
    enable: "run `npm install` (the `bun` devDependency ships the binary in @oven/bun-<platform>) or set BUN_PATH",
  },
  chromium: {
    find: () => first("CHROMIUM_PATH", ["/usr/bin/chromium"]),
    enable: "install it (Debian: `apt-get install -y chromium`) or set CHROMIUM_PATH",
  },
  firefox: {
    find: () => first("FIREFOX_PATH", ["/usr/bin/firefox-esr"]),
    enable: "install it (Debian: `apt-get install -y firefox-esr`) or set FIREFOX_PATH",
  },
};

/** The engines this run covers (all five unless STASIS_ENGINES names some). */
export function selectedEngines(): EngineName[] {
  const wanted = process.env.STASIS_ENGINES?.split(",").map((name) => name.trim()).filter(Boolean);
  if (!wanted) return [...ENGINES];
  return ENGINES.filter((name) => name === "node" || wanted.includes(name));
}

/** The binary of an engine, or undefined when it is not on this machine. */
export function enginePath(name: EngineName): string | undefined {
  return FINDERS[name].find();
}

/** One line: the engine is missing, and how to enable it. */
export function missingLine(name: EngineName): string {
  return `${name} is not available: ${FINDERS[name].enable}`;
}

/** The binary of an engine; throws the how-to-enable sentence when it is missing. */
export function requireEngine(name: EngineName): string {
  const path = enginePath(name);
  if (path === undefined) throw new Error(missingLine(name));
  return path;
}

/**
 * `it` for a test needing these engines: runs when they are all present, fails with the
 * how-to-enable sentence under CI=true when one is missing, and is skipped otherwise.
 */
export function itWith(engines: readonly EngineName[]): (name: string, body: () => Promise<void> | void) => void {
  const missing = engines.filter((name) => enginePath(name) === undefined);
  if (missing.length === 0) return (name, body) => it(name, body);
  if (!strict) return (name, body) => it.skip(name, body);
  return (name) =>
    it(name, () => {
      throw new Error(missing.map(missingLine).join("; ") + " (CI=true: a missing engine is a failure)");
    });
}

// Where Stasis's own files are, whether it runs from source (build/*.ts), compiled
// (dist/build/*.js) or installed as a dependency (node_modules/stasis/...).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** The directory holding Stasis's package.json. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === "stasis") {
      cached = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error("stasis: cannot find the stasis package root above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

export function assemblyDir(): string {
  return join(packageRoot(), "assembly");
}

// vitest globalSetup: one line per engine this run cannot use, before any test runs
// (see test/engines.ts). Under CI=true the same engines' tests fail instead of skipping.
import { enginePath, missingLine, selectedEngines, strict } from "./engines.ts";

export default function setup(): void {
  for (const name of selectedEngines()) {
    if (enginePath(name) !== undefined) continue;
    const what = strict ? "its tests will FAIL (CI=true)" : "its tests are skipped";
    process.stdout.write(`stasis tests: ${missingLine(name)} — ${what}\n`);
  }
}

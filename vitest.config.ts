import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One line per engine (bun, deno, chromium, firefox) this machine lacks: test/engines.ts.
    globalSetup: ["test/engines-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Each file builds its own programs; two workers match the 2-core machines we run on.
    maxWorkers: 2,
  },
});

// Lint for the TypeScript host, build pipeline, tests and benchmarks. AssemblyScript
// sources (assembly/, */programs/, examples/*/program.ts) are checked by asc instead.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "assembly/**", "**/programs/**", "examples/*/program.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain-JS scripts run by tests and benchmarks (they use dist/, not the TS sources).
    files: ["test/child/**/*.mjs", "bench/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", setTimeout: "readonly", WebAssembly: "readonly" } },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
);

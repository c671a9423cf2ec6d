// stasis is an ES module package: require("stasis") lands here (the "require" condition of
// package.json "exports") and says so, instead of ERR_PACKAGE_PATH_NOT_EXPORTED.
"use strict";
throw new Error(
  'stasis is ESM only: use `import { Program, Runtime } from "stasis"` (or `await import("stasis")` from CommonJS), ' +
    'and "type": "module" in your package.json or a .mjs file.',
);

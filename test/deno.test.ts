// The file store and a thaw under Deno (from the `deno` npm package).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect } from "vitest";
import { packageRoot } from "../build/paths.ts";
import { itWith, requireEngine } from "./engines.ts";

const exec = promisify(execFile);

describe("Deno", () => {
  itWith(["deno"])("saves and loads an image through host/node and thaws it", async () => {
    const { stdout } = await exec(requireEngine("deno"), ["run", "--quiet", "--allow-read", "--allow-write", "--allow-env", join(packageRoot(), "test", "deno", "store.ts")], {
      cwd: join(packageRoot(), "test", "deno"),
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    });
    expect(stdout.trim()).toBe("b 1,a 2,b 2,done");
  });
});

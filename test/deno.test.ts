// The file store and a thaw under Deno (from the `deno` npm package).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../build/paths.ts";

const exec = promisify(execFile);

describe("Deno", () => {
  it("saves and loads an image through host/node and thaws it", async () => {
    const deno = join(packageRoot(), "node_modules", ".bin", "deno");
    const { stdout } = await exec(deno, ["run", "--quiet", "--allow-read", "--allow-write", "--allow-env", join(packageRoot(), "test", "deno", "store.ts")], {
      cwd: join(packageRoot(), "test", "deno"),
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    });
    expect(stdout.trim()).toBe("b 1,a 2,b 2,done");
  });
});

import { describe, expect, it } from "vitest";
import { StasisError } from "../host/index.ts";
import { call, start } from "./helpers.ts";

describe("stacks", () => {
  for (const mode of ["release", "debug"] as const) {
    it(`keeps 250 frames of mixed-type locals intact across switches (${mode})`, async () => {
      const { rt, output } = await start("deep.ts", mode);
      call(rt, "setDepth", 250);
      await rt.run();
      expect(output).toEqual(["diver ok", "shallow steps 20, failures 0"]);
    });
  }

  it("rejects_stack_over_limit: stops only the tasklet, names the limit, and the rest goes on", async () => {
    const { rt, output } = await start("deep.ts", "release", { stackLimit: 4096 });
    call(rt, "setDepth", 1000);
    const error = await rt.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StasisError);
    expect((error as StasisError).code).toBe("STACK_LIMIT");
    expect((error as StasisError).taskletId).toBe(2);
    expect((error as StasisError).message).toMatch(/stack limit of 4096 bytes/);
    // Stopped: listed after the live tasklets as failed, with the reason.
    expect(rt.tasklets().find((t) => t.id === 2)).toMatchObject({ status: "dead", failed: true, error: expect.stringMatching(/stack limit of 4096 bytes/) });
    await rt.run();
    expect(output).toEqual(["diver stopped", "shallow steps 20, failures 0"]);
    expect(call(rt, "getFailures")).toBe(0);
  });

  it("rejects_recursion_past_the_shadow_stack with a clear error, not a bare trap", async () => {
    const { rt } = await start("deep.ts", "release", { stackLimit: 1 << 22 });
    call(rt, "setDepth", 5000);
    await expect(rt.run()).rejects.toMatchObject({ code: "ABORT", message: expect.stringMatching(/shadow stack is full/) });
    await expect(rt.run()).rejects.toMatchObject({ code: "POISONED" });
  });
});

describe("garbage collection with many suspended tasklets", () => {
  for (const mode of ["release", "debug"] as const) {
    it(`keeps 1000 tasklets' linked structures intact across 100 switches each (${mode})`, async () => {
      const { rt, output } = await start("gc-stress.ts", mode);
      await rt.run();
      expect(output).toEqual(["checks 100000 failures 0"]);
    });
  }
});

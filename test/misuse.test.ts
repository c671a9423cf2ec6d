import { describe, expect, it } from "vitest";
import type { Runtime } from "../host/index.ts";
import { call, start } from "./helpers.ts";

async function runScenario(n: number) {
  const { rt, output } = await start("misuse.ts");
  call(rt, "setScenario", n);
  const error = await rt.run().then(() => null, (e: unknown) => e);
  return { rt, output, error };
}

describe("misuse and failures give typed errors, never a hang", () => {
  const cases: [string, number, string, RegExp][] = [
    ["rejects_join_on_itself", 1, "MISUSE", /tasklet 1 aborted: join: tasklet 1 cannot join itself/],
    ["rejects_switch_to_dead_tasklet", 2, "MISUSE", /switchTo: tasklet 2 is dead/],
    ["rejects_send_on_closed_channel", 3, "MISUSE", /Channel.send: the channel is closed/],
    ["rejects_double_close", 4, "MISUSE", /already closed/],
    ["rejects_deadlock_on_receive", 5, "DEADLOCK", /every live tasklet is blocked: tasklet 1 \(receive\)/],
    ["rejects_join_cycle", 6, "DEADLOCK", /tasklet 3 \(join\), tasklet 2 \(join\), tasklet 1 \(join\)/],
    ["rejects_switch_to_blocked_tasklet", 7, "MISUSE", /tasklet 2 is blocked \(channel receive\)/],
    ["reports_trap_in_main", 10, "TRAP", /tasklet 1 trapped: memory access out of bounds/],
  ];
  for (const [name, scenario, code, message] of cases) {
    it(name, async () => {
      const { error } = await runScenario(scenario);
      expect(error).toMatchObject({ name: "StasisError", code, message: expect.stringMatching(message) });
    });
  }

  // Outside main, a throw or trap in program code stops that tasklet alone (host/isolate.ts).
  for (const [scenario, error] of [[8, /^boom from a tasklet \(misuse.ts:\d+:\d+\)$/], [9, /^trapped: memory access out of bounds$/]] as const) {
    it(`stops only the tasklet that ${scenario === 8 ? "aborted" : "trapped"}; main finishes`, async () => {
      const { rt, output, error: thrown } = await runScenario(scenario);
      expect(thrown).toBeNull();
      expect(output).toEqual([`scenario ${scenario} finished`]);
      expect(rt.tasklets()).toMatchObject([{ id: 2, status: "dead", failed: true, error: expect.stringMatching(error) }]);
    });
  }

  it("poisons the runtime after a trap in main, saying so", async () => {
    const { rt, error } = await runScenario(10);
    expect((error as Error).message).toMatch(/can no longer be used/);
    expect(() => rt.step()).toThrow(expect.objectContaining({ code: "POISONED" }));
  });

  it("rejects_reentrant_step from a print callback", async () => {
    const holder: { rt?: Runtime } = {};
    let inner: unknown;
    const { rt } = await start("primitives.ts", "release", {
      print: () => {
        try {
          holder.rt!.step();
        } catch (e) {
          inner ??= e;
        }
      },
    });
    holder.rt = rt;
    await rt.run();
    expect(inner).toMatchObject({ code: "BUSY" });
  });

  it("rejects_bad_options", async () => {
    const { rt } = await start("primitives.ts");
    expect(() => rt.step({ budget: 0 })).toThrow(expect.objectContaining({ code: "BAD_OPTION" }));
    await expect(start("primitives.ts", "release", { stackLimit: 10 })).rejects.toMatchObject({ code: "BAD_OPTION" });
  });
});

import { describe, expect, it } from "vitest";
import { call, runToEnd, start } from "./helpers.ts";

describe("tasklets", () => {
  it("runs every primitive with the documented status transitions", async () => {
    expect(await runToEnd("primitives.ts")).toEqual([
      "main id 1 running",
      "a spawned suspended id 2",
      "a starts as running id 2",
      "b starts as running id 3",
      "main back; a suspended, b suspended",
      "a round 0",
      "b round 0",
      "joiner waiting: normal",
      "a round 1",
      "joiner saw target dead",
      "a joined: dead",
      "join on a dead tasklet returns at once",
      "ping 0 (pong is suspended)",
      "pong 0 (ping is normal)",
      "ping 1 (pong is normal)",
      "pong 1 (ping is normal)",
      "ping 2 (pong is normal)",
      "pong 2 (ping is normal)",
      "ping done",
      "pong done",
      "switchTo self is a no-op",
      "end",
    ]);
  });

  it("gives the same output in a debug build", async () => {
    expect(await runToEnd("primitives.ts", "debug")).toEqual(await runToEnd("primitives.ts", "release"));
  });

  it("steps within a budget and lists the live tasklets", async () => {
    const { rt, output } = await start("primitives.ts");
    expect(rt.step({ budget: 1 })).toBe("yielded");
    expect(output).toEqual(["main id 1 running", "a spawned suspended id 2"]);
    const listed = rt.tasklets();
    expect(listed.map((t) => t.id).sort()).toEqual([1, 2, 3]);
    const main = listed.find((t) => t.id === 1)!;
    expect(main.status).toBe("suspended");
    expect(main.stackBytes).toBeGreaterThan(0);
    expect(listed.find((t) => t.id === 2)!.stackBytes).toBe(0); // not started yet
    await rt.run();
    expect(rt.done).toBe(true);
    expect(rt.step()).toBe("done");
  });

  it("keeps a suspended tasklet's stack the same size from switch to switch", async () => {
    const { rt } = await start("deep.ts");
    call(rt, "setDepth", 10);
    const sizes = new Map<number, Set<number>>();
    while (rt.step({ budget: 1 }) !== "done") {
      for (const t of rt.tasklets()) if (t.id === 3 && t.stackBytes > 0) (sizes.get(t.id) ?? sizes.set(t.id, new Set()).get(t.id)!).add(t.stackBytes);
    }
    expect([...sizes.get(3)!]).toHaveLength(1);
  });

  it("fits a million shallow suspended tasklets in memory", async () => {
    const output = await runToEnd("million.ts");
    expect(output).toHaveLength(2);
    const mib = Number(/^parked 1000000 in (\d+) MiB of memory$/.exec(output[0])?.[1]);
    expect(mib).toBeLessThanOrEqual(512);
    expect(output[1]).toBe("finished 1000000");
  });

  it("spawns, switches and finishes 100,000 tasklets", async () => {
    expect(await runToEnd("many.ts")).toEqual(["finished 100000 sum 4999950000"]);
  });
});

describe("channels", () => {
  it("follow Go semantics: rendezvous, buffering, close, every value type, a pipeline", async () => {
    const expected = [
      "u sends 0", "main receives 0", "u sent 0", "u sends 1", "u sent 1", "u closed", "main receives 1",
      "after close: 0 ok=false",
      "b sends 0", "b sent 0", "b sends 1", "b sent 1", "b sends 2", "buffered length 2",
      "got 0", "got 1", "got 2", "b sent 2", "b closed", "drained, ok=false",
      "f64 -0.5 1e+300", "i64 -9007199254740993", "point 2.25 p", "null point yes", "bool true",
      "blocked receiver woke: ok=false value=null",
      "primes 2 3 5 7 11 13 17 19 23 29 31 37 41 43 47",
      "main is tasklet 1",
    ];
    expect(await runToEnd("channels.ts")).toEqual(expected);
    expect(await runToEnd("channels.ts", "debug")).toEqual(expected);
  });
});

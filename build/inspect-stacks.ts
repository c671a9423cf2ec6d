// `stasis inspect`: the tasklets' call chains, decoded from the image alone
// (host/stacks.ts; no module code runs), and how they are printed; and how `stasis run`
// and `resume` report a tasklet that failed alone (host/isolate.ts).
import { framesFromBytes } from "../host/frames.ts";
import { imageTasklets, type TaskletStack } from "../host/stacks.ts";
import type { ImageContents, Program, TaskletFailure } from "../host/index.ts";

/** `stasis run`/`resume`: a tasklet that threw or trapped and was stopped alone, on stderr. */
export function onTaskletFailure(failure: TaskletFailure): void {
  process.stderr.write(`stasis: tasklet ${failure.taskletId} failed (${failure.code}): ${failure.message}; the other tasklets go on\n`);
}

/** Each live tasklet's stack by id, or null when neither the program nor the image carries frame tables. */
export function imageStacks(contents: ImageContents, program: Program | null): Map<number, TaskletStack> | null {
  const table = program?.frames ?? (contents.module ? framesFromBytes(contents.module) : null);
  if (!table) return null;
  return new Map(imageTasklets(table, contents).map((t) => [t.id, t.stack]));
}

/**
 * Lines like
 *   tasklet 4: failed: order 3 declined (program.ts:19:5)
 *   tasklet 3: hostCall("approval", "order-17")
 *     OrderWorkflow#run        (workflow/program.ts)
 *     ~lib: hostCall<String>
 * innermost last; a run of library frames is folded into one line.
 */
export function formatStacks(tasklets: readonly { id: number; failed?: boolean; error?: string; stack?: TaskletStack | null }[]): string[] {
  const lines: string[] = [];
  for (const t of tasklets) {
    if (t.failed) {
      lines.push(`  tasklet ${t.id}: failed: ${t.error ?? "(no message)"}`);
      continue;
    }
    if (!t.stack) continue;
    const { frames, waitsOn, complete, note } = t.stack;
    lines.push(`  tasklet ${t.id}: ${waitsOn}${complete ? "" : ` (stack incomplete${note ? `: ${note}` : ""})`}`);
    for (let i = 0; i < frames.length; ) {
      if (!frames[i].library) {
        const f = frames[i++];
        lines.push(`    ${f.function.padEnd(28)}${f.file ? ` (${f.file})` : ""}`);
        continue;
      }
      const run: string[] = [];
      while (i < frames.length && frames[i].library) run.push(frames[i++].function);
      lines.push(`    ~lib: ${run.join(" › ")}`);
    }
  }
  return lines;
}

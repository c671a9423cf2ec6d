// `stasis inspect`: the tasklets' call chains, decoded from the image alone
// (host/stacks.ts; no module code runs), and how they are printed; and how `stasis run`
// and `resume` report a tasklet that failed alone (host/isolate.ts).
import { framesFromBytes } from "../host/frames.ts";
import { imageTasklets, type DecodedTasklet, type TaskletStack } from "../host/stacks.ts";
import type { ImageContents, TaskletFailure } from "../host/index.ts";
import { chooseProgram } from "./trust.ts";

/** `stasis run`/`resume`: a tasklet that threw or trapped and was stopped alone, on stderr. */
export function onTaskletFailure(failure: TaskletFailure): void {
  process.stderr.write(`stasis: tasklet ${failure.taskletId} failed (${failure.code}): ${failure.message}; the other tasklets go on\n`);
}

/**
 * Every tasklet's stack, decoded from the image bytes alone, or null when no frame table
 * is at hand. The table comes from --program, the embedded module (only its custom section
 * is read: nothing is compiled or run) or the program the image records.
 */
export async function stacksFromImage(contents: ImageContents, explicit: string | undefined, imagePath: string): Promise<DecodedTasklet[] | null> {
  let table = contents.module && explicit === undefined ? framesFromBytes(contents.module) : null;
  if (!table) {
    const program = await chooseProgram(contents, { explicit, imagePath, trustEmbedded: true }).catch(() => null);
    table = program?.frames ?? null;
  }
  return table ? imageTasklets(table, contents) : null;
}

/**
 * Lines like
 *   tasklet 4: failed: order 3 declined (program.ts:19:5)
 *   tasklet 3: hostCall("approval", "order-17")
 *     OrderWorkflow#run        (workflow/program.ts)
 *     ~lib: hostCall<String>
 * innermost last; a run of library frames is folded into one line.
 */
export function formatStacks(tasklets: readonly { id: number; failed?: boolean; error?: string | null; stack?: TaskletStack | null }[]): string[] {
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

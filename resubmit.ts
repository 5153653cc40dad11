/**
 * Resubmission: a script that runs exactly the tasks of a job that are not done, grouped into
 * chunks listed in a chunk map (line k holds the task spec of array task k), so that every
 * scheduler can run any set of tasks (Grid Engine's `-t` takes only one range).
 *
 * @example Chunks of failed tasks
 * ```ts
 * import { chunkSpecs } from "./resubmit.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(chunkSpecs([2, 3, 4, 9, 12], 2, 1001), ["2:4", "4:5,9:10", "12:13"]);
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import { type ClusterScriptOptions, wholeNumber } from "./script_options.ts";
import { TaskSet } from "./task_set.ts";
import { readManifest } from "./manifest.ts";
import { writeClusterScript } from "./job_dir.ts";
import { statusOf } from "./status.ts";

/** Options of {@linkcode writeResubmitScript}. */
export interface ResubmitOptions {
  /**
   * Which tasks to run again: those that `failed`, those that never finished (`missing`), or
   * both (`all-not-done`).
   * @default {"all-not-done"}
   */
  which?: "failed" | "missing" | "all-not-done";
  /**
   * Options that change for the resubmission, such as more `time` or `memory`; `step` is the
   * number of tasks per array task. The command and the task list stay the job's own.
   */
  overrides?: Partial<Omit<ClusterScriptOptions, "numTasks" | "command" | "chunks">>;
  /**
   * Tasks to leave out although they are not done: those running or queued now (live_status.ts
   * asks the scheduler), or those of another script of a split job.
   */
  exclude?: Iterable<number> | TaskSet;
}

/** What {@linkcode writeResubmitScript} wrote. */
export interface Resubmission {
  /** The written script, or `undefined` when no task needed to run again. */
  readonly path?: string;
  /** The tasks it runs. */
  readonly indices: TaskSet;
  /** The number of array tasks. */
  readonly numArrayTasks: number;
  /** Tasks per array task: the step asked for, or raised to fit the array-size limit. */
  readonly step?: number;
}

/**
 * Groups tasks into chunks of `step`, each a task spec; the step is raised when the chunks would
 * exceed `limit` array tasks.
 *
 * @param indices The tasks, ascending.
 * @param step Tasks per chunk.
 * @param limit The most chunks allowed.
 * @returns One task spec per chunk.
 *
 * @example
 * ```ts
 * import { chunkSpecs } from "./resubmit.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(chunkSpecs([1, 2, 3, 7], 1, 2), ["1:3", "3:4,7:8"]);
 * ```
 */
export function chunkSpecs(indices: readonly number[], step: number, limit: number): string[] {
  return chunkTasks(TaskSet.of(indices), step, limit).chunks;
}

// A chunk as the chunk map holds it: START:STOP ranges only, which a command runs one at a time.
function rangesSpec(parts: readonly [number, number][]): string {
  return new TaskSet(parts).ranges.map(([a, b]) => `${a}:${b}`).join(",");
}

// Chunks of `step` tasks, walking the ranges: memory grows with the chunks and ranges, not with
// the tasks (a resubmission of 10^9 tasks is at most the array-size limit of chunks).
function chunkTasks(
  tasks: TaskSet,
  step: number,
  limit: number,
): { chunks: string[]; step: number } {
  if (Math.ceil(tasks.length / step) > limit) step = Math.ceil(tasks.length / limit);
  const chunks: string[] = [];
  let parts: [number, number][] = [];
  let filled = 0;
  for (const [a, b] of tasks.ranges) {
    let from = a;
    while (from < b) {
      const take = Math.min(b - from, step - filled);
      parts.push([from, from + take]);
      from += take;
      filled += take;
      if (filled === step) {
        chunks.push(rangesSpec(parts));
        parts = [];
        filled = 0;
      }
    }
  }
  if (parts.length > 0) chunks.push(rangesSpec(parts));
  return { chunks, step };
}

/**
 * Writes a script that runs exactly the tasks that are not done (or only the failed, or only
 * the missing ones) of a job, with changed resources if asked. The tasks are grouped into
 * chunks of `step` and listed in a chunk map file whose line k holds the `--tasks` spec for
 * array task k, which every scheduler can run (Grid Engine's `-t` takes only one range). The
 * resubmitted run writes its records beside the first run's, so {@linkcode jobStatus} shows the
 * union.
 *
 * @param outputDir The job's output directory.
 * @param options Which tasks, and what changes.
 * @returns The script's path (`resubmit-1.sh`, `resubmit-2.sh`, …) and what it runs.
 * @throws {ArrayJobError} When the directory has no manifest or an override is invalid.
 *
 * @example
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { writeResubmitScript } from "./resubmit.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir, time: 60 });
 * await Deno.writeTextFile(`${dir}/records/9.1`, "start\t0:2\t1\ntask\t0\t0\t3\ntask\t1\t1\t3\nend\t1\t1\n");
 * const again = await writeResubmitScript(dir, { overrides: { time: 600 } });
 * assert.equal(String(again.indices), "1:4");
 * assert.equal(await Deno.readTextFile(`${dir}/resubmit-1.chunks`), "1:2\n2:3\n3:4\n");
 * assert.match(await Deno.readTextFile(again.path!), /h_rt=0:10:00/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeResubmitScript(
  outputDir: string,
  options: ResubmitOptions = {},
): Promise<Resubmission> {
  const which = options.which ?? "all-not-done";
  if (!["failed", "missing", "all-not-done"].includes(which)) {
    throw new ArrayJobError(
      `is ${JSON.stringify(which)}: expected failed, missing or all-not-done`,
      "which",
    );
  }
  // Resolved once, here: the job's work directory must never make it mean another place.
  outputDir = path.resolve(outputDir);
  const manifest = await readManifest(outputDir);
  const status = await statusOf(outputDir, manifest);
  if (status.untracked.length > 0) {
    throw new ArrayJobError(
      `cannot resubmit ${outputDir}: its template keeps no records (no {{#record_dir}} block), ` +
        `so which tasks did not succeed is unknown; render it with a template that has one`,
    );
  }
  let indices = which === "failed"
    ? status.failed
    : which === "missing"
    ? status.neverFinished
    : new TaskSet([...status.failed.ranges, ...status.neverFinished.ranges]);
  const { exclude } = options;
  if (exclude !== undefined) {
    indices = indices.without(exclude instanceof TaskSet ? exclude : TaskSet.of(exclude));
  }
  if (indices.length === 0) return { indices, numArrayTasks: 0 };

  const original = manifest.options;
  const merged = { ...original, ...options.overrides };
  const limit = wholeNumber(
    "maxArraySize",
    merged.maxArraySize ?? dialectOf(merged.scheduler ?? DEFAULT_SCHEDULER).maxArraySize,
    1,
  );
  const asked = wholeNumber("step", merged.step ?? 1, 1);
  const { chunks, step } = chunkTasks(indices, asked, limit);
  const notices = step === asked ? [] : [
    `step raised from ${asked} to ${step}: ${Math.ceil(indices.length / asked)} array tasks ` +
    `exceed the array-size limit of ${limit} (maxArraySize)`,
  ];
  let n = 1;
  while (await Deno.stat(`${outputDir}/resubmit-${n}.sh`).then(() => true, () => false)) n++;
  const written = await writeClusterScript({
    ...merged,
    step,
    notices,
    numTasks: status.numTasks,
    command: original.command,
    outputDir,
    chunks,
    out: `${outputDir}/resubmit-${n}.sh`,
  });
  return { path: written, indices, numArrayTasks: chunks.length, step };
}

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
 * assert.deepEqual(chunkSpecs([2, 3, 4, 9, 12], 2, 1001), ["2:4", "4,9", "12"]);
 * ```
 *
 * @module
 */

import { ArrayJobError, formatIndices } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import { type ClusterScriptOptions, wholeNumber } from "./script.ts";
import { readManifest, statusOf, writeClusterScript } from "./job_dir.ts";

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
   * Tasks to leave out although they are not done: those running or queued now (lifecycle.ts
   * asks the scheduler), or those of another script of a split job.
   */
  exclude?: Iterable<number>;
}

/** What {@linkcode writeResubmitScript} wrote. */
export interface Resubmission {
  /** The written script, or `undefined` when no task needed to run again. */
  readonly path?: string;
  /** The tasks it runs, ascending. */
  readonly indices: readonly number[];
  /** The number of array tasks. */
  readonly numArrayTasks: number;
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
 * assert.deepEqual(chunkSpecs([1, 2, 3, 7], 1, 2), ["1:3", "3,7"]);
 * ```
 */
export function chunkSpecs(indices: readonly number[], step: number, limit: number): string[] {
  if (Math.ceil(indices.length / step) > limit) step = Math.ceil(indices.length / limit);
  const chunks: string[] = [];
  for (let i = 0; i < indices.length; i += step) {
    chunks.push(formatIndices(indices.slice(i, i + step)));
  }
  return chunks;
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
 * assert.deepEqual(again.indices, [1, 2, 3]);
 * assert.equal(await Deno.readTextFile(`${dir}/resubmit-1.chunks`), "1\n2\n3\n");
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
  const manifest = await readManifest(outputDir);
  const status = await statusOf(outputDir, manifest);
  let indices = which === "failed"
    ? [...status.failed]
    : which === "missing"
    ? [...status.neverFinished]
    : [...status.failed, ...status.neverFinished].sort((a, b) => a - b);
  if (options.exclude !== undefined) {
    const excluded = new Set(options.exclude);
    indices = indices.filter((index) => !excluded.has(index));
  }
  if (indices.length === 0) return { indices, numArrayTasks: 0 };

  const original = manifest.options;
  const merged = { ...original, ...options.overrides };
  const limit = merged.maxArraySize ??
    dialectOf(merged.scheduler ?? DEFAULT_SCHEDULER).maxArraySize;
  const chunks = chunkSpecs(indices, wholeNumber("step", merged.step ?? 1, 1), limit);
  let n = 1;
  while (await Deno.stat(`${outputDir}/resubmit-${n}.sh`).then(() => true, () => false)) n++;
  const path = await writeClusterScript({
    ...merged,
    step: undefined,
    numTasks: status.numTasks,
    command: original.command,
    outputDir,
    chunks,
    out: `${outputDir}/resubmit-${n}.sh`,
  });
  return { path, indices, numArrayTasks: chunks.length };
}

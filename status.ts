/**
 * Every task's status from the records a job's array tasks leave: done, failed, never finished
 * (jobStatus, statusOf). records.ts reads and folds the records; one pure verdict
 * (recordsVerdict) tells each task's outcome from them; the live status (live_status.ts) merges
 * the same records with the scheduler's answer. Also which tasks each array task of a script runs
 * (scriptChunks).
 *
 * @example Write a job, read its status
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { jobStatus } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 3, command: ["./fit"], outputDir: dir });
 * assert.equal(String((await jobStatus(dir)).neverFinished), "0:3");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import type { WriteClusterScriptsOptions } from "./script_options.ts";
import { renderJob } from "./script.ts";
import { keepsRecords } from "./template.ts";
import { TaskSet } from "./task_set.ts";
import { type JobManifest, readManifest } from "./manifest.ts";
import { type FailedOutcome, readRecords, type RecordsSummary, selectTaskSet } from "./records.ts";

/** Failed tasks, as {@linkcode jobStatus} reports them: consecutive ones of one record together. */
export interface TaskFailure {
  /** The first task's index in the full list. */
  readonly index: number;
  /** How many consecutive tasks, from {@linkcode index}, failed alike. */
  readonly count: number;
  /** The exit status of their last failed run. */
  readonly exitCode: number;
  /** The record of the array task whose run failed last: `<job id>.<array task id>`. */
  readonly record: string;
  /** The log of the array task that ran it, when it exists. */
  readonly log?: string;
}

/** What the records say about every task: each is in exactly one of the three sets. */
export interface RecordsVerdict {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** Tasks that succeeded in at least one run. */
  readonly done: TaskSet;
  /** Tasks that never succeeded and failed at least once. */
  readonly failed: TaskSet;
  /**
   * Tasks with no outcome: never started, or started by an array task that did not finish
   * (killed for its runtime or memory, or its node died).
   */
  readonly neverFinished: TaskSet;
  /** The failed tasks with their exit status (and, from {@linkcode statusOf}, their log). */
  readonly failures: readonly TaskFailure[];
}

/**
 * What {@linkcode jobStatus} found: every task is in exactly one of the three sets, or, for a
 * job whose template keeps no records, in `untracked` alone.
 */
export interface JobStatus extends RecordsVerdict {
  /** How many record files were read: one per array task that started. */
  readonly records: number;
  /**
   * Every task when the job keeps no records (its template has no `{{#record_dir}}` block):
   * whether they succeeded is unknown, so none is done, failed or never finished.
   */
  readonly untracked: TaskSet;
}

/**
 * Reads every record in `<outputDir>/records/` and tells which tasks are done, failed, or never
 * finished, over all runs of the job (the first submission and every resubmission). A task is
 * done once any run succeeded; an array task that was killed before it wrote its end leaves its
 * unfinished tasks as never finished, never as done. records.ts `parseRecord` says what one
 * record means.
 *
 * @param outputDir The job's output directory.
 * @returns The status of every task.
 * @throws {ArrayJobError} When the directory has no manifest.
 *
 * @example
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { jobStatus } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 6, step: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.1`, "start\t0:2\t1\nend\t0\t2\n");
 * await Deno.writeTextFile(`${dir}/records/7.2`, "start\t2:4\t1\ntask\t2\t0\t5\ntask\t3\t1\t5\nend\t1\t2\n");
 * await Deno.writeTextFile(`${dir}/records/7.3`, "start\t4:6\t1\n");
 * const status = await jobStatus(dir);
 * assert.equal(String(status.done), "0:3");
 * assert.equal(String(status.failed), "3");
 * assert.equal(String(status.neverFinished), "4:6");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function jobStatus(outputDir: string): Promise<JobStatus> {
  return await statusOf(outputDir, await readManifest(outputDir));
}

/**
 * {@linkcode jobStatus} for a manifest already read.
 *
 * @param outputDir The job's output directory.
 * @param manifest Its manifest.
 * @returns The status of every task.
 *
 * @example
 * ```ts
 * import { readManifest } from "./manifest.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import { statusOf } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, command: ["./fit"], outputDir: dir });
 * assert.equal((await statusOf(dir, await readManifest(dir))).records, 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function statusOf(outputDir: string, manifest: JobManifest): Promise<JobStatus> {
  if (!keepsRecords(manifest.options)) {
    const none = new TaskSet([]);
    return {
      numTasks: manifest.numTasks,
      done: none,
      failed: none,
      neverFinished: none,
      failures: [],
      records: 0,
      untracked: new TaskSet([[0, manifest.numTasks]]),
    };
  }
  const records = await readRecords(outputDir, manifest.numTasks);
  const verdict = recordsVerdict(manifest.numTasks, records);
  const failures = await failureLogs(outputDir, manifest, verdict.failures);
  return { ...verdict, failures, records: records.count, untracked: new TaskSet([]) };
}

/**
 * Gives failures the log of the array task that failed, where that log exists.
 *
 * @param outputDir The job's output directory.
 * @param manifest Its manifest (for the job name the logs are named after).
 * @param failures Failures as {@linkcode recordsVerdict} gives them.
 * @returns The same failures, each with its `log` when the file is there.
 *
 * @example
 * ```ts
 * import { readManifest } from "./manifest.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import { failureLogs } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, jobName: "fit", command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/fit.o7.1`, "oops\n");
 * const failure = { index: 0, count: 1, exitCode: 1, record: "7.1" };
 * const [withLog] = await failureLogs(dir, await readManifest(dir), [failure]);
 * assert.equal(withLog!.log, `${dir}/fit.o7.1`);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function failureLogs(
  outputDir: string,
  manifest: JobManifest,
  failures: readonly TaskFailure[],
): Promise<TaskFailure[]> {
  const jobName = manifest.options.jobName;
  const found = new Map<string, boolean>(); // one stat per record, not per failure
  return Promise.resolve(failures.map((failure) => {
    // Both dialects name logs <job name>.o<job id>.<array task id>, as the record is named.
    const log = `${outputDir}/${jobName}.o${failure.record}`;
    let exists = found.get(log);
    if (exists === undefined) {
      try {
        exists = Deno.statSync(log).isFile;
      } catch {
        exists = false;
      }
      found.set(log, exists);
    }
    const { log: _, ...plain } = failure;
    return exists ? { ...plain, log } : plain;
  }));
}

/**
 * What the records say about every task, over all runs: done once any run succeeded; failed when
 * none succeeded and one failed (each failure keeps its latest run, in the order of the records);
 * never finished otherwise. Pure: the cost grows with the ranges and failures, never with the tasks.
 *
 * @param numTasks The number of tasks in the full list.
 * @param records The records' summary, as records.ts `readRecords` or `summarizeRecords`
 *   gives it.
 * @returns Each task in exactly one set, and the failures without logs.
 *
 * @example
 * ```ts
 * import { parseRecord, summarizeRecords } from "./records.ts";
 * import { recordsVerdict } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const verdict = recordsVerdict(1e9, summarizeRecords([
 *   { jobId: "7", arrayTaskId: 1, runs: parseRecord("start\t0:999999999\t1\nend\t0\t2\n", 1e9) },
 *   { jobId: "7", arrayTaskId: 2, runs: parseRecord("start\t-1\t1\nend\t9\t2\n", 1e9) },
 * ]));
 * assert.equal(verdict.done.length, 999_999_999);
 * assert.deepEqual(verdict.failures, [{ index: 999_999_999, count: 1, exitCode: 9, record: "7.2" }]);
 * ```
 */
export function recordsVerdict(numTasks: number, records: RecordsSummary): RecordsVerdict {
  const done = records.done;
  const failedSegments = combineOutcomes(done, records.failures);
  const failed = new TaskSet(failedSegments.map(([a, b]) => [a, b] as const));
  const neverFinished = new TaskSet([[0, numTasks]]).without(
    new TaskSet([...done.ranges, ...failed.ranges]),
  );
  const failures = failedSegments.map(([index, stop, exitCode, record]) => ({
    index,
    count: stop - index,
    exitCode,
    record,
  }));
  return { numTasks, done, failed, neverFinished, failures };
}

/**
 * Which tasks each array task of one of the job's scripts runs: `run.sh`, a split's `run-K.sh`
 * (re-planned from the manifest, as they were written), or a resubmission's `resubmit-N.sh`
 * (from its chunk map).
 *
 * @param outputDir The job's output directory.
 * @param manifest Its manifest.
 * @param script The script's path.
 * @returns Per array task index (the scheduler's), the tasks it runs.
 * @throws {ArrayJobError} When the script is none of the job's.
 *
 * @example
 * ```ts
 * import { readManifest } from "./manifest.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import { scriptChunks } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const run = await writeClusterScript({ numTasks: 5, step: 2, command: ["./fit"], outputDir: dir });
 * const chunks = await scriptChunks(dir, await readManifest(dir), run);
 * assert.deepEqual([...chunks].map(([k, tasks]) => [k, String(tasks)]), [[1, "0:2"], [2, "2:4"], [3, "4"]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function scriptChunks(
  outputDir: string,
  manifest: JobManifest,
  script: string,
): Promise<ReadonlyMap<number, TaskSet>> {
  const scheduler = manifest.options.scheduler ?? DEFAULT_SCHEDULER;
  const first = dialectOf(scheduler).firstArrayIndex;
  const chunks = new Map<number, TaskSet>();
  const absolute = path.resolve(script);
  const chunkMap = absolute.replace(/(\.sh)?$/, ".chunks");
  const mapText = await Deno.readTextFile(chunkMap).catch(() => undefined);
  if (mapText !== undefined) {
    mapText.split("\n").forEach((spec, k) => {
      if (spec !== "") {
        // A corrupt chunk map is an error, not a chunk of no tasks.
        chunks.set(first + k, selectTaskSet(spec, manifest.numTasks));
      }
    });
    return chunks;
  }
  const plan = await renderJob({
    ...manifest.options,
    numTasks: manifest.numTasks,
    onNotice: () => {},
  } as WriteClusterScriptsOptions);
  // Written with --out elsewhere, the script is known by its text (the manifest keeps no --out).
  const text = await Deno.readTextFile(absolute).catch(() => undefined);
  const rendered = plan.scripts.find((s) => s.path === absolute) ??
    plan.scripts.find((s) => s.text === text);
  if (rendered?.taskRange === undefined) {
    throw new ArrayJobError(
      `${script} is not one of the scripts of the job in ${outputDir} (run.sh, run-K.sh, ` +
        `resubmit-N.sh)`,
    );
  }
  const { offset, count, step } = rendered.taskRange;
  return new SteppedChunks(first, offset, count, step);
}

// The chunks of a script of equal steps, each made when asked for: a script of 10^5 array tasks
// is not 10^5 sets kept in a map.
class SteppedChunks implements ReadonlyMap<number, TaskSet> {
  readonly size: number;
  constructor(
    readonly first: number,
    readonly offset: number,
    readonly count: number,
    readonly step: number,
  ) {
    this.size = Math.ceil(count / step);
  }
  get [Symbol.toStringTag](): string {
    return "SteppedChunks";
  }
  has(arrayTaskId: number): boolean {
    const k = arrayTaskId - this.first;
    return Number.isInteger(k) && k >= 0 && k < this.size;
  }
  get(arrayTaskId: number): TaskSet | undefined {
    if (!this.has(arrayTaskId)) return undefined;
    const from = this.offset + (arrayTaskId - this.first) * this.step;
    return new TaskSet([[from, Math.min(from + this.step, this.offset + this.count)]]);
  }
  *keys(): MapIterator<number> {
    for (let k = 0; k < this.size; k++) yield this.first + k;
  }
  *values(): MapIterator<TaskSet> {
    for (const k of this.keys()) yield this.get(k)!;
  }
  *entries(): MapIterator<[number, TaskSet]> {
    for (const k of this.keys()) yield [k, this.get(k)!];
  }
  [Symbol.iterator](): MapIterator<[number, TaskSet]> {
    return this.entries();
  }
  forEach(fn: (tasks: TaskSet, arrayTaskId: number, map: ReadonlyMap<number, TaskSet>) => void) {
    for (const [k, tasks] of this.entries()) fn(tasks, k, this);
  }
}

// Failed: no run succeeded and one failed; each failed segment keeps its last failure (the
// latest in the order of the records). Cost: the number of outcomes, never of tasks.
function combineOutcomes(
  done: TaskSet,
  failures: readonly FailedOutcome[],
): [number, number, number, string][] {
  const cuts = [...new Set(failures.flatMap((f) => [f.start, f.stop]))].sort((x, y) => x - y);
  const position = new Map(cuts.map((cut, i) => [cut, i]));
  // latest[k]: the last failure covering the segment [cuts[k], cuts[k+1]); painted from the last
  // outcome back, each segment once (next[] skips painted segments).
  const latest = new Array<FailedOutcome | undefined>(Math.max(cuts.length - 1, 0));
  const next = Array.from({ length: cuts.length }, (_, i) => i);
  const find = (k: number): number => {
    while (next[k] !== k) {
      next[k] = next[next[k]!]!;
      k = next[k]!;
    }
    return k;
  };
  for (let i = failures.length - 1; i >= 0; i--) {
    const outcome = failures[i]!;
    const stop = position.get(outcome.stop)!;
    for (let k = find(position.get(outcome.start)!); k < stop; k = find(k)) {
      latest[k] = outcome;
      next[k] = k + 1;
    }
  }
  const segments: [number, number, number, string][] = [];
  const doneRanges = done.ranges;
  let d = 0;
  for (let k = 0; k < latest.length; k++) {
    const outcome = latest[k];
    if (outcome === undefined) continue;
    // The segment minus the done ranges.
    let from = cuts[k]!;
    const to = cuts[k + 1]!;
    while (d > 0 && doneRanges[d - 1]![1] > from) d--;
    while (d < doneRanges.length && doneRanges[d]![1] <= from) d++;
    for (let e = d; e < doneRanges.length && doneRanges[e]![0] < to && from < to; e++) {
      const [a, b] = doneRanges[e]!;
      if (a > from) pushFailed(segments, from, Math.min(a, to), outcome);
      from = Math.max(from, b);
    }
    if (from < to) pushFailed(segments, from, to, outcome);
  }
  return segments;
}

function pushFailed(
  segments: [number, number, number, string][],
  a: number,
  b: number,
  outcome: FailedOutcome,
): void {
  const last = segments.at(-1);
  if (
    last !== undefined && last[1] === a && last[2] === outcome.status && last[3] === outcome.record
  ) {
    last[1] = b;
  } else segments.push([a, b, outcome.status, outcome.record]);
}

/**
 * Reading the records a job's array tasks leave into every task's status: done, failed, never
 * finished (jobStatus, statusOf). One reader (readArrayTaskRecords, each record by parseRecord)
 * gives every record's runs as ranges, and one pure verdict (recordsVerdict) combines them; the
 * live status (live_status.ts) merges the same records with the scheduler's answer. Also which
 * tasks each array task of a script runs (scriptChunks).
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
import { ArrayJobError, parseRecordLine, parseSlice, selectIndices } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import { RECORDS_DIR, type WriteClusterScriptsOptions } from "./script_options.ts";
import { renderJob } from "./script.ts";
import { keepsRecords } from "./template.ts";
import { TaskSet } from "./task_set.ts";
import { type JobManifest, readManifest, RECORD_NAME } from "./manifest.ts";

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
 * unfinished tasks as never finished, never as done. {@linkcode parseRecord} says what one
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
  const records = await readArrayTaskRecords(outputDir, manifest.numTasks);
  const verdict = recordsVerdict(manifest.numTasks, records);
  const failures = await failureLogs(outputDir, manifest, verdict.failures);
  return { ...verdict, failures, records: records.length, untracked: new TaskSet([]) };
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

/** What one run of an array task did to consecutive tasks of its spec. */
export interface RunOutcome {
  /** The first task. */
  readonly start: number;
  /** After the last task. */
  readonly stop: number;
  /** Their exit status: 0 for success. */
  readonly status: number;
}

/** One run of an array task, as its record tells it, in ranges. */
export interface RecordRun {
  /** The tasks it was to run. */
  readonly tasks: TaskSet;
  /** What became of its tasks, ascending; a task of {@linkcode tasks} in none has no outcome. */
  readonly outcomes: readonly RunOutcome[];
  /** Whether it wrote its `end` line. */
  readonly ended: boolean;
  /** Seconds from its start to its end, when it ended and the node told its uptime. */
  readonly seconds?: number;
}

/** The record of one array task: every run it started (more than one when requeued). */
export interface ArrayTaskRecord {
  /** The job id it ran under. */
  readonly jobId: string;
  /** Its array task index. */
  readonly arrayTaskId: number;
  /** Its runs, in order. */
  readonly runs: readonly RecordRun[];
}

/**
 * What one array task's record says about its tasks: the one place that decides what a run
 * means for them. A record is one file per array task, `<job id>.<array task id>`, of
 * tab-separated lines (mod.ts `RECORD_FIELDS`): `start SPEC UPTIME` when a run of the command
 * starts, `reports BY` when the program declares it reports each task, `task INDEX STATUS
 * MILLISECONDS` for each task it finishes, and `end EXIT UPTIME` when the command exits (UPTIME
 * is the node's seconds since boot, so end minus start is the run's duration).
 * - With a `reports` or `task` line (runTasks, the Python helper, any program following the
 *   protocol), a task is done only with its own `task` line of status 0; an unreported task
 *   failed with the exit status when it was not 0, and has no outcome when it was 0 (the
 *   program ended before reporting it).
 * - Without (a program that reports nothing), the exit status counts for every task of the spec.
 * - A `start` without its `end` (killed) leaves its unreported tasks without an outcome.
 * - A line of no known kind (a torn write) is skipped; a spec for another list selects nothing.
 *
 * Memory grows with the ranges of outcomes, not with the tasks: a run of 10^9 tasks that
 * succeeded is one outcome.
 *
 * @param text The record's text.
 * @param numTasks The number of tasks in the full list.
 * @returns Its runs, in order.
 *
 * @example
 * ```ts
 * import { parseRecord } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const [run] = parseRecord("start\t0:4\t100\nreports\trunTasks\ntask\t0\t0\t5\ntask\t1\t0\t5\ntask\t2\t3\t5\nend\t0\t103.5\n", 10);
 * assert.equal(String(run!.tasks), "0:4");
 * assert.deepEqual(run!.outcomes, [{ start: 0, stop: 2, status: 0 }, { start: 2, stop: 3, status: 3 }]);
 * assert.equal(run!.seconds, 3.5); // task 3: no line, exit 0: no outcome
 * ```
 */
export function parseRecord(text: string, numTasks: number): RecordRun[] {
  const runs: RecordRun[] = [];
  let tasks: TaskSet | undefined;
  let started = NaN;
  let own = new Map<number, number>();
  let reports = false;
  const close = (exit?: number, uptime?: number): void => {
    if (tasks === undefined) return;
    // A task's own line decides it; the others of the run take the command's exit status,
    // except that a program that reports its tasks has the last word on each: one it did not
    // report did not succeed, even when it exited 0 (it ended the process early).
    const fill = exit === undefined || (reports && exit === 0) ? undefined : exit;
    const outcomes = runOutcomes(tasks, own, fill);
    const seconds = uptime === undefined || Number.isNaN(uptime) || Number.isNaN(started)
      ? undefined
      : Math.round((uptime - started) * 100) / 100;
    const run = { tasks, outcomes, ended: exit !== undefined };
    runs.push(seconds === undefined ? run : { ...run, seconds });
    tasks = undefined;
    own = new Map();
    reports = false;
  };
  for (const line of text.split("\n")) {
    const record = parseRecordLine(line);
    if (record === undefined) continue;
    const [a, b] = record.fields;
    if (record.kind === "start") {
      close(); // a start without an end: that run never finished
      tasks = specRanges(a ?? "", numTasks);
      started = Number(b ?? NaN);
    } else if (tasks === undefined) {
      continue; // lines outside a run belong to none
    } else if (record.kind === "reports") {
      reports = true;
    } else if (record.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
      reports = true;
      if (tasks.has(Number(a))) own.set(Number(a), Number(b));
    } else if (record.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
      close(Number(a), Number(b ?? NaN));
    }
  }
  close();
  return runs.slice();
}

// The outcomes of one run, ascending and merged: each task's own status, and `fill` (the exit
// status) for the others of the spec, or no outcome when `fill` is undefined.
function runOutcomes(
  tasks: TaskSet,
  own: ReadonlyMap<number, number>,
  fill: number | undefined,
): RunOutcome[] {
  const points = [...own].sort((x, y) => x[0] - y[0]);
  const outcomes: { start: number; stop: number; status: number }[] = [];
  const push = (start: number, stop: number, status: number): void => {
    const last = outcomes.at(-1);
    if (last !== undefined && last.stop === start && last.status === status) last.stop = stop;
    else outcomes.push({ start, stop, status });
  };
  if (fill === undefined) {
    for (const [index, status] of points) push(index, index + 1, status);
    return outcomes.slice(); // exact size: see TaskSet
  }
  let p = 0;
  for (const [a, b] of tasks.ranges) {
    let from = a;
    for (; p < points.length && points[p]![0] < b; p++) {
      const [index, status] = points[p]!;
      if (index > from) push(from, index, fill);
      push(index, index + 1, status);
      from = index + 1;
    }
    if (from < b) push(from, b, fill);
  }
  return outcomes.slice(); // exact size: see TaskSet
}

/**
 * Reads every array task's record (see {@linkcode parseRecord}), for callers that need more than
 * {@linkcode jobStatus}'s verdict: which array task ran which tasks, which of its runs have not
 * ended, and how long the ended ones took. The one reader of records: {@linkcode statusOf} and
 * the live status (live_status.ts) both use it.
 *
 * @param outputDir The job's output directory.
 * @param numTasks The number of tasks in the full list.
 * @param earlier Records read before: one whose last run had ended is kept, not read again (a
 *   record grows only while its array task runs; one requeued since shows as live in the
 *   scheduler's answer).
 * @returns The records, by job id and then array task index.
 *
 * @example
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { readArrayTaskRecords } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 4, step: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.1`, "start\t0:2\t100.5\nend\t0\t103.5\n");
 * await Deno.writeTextFile(`${dir}/records/7.2`, "start\t2:4\t101\ntask\t2\t1\t5\n");
 * const [first, second] = await readArrayTaskRecords(dir, 4);
 * assert.deepEqual(first!.runs[0]!.outcomes, [{ start: 0, stop: 2, status: 0 }]);
 * assert.equal(first!.runs[0]!.seconds, 3);
 * assert.deepEqual(second!.runs[0]!.outcomes, [{ start: 2, stop: 3, status: 1 }]);
 * assert.equal(second!.runs[0]!.ended, false);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readArrayTaskRecords(
  outputDir: string,
  numTasks: number,
  earlier?: readonly ArrayTaskRecord[],
): Promise<ArrayTaskRecord[]> {
  const names: string[] = [];
  try {
    // Synchronous: 10^5 entries listed in two thirds of the time of Deno.readDir's awaits.
    for (const entry of Deno.readDirSync(`${outputDir}/${RECORDS_DIR}`)) {
      if (entry.isFile && RECORD_NAME.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // By job id, then array task id (numbers, compared as such: localeCompare costs seconds), with
  // synchronous reads: the fake's summary runs this after every job, and status reads 10^5
  // records (reading into one shared buffer, or several files at once, gained nothing).
  const jobs = new Float64Array(names.length), arrayTasks = new Float64Array(names.length);
  names.forEach((name, i) => {
    const dot = name.indexOf(".");
    jobs[i] = Number(name.slice(0, dot));
    arrayTasks[i] = Number(name.slice(dot + 1));
  });
  const order = Array.from(names.keys()).sort((i, j) =>
    jobs[i]! - jobs[j]! || arrayTasks[i]! - arrayTasks[j]!
  );
  const ended = new Map<string, ArrayTaskRecord>();
  for (const record of earlier ?? []) {
    if (record.runs.at(-1)?.ended) ended.set(`${record.jobId}.${record.arrayTaskId}`, record);
  }
  return await Promise.resolve(order.map((i) => {
    const name = names[i]!;
    return ended.get(name) ?? {
      jobId: name.slice(0, name.indexOf(".")),
      arrayTaskId: Number(name.slice(name.indexOf(".") + 1)),
      runs: parseRecord(Deno.readTextFileSync(`${outputDir}/${RECORDS_DIR}/${name}`), numTasks),
    };
  }));
}

/**
 * What the records say about every task, over all runs: done once any run succeeded; failed when
 * none succeeded and one failed (each failure keeps its latest run, in the order of the records);
 * never finished otherwise. Pure: the cost grows with the outcomes, never with the tasks.
 *
 * @param numTasks The number of tasks in the full list.
 * @param records The records, as {@linkcode readArrayTaskRecords} gives them.
 * @returns Each task in exactly one set, and the failures without logs.
 *
 * @example
 * ```ts
 * import { parseRecord, recordsVerdict } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const verdict = recordsVerdict(1e9, [
 *   { jobId: "7", arrayTaskId: 1, runs: parseRecord("start\t0:999999999\t1\nend\t0\t2\n", 1e9) },
 *   { jobId: "7", arrayTaskId: 2, runs: parseRecord("start\t-1\t1\nend\t9\t2\n", 1e9) },
 * ]);
 * assert.equal(verdict.done.length, 999_999_999);
 * assert.deepEqual(verdict.failures, [{ index: 999_999_999, count: 1, exitCode: 9, record: "7.2" }]);
 * ```
 */
export function recordsVerdict(
  numTasks: number,
  records: readonly ArrayTaskRecord[],
): RecordsVerdict {
  const outcomes: Outcome[] = [];
  for (const record of records) {
    const name = `${record.jobId}.${record.arrayTaskId}`;
    for (const run of record.runs) {
      for (const o of run.outcomes) outcomes.push([o.start, o.stop, o.status, name]);
    }
  }
  const { done, failedSegments } = combineOutcomes(outcomes);
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
): Promise<Map<number, TaskSet>> {
  const scheduler = manifest.options.scheduler ?? DEFAULT_SCHEDULER;
  const first = dialectOf(scheduler).firstArrayIndex;
  const chunks = new Map<number, TaskSet>();
  const absolute = path.resolve(script);
  const chunkMap = absolute.replace(/(\.sh)?$/, ".chunks");
  const mapText = await Deno.readTextFile(chunkMap).catch(() => undefined);
  if (mapText !== undefined) {
    mapText.split("\n").forEach((spec, k) => {
      if (spec !== "") {
        parseSlice(spec); // a corrupt chunk map is an error, not a chunk of no tasks
        chunks.set(first + k, specRanges(spec, manifest.numTasks));
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
  for (let k = 0; k * step < count; k++) {
    const from = offset + k * step;
    chunks.set(first + k, new TaskSet([[from, Math.min(from + step, offset + count)]]));
  }
  return chunks;
}

// [start, stop, exit status, record name], in the order read: what one run said of its tasks.
type Outcome = [number, number, number, string];

// A record's task spec as ranges, without listing its tasks; a spec for another list is not
// this job's record, and selects nothing.
function specRanges(spec: string, numTasks: number): TaskSet {
  try {
    return selectTaskSet(spec, numTasks);
  } catch {
    return new TaskSet([]);
  }
}

/**
 * The tasks a `--tasks` spec selects, as ranges: {@linkcode selectIndices}'s selection (as a
 * set, without its order) at the cost of the spec's parts, never of the tasks, so `""` over
 * 10^9 tasks is one range. A slice with a step other than ±1 is listed (its tasks are its ranges).
 *
 * @param spec The spec, as given to `--tasks`.
 * @param numTasks The number of tasks in the full list.
 * @returns The selected tasks.
 * @throws {ArrayJobError} When the spec is malformed or an index is out of range.
 *
 * @example
 * ```ts
 * import { selectTaskSet } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(String(selectTaskSet("", 1e9)), "0:1000000000");
 * assert.equal(String(selectTaskSet("-1,2:5,::-1", 10)), "0:10");
 * assert.equal(String(selectTaskSet("7:2:-1", 10)), "3:8");
 * assert.throws(() => selectTaskSet("12", 10), /out of range/);
 * ```
 */
export function selectTaskSet(spec: string, numTasks: number): TaskSet {
  const parsed = parseSlice(spec);
  selectIndices({ text: spec, parts: [] }, numTasks); // validates the count
  const ranges: [number, number][] = [];
  for (const part of parsed.parts) {
    const step = part.kind === "slice" ? part.step ?? 1 : 0;
    if (part.kind === "slice" && (step === 1 || step === -1)) {
      // CPython's clamping (PySlice_AdjustIndices), as selectIndices applies it.
      const lower = step < 0 ? -1 : 0, upper = step < 0 ? numTasks - 1 : numTasks;
      const clamp = (v: number | undefined, d: number) =>
        v === undefined ? d : v < 0 ? Math.max(v + numTasks, lower) : Math.min(v, upper);
      const start = clamp(part.start, step < 0 ? upper : lower);
      const stop = clamp(part.stop, step < 0 ? lower : upper);
      if (step > 0 && stop > start) ranges.push([start, stop]);
      if (step < 0 && start > stop) ranges.push([stop + 1, start + 1]);
    } else {
      for (const i of selectIndices({ text: spec, parts: [part] }, numTasks)) {
        ranges.push([i, i + 1]);
      }
    }
  }
  return new TaskSet(ranges);
}

// Done: any run succeeded. Failed: no run succeeded and one failed; each failed segment keeps
// its last failure (the latest record read). Cost: the number of outcomes, never of tasks.
function combineOutcomes(outcomes: readonly Outcome[]): {
  done: TaskSet;
  failedSegments: [number, number, number, string][];
} {
  const done = new TaskSet(
    outcomes.filter((o) => o[2] === 0).map(([a, b]) => [a, b] as const),
  );
  const failures = outcomes.filter((o) => o[2] !== 0);
  const cuts = [...new Set(failures.flatMap(([a, b]) => [a, b]))].sort((x, y) => x - y);
  const position = new Map(cuts.map((cut, i) => [cut, i]));
  // latest[k]: the last failure covering the segment [cuts[k], cuts[k+1]); painted from the last
  // outcome back, each segment once (next[] skips painted segments).
  const latest = new Array<Outcome | undefined>(Math.max(cuts.length - 1, 0));
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
    const stop = position.get(outcome[1])!;
    for (let k = find(position.get(outcome[0])!); k < stop; k = find(k)) {
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
  return { done, failedSegments: segments };
}

function pushFailed(
  segments: [number, number, number, string][],
  a: number,
  b: number,
  outcome: Outcome,
): void {
  const last = segments.at(-1);
  if (last !== undefined && last[1] === a && last[2] === outcome[2] && last[3] === outcome[3]) {
    last[1] = b;
  } else segments.push([a, b, outcome[2], outcome[3]]);
}

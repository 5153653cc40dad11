/**
 * Reading the records a job's array tasks leave into every task's status: done, failed, never
 * finished (jobStatus, statusOf), the records one by one (readArrayTaskRecords), and which tasks
 * each array task of a script runs (scriptChunks).
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
import { RECORDS_DIR, renderJob, type WriteClusterScriptsOptions } from "./script.ts";
import { TaskSet } from "./task_set.ts";
import { type JobManifest, readManifest, RECORD_NAME } from "./job_dir.ts";

/** Failed tasks, as {@linkcode jobStatus} reports them: consecutive ones of one record together. */
export interface TaskFailure {
  /** The first task's index in the full list. */
  readonly index: number;
  /** How many consecutive tasks, from {@linkcode index}, failed alike. */
  readonly count: number;
  /** The exit status of their last failed run. */
  readonly exitCode: number;
  /** The log of the array task that ran it, when it exists. */
  readonly log?: string;
}

/** What {@linkcode jobStatus} found: every task is in exactly one of the three lists. */
export interface JobStatus {
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
  /** The failed tasks with their exit status and log. */
  readonly failures: readonly TaskFailure[];
  /** How many record files were read: one per array task that started. */
  readonly records: number;
}

/**
 * Reads every record in `<outputDir>/records/` and tells which tasks are done, failed, or never
 * finished, over all runs of the job (the first submission and every resubmission). A task is
 * done once any run succeeded; an array task that was killed before it wrote its end leaves its
 * unfinished tasks as never finished, never as done.
 *
 * A record is one file per array task, `<job id>.<array task id>`, of tab-separated lines
 * (mod.ts `RECORD_FIELDS`): `start SPEC UPTIME` when a run of the command starts,
 * `reports BY` when the program declares it reports each task, `task INDEX STATUS MILLISECONDS`
 * for each task it finishes, and `end EXIT UPTIME` when the command exits (UPTIME is the node's
 * seconds since boot, so end minus start is the run's duration). This is the one place that
 * decides what a run means for its tasks:
 * - with a `reports` or `task` line (runTasks, the Python helper, any program following the
 *   protocol), a task is done only with its own `task` line of status 0; an unreported task
 *   failed with the exit status when it was not 0, and never finished when it was 0 (the
 *   program ended before reporting it);
 * - without (a program that reports nothing), the exit status counts for every task of the spec;
 * - a `start` without its `end` (killed) leaves its unreported tasks never finished.
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
 * import { readManifest, writeClusterScript } from "./job_dir.ts";
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
  const { numTasks } = manifest;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS_DIR}`)) {
      if (entry.isFile && RECORD_NAME.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // By job id, then array task id, with synchronous reads: the fake's summary runs this after
  // every job (bench/RESULTS.md has what localeCompare and awaited reads cost).
  const keys = new Map(names.map((name) => {
    const dot = name.indexOf(".");
    return [name, [Number(name.slice(0, dot)), Number(name.slice(dot + 1))]];
  }));
  names.sort((a, b) => {
    const [ja, ta] = keys.get(a)!, [jb, tb] = keys.get(b)!;
    return ja! - jb! || ta! - tb!;
  });
  // Outcomes as ranges, never one entry per task: a job may have 10^9 tasks.
  const outcomes: Outcome[] = [];
  let seq = 0;
  for (const name of names) {
    const text = Deno.readTextFileSync(`${outputDir}/${RECORDS_DIR}/${name}`);
    let ranges: [number, number][] = [];
    let perTask = new Map<number, number>();
    let reportsTasks = false;
    const settle = (end: number | null): void => {
      // A task's own line decides it; the others of the run take the command's exit status,
      // except that a program that reports its tasks has the last word on each: one it did not
      // report did not succeed, even when it exited 0 (it ended the process early).
      const exitCode = reportsTasks && end === 0 ? null : end;
      const points = [...perTask.keys()].sort((a, b) => a - b);
      for (const [index, status] of perTask) {
        if (inRanges(ranges, index)) outcomes.push([index, index + 1, status, name, seq++]);
      }
      if (exitCode !== null) {
        for (const [a, b] of ranges) {
          let from = a;
          for (const point of points) {
            if (point < from || point >= b) continue;
            if (point > from) outcomes.push([from, point, exitCode, name, seq++]);
            from = point + 1;
          }
          if (from < b) outcomes.push([from, b, exitCode, name, seq++]);
        }
      }
      ranges = [];
      perTask = new Map();
      reportsTasks = false;
    };
    for (const line of text.split("\n")) {
      const record = parseRecordLine(line);
      const [a, b] = record?.fields ?? [];
      if (record?.kind === "start") {
        settle(null); // a start without an end: that run never finished
        ranges = specRanges(a ?? "", numTasks);
      } else if (record?.kind === "reports") {
        reportsTasks = true;
      } else if (record?.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
        reportsTasks = true;
        perTask.set(Number(a), Number(b));
      } else if (record?.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
        settle(Number(a));
      }
    }
    settle(null);
  }
  const records = names.length;
  const { done, failedSegments } = combineOutcomes(outcomes);
  const failed = new TaskSet(failedSegments.map(([a, b]) => [a, b] as const));
  const neverFinished = complement(numTasks, [...done.ranges, ...failed.ranges]);
  const jobName = manifest.options.jobName;
  const failures = await Promise.all(failedSegments.map(async ([index, stop, exitCode, record]) => {
    // Both dialects name logs <job name>.o<job id>.<array task id>, as the record is named.
    const log = `${outputDir}/${jobName}.o${record}`;
    const found = await Deno.stat(log).then(() => true, () => false);
    const failure = { index, count: stop - index, exitCode };
    return found ? { ...failure, log } : failure;
  }));
  return { numTasks, done, failed, neverFinished, failures, records };
}

/** One run of an array task, as its record tells it. */
export interface RecordRun {
  /** The tasks it was to run. */
  readonly tasks: readonly number[];
  /** The tasks that ended, with their exit status. */
  readonly outcomes: ReadonlyMap<number, number>;
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
 * Reads every array task's record one by one, for callers that need more than
 * {@linkcode jobStatus}'s totals: which array task ran which tasks, which of those have not
 * ended, and how long the ended runs took. Without `task` lines the command's exit status
 * counts for every task of its spec, as in {@linkcode jobStatus}.
 *
 * @param outputDir The job's output directory.
 * @param numTasks The number of tasks in the full list.
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
 * assert.deepEqual(first!.runs[0], { tasks: [0, 1], outcomes: new Map([[0, 0], [1, 0]]), seconds: 3 });
 * assert.deepEqual(second!.runs[0], { tasks: [2, 3], outcomes: new Map([[2, 1]]) });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readArrayTaskRecords(
  outputDir: string,
  numTasks: number,
): Promise<ArrayTaskRecord[]> {
  const records: ArrayTaskRecord[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS_DIR}`)) {
      const name = /^([0-9]+)\.([0-9]+)$/.exec(entry.name);
      if (!entry.isFile || name === null) continue;
      const text = await Deno.readTextFile(`${outputDir}/${RECORDS_DIR}/${entry.name}`);
      records.push({
        jobId: name[1]!,
        arrayTaskId: Number(name[2]),
        runs: recordRuns(text, numTasks),
      });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return records.sort((a, b) => Number(a.jobId) - Number(b.jobId) || a.arrayTaskId - b.arrayTaskId);
}

function recordRuns(text: string, numTasks: number): RecordRun[] {
  const runs: RecordRun[] = [];
  let run:
    | { tasks: number[]; outcomes: Map<number, number>; uptime: number; reports: boolean }
    | undefined;
  const close = (exit?: number, uptime?: number) => {
    if (run === undefined) return;
    const { tasks, outcomes } = run;
    // As in statusOf: a program that reports its tasks has the last word on each, so one it did
    // not report did not succeed, even when the program exited 0 (it ended the process early).
    if (exit !== undefined && !(run.reports && exit === 0)) {
      for (const task of tasks) if (!outcomes.has(task)) outcomes.set(task, exit);
    }
    const seconds = uptime === undefined || Number.isNaN(uptime) || Number.isNaN(run.uptime)
      ? undefined
      : Math.round((uptime - run.uptime) * 100) / 100;
    runs.push(seconds === undefined ? { tasks, outcomes } : { tasks, outcomes, seconds });
    run = undefined;
  };
  for (const line of text.split("\n")) {
    const record = parseRecordLine(line);
    const [a, b] = record?.fields ?? [];
    if (record?.kind === "start") {
      close();
      let tasks: number[];
      try {
        tasks = selectIndices(a ?? "", numTasks);
      } catch {
        continue; // a spec for another list: not this job's record
      }
      run = { tasks, outcomes: new Map(), uptime: Number(b ?? NaN), reports: false };
    } else if (record?.kind === "reports") {
      if (run) run.reports = true;
    } else if (record?.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
      if (run) run.reports = true;
      if (run?.tasks.includes(Number(a))) run.outcomes.set(Number(a), Number(b));
    } else if (record?.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
      close(Number(a), Number(b ?? NaN));
    }
  }
  close();
  return runs;
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
 * import { readManifest, writeClusterScript } from "./job_dir.ts";
 * import { scriptChunks } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const run = await writeClusterScript({ numTasks: 5, step: 2, command: ["./fit"], outputDir: dir });
 * const chunks = await scriptChunks(dir, await readManifest(dir), run);
 * assert.deepEqual([...chunks], [[1, [0, 1]], [2, [2, 3]], [3, [4]]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function scriptChunks(
  outputDir: string,
  manifest: JobManifest,
  script: string,
): Promise<Map<number, number[]>> {
  const scheduler = manifest.options.scheduler ?? DEFAULT_SCHEDULER;
  const first = dialectOf(scheduler).firstArrayIndex;
  const chunks = new Map<number, number[]>();
  const absolute = path.resolve(script);
  const chunkMap = absolute.replace(/(\.sh)?$/, ".chunks");
  const mapText = await Deno.readTextFile(chunkMap).catch(() => undefined);
  if (mapText !== undefined) {
    mapText.split("\n").forEach((spec, k) => {
      if (spec !== "") chunks.set(first + k, selectIndices(spec, manifest.numTasks));
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
    const tasks: number[] = [];
    for (let t = offset + k * step; t < Math.min(offset + (k + 1) * step, offset + count); t++) {
      tasks.push(t);
    }
    chunks.set(first + k, tasks);
  }
  return chunks;
}

// [start, stop, exit status, record name, order read]: what one run said about its tasks.
type Outcome = [number, number, number, string, number];

function inRanges(ranges: readonly (readonly [number, number])[], index: number): boolean {
  return ranges.some(([a, b]) => index >= a && index < b);
}

// A record's task spec as ranges, without listing its tasks; a spec for another list is not
// this job's record, and selects nothing.
function specRanges(spec: string, numTasks: number): [number, number][] {
  let parsed;
  try {
    parsed = parseSlice(spec);
  } catch {
    return [];
  }
  const ranges: [number, number][] = [];
  for (const part of parsed.parts) {
    if (part.kind === "slice" && (part.step ?? 1) === 1) {
      const clamp = (v: number | undefined, d: number) =>
        v === undefined ? d : v < 0 ? Math.max(v + numTasks, 0) : Math.min(v, numTasks);
      const a = clamp(part.start, 0), b = clamp(part.stop, numTasks);
      if (b > a) ranges.push([a, b]);
    } else {
      try {
        for (const i of selectIndices({ text: spec, parts: [part] }, numTasks)) {
          ranges.push([i, i + 1]);
        }
      } catch {
        return [];
      }
    }
  }
  return ranges;
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

function complement(numTasks: number, taken: readonly (readonly [number, number])[]): TaskSet {
  const covered = new TaskSet(taken).ranges;
  const gaps: [number, number][] = [];
  let from = 0;
  for (const [a, b] of covered) {
    if (a > from) gaps.push([from, a]);
    from = b;
  }
  if (from < numTasks) gaps.push([from, numTasks]);
  return new TaskSet(gaps);
}

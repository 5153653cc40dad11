/**
 * Every task's live state: the records the array tasks left (status.ts) merged with what the
 * scheduler says about the job's submissions (queries.ts). Every task is exactly one of done,
 * failed, running, pending, never finished (the scheduler no longer knows it and it left no end)
 * or unsubmitted; when the scheduler cannot be asked, a task that started and did not end is
 * "running or lost", never "never finished". Also whether a job has ended and how long it has left.
 *
 * @example A job never submitted through arrayjob: records only
 * ```ts
 * import { hasEnded, liveStatus } from "./live_status.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/5.1`, "start\t0\t1\nend\t0\t2\n");
 * const status = await liveStatus(dir);
 * assert.equal(String(status.done), "0");
 * assert.ok(hasEnded(status));
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import { keepsRecords } from "./template.ts";
import { type JobManifest, readManifest } from "./manifest.ts";
import { readSubmissions, type Submission } from "./submissions.ts";
import { readRecords, type RecordsSummary } from "./records.ts";
import { failureLogs, recordsVerdict, scriptChunks, type TaskFailure } from "./status.ts";
import { TaskSet } from "./task_set.ts";
import { type LocalRun, localRuns } from "./local_runs.ts";
import {
  type ArrayTaskState,
  askScheduler,
  type CommandOutput,
  type JobStates,
  QUERIES,
  type SchedulerAnswer,
  type SchedulerQueries,
} from "./queries.ts";

/** One submission as the merge needs it: its job id and the tasks of each array task. */
export interface SubmittedJob {
  /** The scheduler's job id. */
  readonly jobId: string;
  /** Per array task index, the tasks it runs. */
  readonly chunks: ReadonlyMap<number, TaskSet>;
}

/** What {@linkcode mergeStatus} merges. */
export interface StatusInput {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** The job's submissions; empty when it was submitted by hand. */
  readonly submissions: readonly SubmittedJob[];
  /** What the array tasks' records say (status.ts `readRecords`, `summarizeRecords`). */
  readonly records: RecordsSummary;
  /** What the scheduler said about the submissions; absent when it was not asked. */
  readonly answer?: SchedulerAnswer;
  /**
   * Whether the job's array tasks keep records (template.ts `keepsRecords`); without them, a task
   * that is not running or pending is untracked.
   * @default {true}
   */
  readonly tracked?: boolean;
}

/**
 * Each task in exactly one set. Sets are ranges: a job of 10^9 tasks costs the memory of its
 * ranges, and a set's string is the `--tasks` spec that selects it.
 */
export interface LiveStatus {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** Succeeded in at least one run. */
  readonly done: TaskSet;
  /** Running now, in an array task the scheduler says is running. */
  readonly running: TaskSet;
  /** Queued, in an array task the scheduler says is pending. */
  readonly pending: TaskSet;
  /** Never succeeded, failed at least once, and not running or queued again. */
  readonly failed: TaskSet;
  /**
   * No outcome and nothing live: submitted or started and the scheduler no longer knows it
   * (killed or lost), or in a run that ended without reporting it.
   */
  readonly neverFinished: TaskSet;
  /** Started without an end while the scheduler could not be asked. */
  readonly runningOrLost: TaskSet;
  /** Submitted, not started, while the scheduler could not be asked. */
  readonly pendingOrLost: TaskSet;
  /** In no submission and no record. */
  readonly unsubmitted: TaskSet;
  /**
   * Not running or pending, of a job that keeps no records (its template has no
   * `{{#record_dir}}` block): whether they succeeded is unknown.
   */
  readonly untracked: TaskSet;
  /** The failed tasks with the exit status and record of their last failure, ascending. */
  readonly failures: readonly TaskFailure[];
  /** The array task runs that ended: how many, and their seconds in all, for estimates. */
  readonly endedRuns: { readonly count: number; readonly seconds: number };
  /** How many array task runs are running now. */
  readonly runningArrayTasks: number;
  /** How many array tasks are queued now. */
  readonly pendingArrayTasks: number;
  /** Why the scheduler could not answer; absent when it answered or was not asked. */
  readonly schedulerNote?: string;
}

const NONE = new TaskSet([]);

/**
 * Merges the records with what the scheduler says. Precedence, per task: done (any run
 * succeeded) before running before pending before failed; then, with nothing live, a task that
 * started or was submitted never finished, and one in neither was never submitted. A task whose
 * array task is still running but which already has an outcome in its record counts by that
 * outcome; one that a run ended without reporting never finished. What a record means is
 * status.ts's ({@linkcode recordsVerdict}); the cost grows with the ranges, never the tasks.
 *
 * @param input The records, the submissions and the scheduler's answer.
 * @returns Every task in exactly one set.
 *
 * @example The scheduler could not be asked
 * ```ts
 * import { mergeStatus } from "./live_status.ts";
 * import { parseRecord, summarizeRecords } from "./records.ts";
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * const one = (i: number) => new TaskSet([[i, i + 1]]);
 * const status = mergeStatus({
 *   numTasks: 3,
 *   submissions: [{ jobId: "7", chunks: new Map([[0, one(0)], [1, one(1)], [2, one(2)]]) }],
 *   records: summarizeRecords([{ jobId: "7", arrayTaskId: 0, runs: parseRecord("start\t0\t1\n", 3) }]),
 *   answer: { states: new Map(), unavailable: "squeue: not found on PATH" },
 * });
 * assert.equal(String(status.runningOrLost), "0");
 * assert.equal(String(status.pendingOrLost), "1:3");
 * assert.equal(status.neverFinished.length, 0);
 * ```
 */
export function mergeStatus(input: StatusInput): LiveStatus {
  const { numTasks, answer } = input;
  const { records } = input;
  const verdict = recordsVerdict(numTasks, records);
  type Ranges = (readonly [number, number])[];
  const running: Ranges = [], pending: Ranges = [], submitted: Ranges = [];
  let runningArrayTasks = 0, pendingArrayTasks = 0;
  const live = answer !== undefined && answer.unavailable === undefined;
  for (const submission of input.submissions) {
    const states = answer?.states.get(submission.jobId);
    for (const [arrayTaskId, tasks] of submission.chunks) {
      const state = states?.get(arrayTaskId)?.state;
      if (state === "running") {
        runningArrayTasks++;
        // Those of its latest run without an outcome; before its record's start line is
        // written, every task of the chunk.
        const unended = records.ended.get(submission.jobId)?.has(arrayTaskId)
          ? NONE
          : records.open.get(submission.jobId)?.get(arrayTaskId) ?? tasks;
        running.push(...unended.ranges);
      } else if (state === "pending") {
        pendingArrayTasks++;
        pending.push(...tasks.ranges);
      }
      submitted.push(...tasks.ranges);
    }
  }
  // Array tasks of jobs submitted by hand: known only from their records.
  const known = new Set(input.submissions.map((s) => s.jobId));
  for (const [jobId, open] of records.open) {
    if (known.has(jobId)) continue;
    for (const [arrayTaskId, tasks] of open) {
      const state = answer?.states.get(jobId)?.get(arrayTaskId)?.state;
      const unended = tasks ?? NONE;
      if (state === "running" && unended.length > 0) runningArrayTasks++;
      if (state === "running") running.push(...unended.ranges);
      else if (state === "pending") pending.push(...unended.ranges);
    }
  }
  // Each set in order of precedence, minus what an earlier one took.
  let taken = verdict.done;
  const take = (ranges: readonly (readonly [number, number])[]): TaskSet => {
    const set = new TaskSet(ranges).without(taken);
    taken = new TaskSet([...taken.ranges, ...set.ranges]);
    return set;
  };
  const runningSet = take(running), pendingSet = take(pending);
  const failed = take(verdict.failed.ranges);
  const lostSet = take(records.lost.ranges), startedSet = take(records.started.ranges);
  const submittedSet = take(submitted);
  const schedulerNote = answer?.unavailable;
  if (input.tracked === false) {
    return {
      numTasks,
      done: NONE,
      running: runningSet,
      pending: pendingSet,
      failed: NONE,
      neverFinished: NONE,
      runningOrLost: NONE,
      pendingOrLost: NONE,
      unsubmitted: NONE,
      untracked: new TaskSet([[0, numTasks]]).without(
        new TaskSet([...runningSet.ranges, ...pendingSet.ranges]),
      ),
      failures: [],
      endedRuns: records.endedRuns,
      runningArrayTasks,
      pendingArrayTasks,
      ...(schedulerNote === undefined ? {} : { schedulerNote }),
    };
  }
  return {
    numTasks,
    done: verdict.done,
    running: runningSet,
    pending: pendingSet,
    failed,
    neverFinished: live
      ? new TaskSet([...lostSet.ranges, ...startedSet.ranges, ...submittedSet.ranges])
      : lostSet,
    runningOrLost: live ? NONE : startedSet,
    pendingOrLost: live ? NONE : submittedSet,
    unsubmitted: new TaskSet([[0, numTasks]]).without(taken),
    untracked: NONE,
    failures: failuresIn(verdict.failures, failed),
    endedRuns: records.endedRuns,
    runningArrayTasks,
    pendingArrayTasks,
    ...(schedulerNote === undefined ? {} : { schedulerNote }),
  };
}

// The parts of the failures that are in `failed` (a failed task may be live again).
function failuresIn(failures: readonly TaskFailure[], failed: TaskSet): TaskFailure[] {
  const kept: TaskFailure[] = [];
  let r = 0;
  for (const failure of failures) {
    const stop = failure.index + failure.count;
    while (r > 0 && failed.ranges[r - 1]![1] > failure.index) r--;
    while (r < failed.ranges.length && failed.ranges[r]![1] <= failure.index) r++;
    for (let k = r; k < failed.ranges.length && failed.ranges[k]![0] < stop; k++) {
      const a = Math.max(failed.ranges[k]![0], failure.index);
      const b = Math.min(failed.ranges[k]![1], stop);
      if (b > a) kept.push({ ...failure, index: a, count: b - a });
    }
  }
  return kept;
}

/** Runs one command: {@linkcode runCommand} unless a test answers instead of a scheduler. */
export type Runner = (argv: readonly string[]) => Promise<CommandOutput>;

/**
 * The query table (queries.ts) of a job's scheduler, as its manifest names it.
 *
 * @param manifest The job's manifest.
 * @returns How to ask that scheduler about jobs and cancel them.
 *
 * @example
 * ```ts
 * import { queriesOf } from "./live_status.ts";
 * import { QUERIES } from "./queries.ts";
 * import { readManifest } from "./manifest.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ scheduler: "slurm", numTasks: 2, command: ["./fit"], outputDir: dir });
 * assert.equal(queriesOf(await readManifest(dir)), QUERIES.slurm);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function queriesOf(manifest: JobManifest): SchedulerQueries {
  return QUERIES[dialectOf(manifest.options.scheduler ?? DEFAULT_SCHEDULER).name];
}

/** A job's {@linkcode LiveStatus} with what it was read from. */
export interface JobLiveStatus extends LiveStatus {
  /** The job's submissions, oldest first. */
  readonly submissions: readonly Submission[];
  /** How many array task records were read. */
  readonly records: number;
  /** Per submitted job id, per array task: the tasks it runs. */
  readonly chunks: ReadonlyMap<string, ReadonlyMap<number, TaskSet>>;
  /** Whether the scheduler was asked: not when nothing was submitted and no record is open. */
  readonly asked: boolean;
  /** What the scheduler said, per job id and array task; empty when it was not asked. */
  readonly states: JobStates;
  /** When accounting was needed but could not be asked (Slurm's is often disabled). */
  readonly accountingNote?: string;
  /** The fake's runs of the job (local_runs.ts), interrupted ones included. */
  readonly localRuns: readonly LocalRun[];
}

/** Options of {@linkcode liveStatus}. */
export interface LiveStatusOptions {
  /** How to run the scheduler's query commands. */
  run?: Runner;
}

/**
 * Every task's live state: the records merged with what the scheduler says about the job's
 * submissions. Once every array task of a submission left an end and every task is done, it is
 * not asked about. See {@linkcode mergeStatus} for the rules.
 *
 * @param outputDir The job's output directory.
 * @param options How to run the scheduler's commands.
 * @returns Every task in exactly one list, with the submissions and chunks it used.
 * @throws {ArrayJobError} When the directory has no manifest.
 *
 * @example A job never submitted through arrayjob: records only
 * ```ts
 * import { liveStatus } from "./live_status.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 3, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/5.1`, "start\t0\t1\nend\t0\t2\n");
 * const status = await liveStatus(dir);
 * assert.equal(String(status.done), "0");
 * assert.equal(String(status.unsubmitted), "1:3");
 * assert.equal(status.asked, false);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function liveStatus(
  outputDir: string,
  options: LiveStatusOptions = {},
): Promise<JobLiveStatus> {
  const manifest = await readManifest(outputDir);
  // The submissions' chunks are worked out while records/ is listed (on another thread).
  const reading = readRecords(outputDir, manifest.numTasks);
  reading.catch(() => {}); // awaited below: a throw before that must not leave it unhandled
  const submissions = await readSubmissions(outputDir);
  const chunks = new Map<string, ReadonlyMap<number, TaskSet>>();
  const byScript = new Map<string, ReadonlyMap<number, TaskSet>>();
  for (const s of submissions) {
    let map = byScript.get(s.script);
    if (map === undefined) {
      byScript.set(s.script, map = await scriptChunks(outputDir, manifest, s.script));
    }
    chunks.set(s.jobId, map);
  }
  let records = await reading;
  // A local supervisor (the fake) is the scheduler of the runs it journalled: it answers for
  // them, so an interrupted run's array tasks that never started count as submitted, not asked.
  const local: JobStates = new Map();
  const runs = await localRuns(outputDir, records.otherFiles);
  for (const run of runs) {
    if (run.script === undefined || run.arrayTasks === undefined || chunks.has(run.jobId)) continue;
    if (run.state === "unknown") continue;
    let map: ReadonlyMap<number, TaskSet>;
    try {
      map = await scriptChunks(outputDir, manifest, run.script);
    } catch {
      continue; // the script is gone or is not the job's: its records speak alone
    }
    const own = new Map([...map].filter(([k]) => run.arrayTasks!.has(k)));
    chunks.set(run.jobId, own);
    local.set(run.jobId, new Map([...own.keys()].map((k) => [k, localRunState(run, k)])));
  }
  // Ask about submissions with an array task that left no end, about every submission while a
  // task is not done (the scheduler may run a finished array task again, requeued: its tasks
  // are then pending or running, not failed), and about the jobs of records without an end (a
  // job submitted by hand is known only from its records).
  const ended = (jobId: string, k: number) => records.ended.get(jobId)?.has(k) === true;
  const notDone = records.done.length < manifest.numTasks;
  const unfinished = [...chunks].filter(([jobId, map]) =>
    !local.has(jobId) && (notDone || [...map.keys()].some((k) => !ended(jobId, k)))
  ).map(([jobId]) => jobId);
  const handSubmitted = [...records.open.keys()].filter((id) => !chunks.has(id));
  const asked = [...new Set([...unfinished, ...handSubmitted])];
  const scheduler = submissions.length === 0 && asked.length === 0
    ? undefined
    : await askScheduler(queriesOf(manifest), asked, options.run);
  const answer: SchedulerAnswer | undefined = local.size === 0
    ? scheduler
    : { ...scheduler, states: new Map([...scheduler?.states ?? [], ...local]) };
  // Read the records again after the scheduler answered: an array task that ended between the
  // first read and the question is gone from qstat, and only a later read sees its end. Those
  // are the unfinished records, and the first records of submitted array tasks that had none
  // and that the scheduler no longer shows.
  if (answer !== undefined) {
    const appeared: string[] = [];
    for (const [jobId, map] of answer.unavailable === undefined ? chunks : []) {
      const states = answer.states.get(jobId), open = records.open.get(jobId);
      for (const k of map.keys()) {
        const state = states?.get(k)?.state;
        if (state === "running" || state === "pending" || ended(jobId, k) || open?.has(k)) continue;
        appeared.push(`${jobId}.${k}`);
      }
    }
    records = await readRecords(outputDir, manifest.numTasks, records, appeared);
  }
  const status = mergeStatus({
    numTasks: manifest.numTasks,
    submissions: [...chunks].map(([jobId, map]) => ({ jobId, chunks: map })),
    records,
    answer,
    tracked: keepsRecords(manifest.options),
  });
  return {
    ...status,
    failures: await failureLogs(outputDir, manifest, status.failures),
    submissions,
    records: records.count,
    localRuns: runs,
    chunks,
    asked: answer !== undefined,
    states: answer?.states ?? new Map(),
    ...(answer?.accountingUnavailable === undefined
      ? {}
      : { accountingNote: answer.accountingUnavailable }),
  };
}

// What a local run says of one of its array tasks, as a scheduler would.
function localRunState(run: LocalRun, arrayTaskId: number): ArrayTaskState {
  const detail = `local run ${run.state}`;
  if (run.state === "running") {
    if (!run.startedTasks.has(arrayTaskId)) return { state: "pending", detail };
    if (run.unsupervised.includes(arrayTaskId)) return { state: "running", detail };
  } else if (run.stillRunning.includes(arrayTaskId)) return { state: "running", detail };
  return { state: "finished", ok: false, detail };
}

/** Whether nothing of a job is running or queued any more (as far as the scheduler says). */
export function hasEnded(status: LiveStatus): boolean {
  return status.running.length === 0 && status.pending.length === 0 &&
    status.runningOrLost.length === 0 && status.pendingOrLost.length === 0;
}

/**
 * An estimate of the seconds until a job ends: the mean duration of the array task runs that
 * ended, times the array tasks still to run (a running one counted as half done), divided over
 * the array tasks that run at once.
 *
 * @param status A job's live status.
 * @param parallel How many array tasks run at once; by default those running now (a watcher
 *   passes the most it has seen, since between two tasks fewer run).
 * @returns The estimate, or `undefined` before any array task has ended.
 *
 * @example
 * ```ts
 * import { estimateSecondsLeft, mergeStatus } from "./live_status.ts";
 * import { summarizeRecords } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * const status = { ...mergeStatus({ numTasks: 0, submissions: [], records: summarizeRecords([]) }),
 *   endedRuns: { count: 2, seconds: 30 }, runningArrayTasks: 2, pendingArrayTasks: 3 };
 * assert.equal(estimateSecondsLeft(status), 30);
 * ```
 */
export function estimateSecondsLeft(status: LiveStatus, parallel?: number): number | undefined {
  if (status.endedRuns.count === 0) return undefined;
  const mean = status.endedRuns.seconds / status.endedRuns.count;
  const left = status.pendingArrayTasks + status.runningArrayTasks / 2;
  return Math.round(left * mean / Math.max(parallel ?? status.runningArrayTasks, 1));
}

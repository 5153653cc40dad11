/**
 * A job's life after its scripts are written: submitting them (the `qsub`/`sbatch` first on PATH,
 * so the fake scheduler works the same), knowing each task's live state by merging what the
 * scheduler says with the records the array tasks left, cancelling, waiting, and retrying what
 * failed. Every task is exactly one of done, failed, running, pending, never finished (the
 * scheduler no longer knows it and it left no end) or unsubmitted; when the scheduler cannot be
 * asked, a task that started and did not end is "running or lost", never "never finished".
 *
 * @example Merging what the scheduler says with the records
 * ```ts
 * import { mergeStatus } from "./lifecycle.ts";
 * import { parseRecord } from "./status.ts";
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * const status = mergeStatus({
 *   numTasks: 4,
 *   submissions: [{ jobId: "7", chunks: new Map([[1, new TaskSet([[0, 2]])], [2, new TaskSet([[2, 4]])]]) }],
 *   records: [{ jobId: "7", arrayTaskId: 1, runs: parseRecord("start\t0:2\t1\ntask\t0\t0\t5\n", 4) }],
 *   answer: { states: new Map([["7", new Map([
 *     [1, { state: "running", detail: "r" }],
 *     [2, { state: "pending", detail: "qw" }],
 *   ])]]) },
 * });
 * assert.equal(String(status.done), "0");
 * assert.equal(String(status.running), "1");
 * assert.equal(String(status.pending), "2:4");
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import { keepsRecords } from "./template.ts";
import {
  appendSubmission,
  type JobManifest,
  readManifest,
  readSubmissions,
  type Submission,
} from "./job_dir.ts";
import {
  type ArrayTaskRecord,
  failureLogs,
  readArrayTaskRecords,
  type RecordRun,
  recordsVerdict,
  scriptChunks,
  type TaskFailure,
} from "./status.ts";
import { TaskSet } from "./task_set.ts";
import { type LocalRun, localRuns } from "./local_runs.ts";
import { type Resubmission, writeResubmitScript } from "./resubmit.ts";
import {
  type ArrayTaskState,
  askScheduler,
  cancelJob,
  type CommandOutput,
  type JobStates,
  parseJobId,
  QUERIES,
  runCommand,
  type SchedulerAnswer,
  SchedulerError,
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
  /** Every array task's record, by job id and array task index (as status.ts reads them). */
  readonly records: readonly ArrayTaskRecord[];
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
  /** The durations in seconds of the array task runs that ended, for estimates. */
  readonly durations: readonly number[];
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
 * import { mergeStatus } from "./lifecycle.ts";
 * import { parseRecord } from "./status.ts";
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * const one = (i: number) => new TaskSet([[i, i + 1]]);
 * const status = mergeStatus({
 *   numTasks: 3,
 *   submissions: [{ jobId: "7", chunks: new Map([[0, one(0)], [1, one(1)], [2, one(2)]]) }],
 *   records: [{ jobId: "7", arrayTaskId: 0, runs: parseRecord("start\t0\t1\n", 3) }],
 *   answer: { states: new Map(), unavailable: "squeue: not found on PATH" },
 * });
 * assert.equal(String(status.runningOrLost), "0");
 * assert.equal(String(status.pendingOrLost), "1:3");
 * assert.equal(status.neverFinished.length, 0);
 * ```
 */
export function mergeStatus(input: StatusInput): LiveStatus {
  const { numTasks, answer } = input;
  const verdict = recordsVerdict(numTasks, input.records);
  type Ranges = (readonly [number, number])[];
  const running: Ranges = [], pending: Ranges = [], lost: Ranges = [];
  const started: Ranges = [], submitted: Ranges = [];
  const durations: number[] = [];
  // Per record key, the tasks of its last run that have no outcome while that run has no end.
  const open = new Map<string, TaskSet>();
  for (const record of input.records) {
    const key = `${record.jobId}.${record.arrayTaskId}`;
    record.runs.forEach((run, i) => {
      if (run.seconds !== undefined) durations.push(run.seconds);
      const unended = unreported(run);
      (run.ended ? lost : started).push(...unended.ranges);
      if (i === record.runs.length - 1) open.set(key, run.ended ? NONE : unended);
    });
  }
  let runningArrayTasks = 0, pendingArrayTasks = 0;
  const live = answer !== undefined && answer.unavailable === undefined;
  for (const submission of input.submissions) {
    const states = answer?.states.get(submission.jobId);
    for (const [arrayTaskId, tasks] of submission.chunks) {
      const state = states?.get(arrayTaskId)?.state;
      if (state === "running") {
        runningArrayTasks++;
        // Before its record's start line is written, every task of the chunk is running.
        running.push(...(open.get(`${submission.jobId}.${arrayTaskId}`) ?? tasks).ranges);
      } else if (state === "pending") {
        pendingArrayTasks++;
        pending.push(...tasks.ranges);
      }
      submitted.push(...tasks.ranges);
    }
  }
  // Array tasks of jobs submitted by hand: known only from their records.
  const known = new Set(input.submissions.map((s) => s.jobId));
  for (const record of input.records) {
    if (known.has(record.jobId)) continue;
    const state = answer?.states.get(record.jobId)?.get(record.arrayTaskId)?.state;
    const unended = open.get(`${record.jobId}.${record.arrayTaskId}`) ?? NONE;
    if (state === "running" && unended.length > 0) runningArrayTasks++;
    if (state === "running") running.push(...unended.ranges);
    else if (state === "pending") pending.push(...unended.ranges);
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
  const lostSet = take(lost), startedSet = take(started), submittedSet = take(submitted);
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
      durations,
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
    durations,
    runningArrayTasks,
    pendingArrayTasks,
    ...(schedulerNote === undefined ? {} : { schedulerNote }),
  };
}

// The tasks of a run without an outcome; most runs have one outcome for their one range.
function unreported(run: RecordRun): TaskSet {
  const [only] = run.outcomes, [range] = run.tasks.ranges;
  if (run.outcomes.length === 1 && run.tasks.ranges.length === 1) {
    if (only!.start === range![0] && only!.stop === range![1]) return NONE;
  }
  return run.tasks.without(new TaskSet(run.outcomes.map((o) => [o.start, o.stop] as const)));
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

function queriesOf(manifest: JobManifest): SchedulerQueries {
  return QUERIES[dialectOf(manifest.options.scheduler ?? DEFAULT_SCHEDULER).name];
}

/** Options of {@linkcode submit}. */
export interface SubmitOptions {
  /** Words for the submit program, before the script (`-p debug`, `--hold`, `-h`). */
  extraArgs?: readonly string[];
  /**
   * The job's output directory (where `arrayjob.json` is).
   * @default {"the script's directory"}
   */
  outputDir?: string;
  /** How to run the submit program. */
  run?: Runner;
}

/** What {@linkcode submit} did: the submission it recorded, and the submit program's output. */
export interface Submitted extends Submission {
  /** The job's output directory. */
  readonly outputDir: string;
  /** What the submit program printed. */
  readonly stdout: string;
}

/**
 * Submits one of a job's scripts (`run.sh`, a split's `run-K.sh`, `resubmit-N.sh`) with the
 * submit program first on PATH (`qsub`, `sbatch`: the fake's when its `bin/` comes first),
 * reads the job id from its output and appends the submission to the job's list, which
 * {@linkcode liveStatus} asks the scheduler about.
 *
 * @param script The script.
 * @param options Extra words for the submit program, the job's directory.
 * @returns The submission.
 * @throws {ArrayJobError} When the script is not one of the job's.
 * @throws {SchedulerError} When the submit program fails or prints no job id.
 *
 * @example With a stand-in for sbatch
 * ```ts
 * import { submit } from "./lifecycle.ts";
 * import { readSubmissions, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const run = await writeClusterScript({ scheduler: "slurm", numTasks: 4, command: ["./fit"], outputDir: dir });
 * const calls: string[][] = [];
 * const job = await submit(run, {
 *   extraArgs: ["--hold"],
 *   run: (argv) => (calls.push([...argv]), Promise.resolve({ code: 0, stdout: "Submitted batch job 42\n", stderr: "" })),
 * });
 * assert.equal(job.jobId, "42");
 * assert.deepEqual(calls, [["sbatch", "--hold", run]]);
 * assert.equal((await readSubmissions(dir))[0]!.script, run);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function submit(script: string, options: SubmitOptions = {}): Promise<Submitted> {
  const absolute = path.resolve(script);
  const outputDir = path.resolve(options.outputDir ?? path.dirname(absolute));
  const manifest = await readManifest(outputDir);
  await scriptChunks(outputDir, manifest, absolute); // refuses a script that is not the job's
  const program = dialectOf(manifest.options.scheduler ?? DEFAULT_SCHEDULER).submitProgram;
  const argv = [program, ...(options.extraArgs ?? []), absolute];
  const output = await (options.run ?? runCommand)(argv);
  const jobId = parseJobId(queriesOf(manifest), output.stdout);
  if (output.code !== 0 || jobId === undefined) {
    const said = (output.stderr.trim() || output.stdout.trim()).split("\n")[0] ?? "";
    throw new SchedulerError(
      `${argv.join(" ")} ${output.code !== 0 ? `exited ${output.code}` : "printed no job id"}${
        said ? `: ${said}` : ""
      }`,
    );
  }
  const submission = { jobId, script: absolute, submitted: new Date().toISOString() };
  await appendSubmission(outputDir, submission);
  return { ...submission, outputDir, stdout: output.stdout };
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
}

/** Options of {@linkcode liveStatus}. */
export interface LiveStatusOptions {
  /** How to run the scheduler's query commands. */
  run?: Runner;
}

/**
 * Every task's live state: the records merged with what the scheduler says about the job's
 * submissions that have not finished (those whose every array task left an end are not asked
 * about). See {@linkcode mergeStatus} for the rules.
 *
 * @param outputDir The job's output directory.
 * @param options How to run the scheduler's commands.
 * @returns Every task in exactly one list, with the submissions and chunks it used.
 * @throws {ArrayJobError} When the directory has no manifest.
 *
 * @example A job never submitted through arrayjob: records only
 * ```ts
 * import { liveStatus } from "./lifecycle.ts";
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
  let [submissions, records] = await Promise.all([
    readSubmissions(outputDir),
    readArrayTaskRecords(outputDir, manifest.numTasks),
  ]);
  const chunks = new Map<string, Map<number, TaskSet>>();
  const byScript = new Map<string, Map<number, TaskSet>>();
  for (const s of submissions) {
    let map = byScript.get(s.script);
    if (map === undefined) {
      byScript.set(s.script, map = await scriptChunks(outputDir, manifest, s.script));
    }
    chunks.set(s.jobId, map);
  }
  // A local supervisor (the fake) is the scheduler of the runs it journalled: it answers for
  // them, so an interrupted run's array tasks that never started count as submitted, not asked.
  const local: JobStates = new Map();
  for (const run of await localRuns(outputDir)) {
    if (run.script === undefined || run.arrayTasks === undefined || chunks.has(run.jobId)) continue;
    if (run.state === "unknown") continue;
    let map: Map<number, TaskSet>;
    try {
      map = await scriptChunks(outputDir, manifest, run.script);
    } catch {
      continue; // the script is gone or is not the job's: its records speak alone
    }
    const own = new Map([...map].filter(([k]) => run.arrayTasks!.has(k)));
    chunks.set(run.jobId, own);
    local.set(run.jobId, new Map([...own.keys()].map((k) => [k, localRunState(run, k)])));
  }
  // Ask about submissions with an array task that left no end, and about the jobs of records
  // without an end (a job submitted by hand is known only from its records).
  const ended = new Set<string>(), open = new Set<string>();
  for (const r of records) {
    if (r.runs.at(-1)?.ended) ended.add(`${r.jobId}.${r.arrayTaskId}`);
    else open.add(r.jobId);
  }
  const unfinished = [...chunks].filter(([jobId, map]) =>
    !local.has(jobId) && [...map.keys()].some((k) => !ended.has(`${jobId}.${k}`))
  ).map(([jobId]) => jobId);
  const asked = [...new Set([...unfinished, ...[...open].filter((id) => !chunks.has(id))])];
  const scheduler = submissions.length === 0 && asked.length === 0
    ? undefined
    : await askScheduler(queriesOf(manifest), asked, options.run);
  const answer: SchedulerAnswer | undefined = local.size === 0
    ? scheduler
    : { ...scheduler, states: new Map([...scheduler?.states ?? [], ...local]) };
  // Read the records again after the scheduler answered: an array task that ended between the
  // first read and the question is gone from qstat, and only a later read sees its end.
  if (answer !== undefined) {
    records = await readArrayTaskRecords(outputDir, manifest.numTasks, records);
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
    records: records.length,
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
 * import { estimateSecondsLeft, mergeStatus } from "./lifecycle.ts";
 * import assert from "node:assert/strict";
 *
 * const status = { ...mergeStatus({ numTasks: 0, submissions: [], records: [] }),
 *   durations: [10, 20], runningArrayTasks: 2, pendingArrayTasks: 3 };
 * assert.equal(estimateSecondsLeft(status), 30);
 * ```
 */
export function estimateSecondsLeft(status: LiveStatus, parallel?: number): number | undefined {
  if (status.durations.length === 0) return undefined;
  const mean = status.durations.reduce((a, b) => a + b, 0) / status.durations.length;
  const left = status.pendingArrayTasks + status.runningArrayTasks / 2;
  return Math.round(left * mean / Math.max(parallel ?? status.runningArrayTasks, 1));
}

/** What {@linkcode cancel} did. */
export interface Cancellation {
  /** Per job id, the array tasks cancelled (all of the job's live ones without `tasks`). */
  readonly cancelled: ReadonlyMap<string, readonly number[]>;
  /** The tasks the cancelled array tasks held: more than asked when chunks are shared. */
  readonly tasks: TaskSet;
  /** Tasks asked for that were not running or queued. */
  readonly notLive: TaskSet;
  /** Commands that failed, one line each. */
  readonly problems: readonly string[];
}

/**
 * Cancels a job's live submissions with `scancel`/`qdel`, or only the array tasks that hold
 * some tasks.
 *
 * @param outputDir The job's output directory.
 * @param tasks The tasks whose array tasks to cancel; every live array task when absent.
 * @param options How to run the scheduler's commands.
 * @returns What was cancelled.
 * @throws {SchedulerError} When the scheduler cannot be asked which array tasks are live.
 *
 * @example Nothing submitted: nothing to cancel
 * ```ts
 * import { cancel } from "./lifecycle.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 3, command: ["./fit"], outputDir: dir });
 * assert.equal(String((await cancel(dir, [1])).notLive), "1");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function cancel(
  outputDir: string,
  tasks?: Iterable<number> | TaskSet,
  options: LiveStatusOptions = {},
): Promise<Cancellation> {
  const status = await liveStatus(outputDir, options);
  if (status.schedulerNote !== undefined) {
    throw new SchedulerError(`cannot ask the scheduler what is live: ${status.schedulerNote}`);
  }
  const manifest = await readManifest(outputDir);
  const live = new TaskSet([...status.running.ranges, ...status.pending.ranges]);
  const wanted = tasks === undefined || tasks instanceof TaskSet ? tasks : TaskSet.of(tasks);
  const cancelled = new Map<string, number[]>();
  const held: (readonly [number, number])[] = [];
  for (const [jobId, map] of status.chunks) {
    const states = status.states.get(jobId);
    const arrayTasks = [...map].filter(([k, chunk]) => {
      const state = states?.get(k)?.state;
      return (state === "running" || state === "pending") &&
        (wanted === undefined || chunk.without(wanted).length < chunk.length);
    });
    if (arrayTasks.length === 0) continue;
    cancelled.set(jobId, arrayTasks.map(([k]) => k));
    for (const [, chunk] of arrayTasks) held.push(...chunk.ranges);
  }
  const problems: string[] = [];
  for (const [jobId, arrayTasks] of cancelled) {
    problems.push(
      ...await cancelJob(
        queriesOf(manifest),
        jobId,
        wanted === undefined ? undefined : arrayTasks,
        options.run,
      ),
    );
  }
  return {
    cancelled,
    tasks: new TaskSet(held),
    notLive: wanted === undefined ? new TaskSet([]) : wanted.without(live),
    problems,
  };
}

/** Options of {@linkcode waitForJob} and {@linkcode submitAndWait}. */
export interface WaitOptions extends LiveStatusOptions {
  /**
   * Seconds between two questions to the scheduler.
   * @default {5}
   */
  interval?: number;
  /** Called with each status read while waiting. */
  onStatus?: (status: JobLiveStatus) => void;
}

/**
 * Waits until nothing of a job is running or queued, asking the scheduler every `interval`
 * seconds.
 *
 * @param outputDir The job's output directory.
 * @param options How often to ask, and what to tell on the way.
 * @returns The status once the job has ended.
 * @throws {SchedulerError} When the scheduler cannot be asked.
 *
 * @example A job with nothing live has ended at once
 * ```ts
 * import { waitForJob } from "./lifecycle.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, command: ["./fit"], outputDir: dir });
 * assert.equal(String((await waitForJob(dir, { interval: 0.1 })).unsubmitted), "0:2");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function waitForJob(
  outputDir: string,
  options: WaitOptions = {},
): Promise<JobLiveStatus> {
  const interval = options.interval ?? 5;
  if (!(interval > 0)) throw new ArrayJobError(`is ${interval}: expected seconds > 0`, "interval");
  for (;;) {
    const asked = Date.now();
    const status = await liveStatus(outputDir, options);
    options.onStatus?.(status);
    if (status.schedulerNote !== undefined) {
      throw new SchedulerError(`cannot ask the scheduler: ${status.schedulerNote}`);
    }
    if (hasEnded(status)) return status;
    const wait = interval * 1000 - (Date.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
  }
}

/** Options of {@linkcode submitAndWait}. */
export interface RetryOptions extends WaitOptions {
  /** Words for the submit program, before the script, on every submission. */
  extraArgs?: readonly string[];
  /**
   * How many times to resubmit what failed or never finished.
   * @default {0}
   */
  retries?: number;
  /** Called after each submission; the first is the script itself. */
  onSubmit?: (submitted: Submitted, resubmission?: Resubmission) => void;
}

/**
 * Submits a script, waits until the job ends, and resubmits the script's tasks that failed or
 * never finished, up to `retries` times, each resubmission waited for in turn.
 *
 * @param script The script (`run.sh`, `run-K.sh`, `resubmit-N.sh`).
 * @param options Extra submit words, retries, how often to ask.
 * @returns The final status; the script's tasks are all done when {@linkcode scriptDone} says so.
 * @throws {SchedulerError} When submitting or asking fails.
 *
 * @example
 * ```ts ignore
 * import { submitAndWait } from "./lifecycle.ts";
 *
 * const status = await submitAndWait("fit/run.sh", { retries: 2 });
 * console.log(status.done.length, "done");
 * ```
 */
export async function submitAndWait(
  script: string,
  options: RetryOptions = {},
): Promise<JobLiveStatus & { readonly scriptTasks: TaskSet }> {
  const retries = options.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new ArrayJobError(`is ${retries}: expected a whole number >= 0`, "retries");
  }
  let submitted = await submit(script, options);
  options.onSubmit?.(submitted);
  const { outputDir } = submitted;
  const manifest = await readManifest(outputDir);
  const chunks = await scriptChunks(outputDir, manifest, submitted.script);
  const scriptTasks = new TaskSet([...chunks.values()].flatMap((chunk) => chunk.ranges));
  for (let attempt = 0;; attempt++) {
    const status = await waitForJob(outputDir, options);
    if (scriptDone({ ...status, scriptTasks }) || attempt === retries) {
      return { ...status, scriptTasks };
    }
    const others = new TaskSet([[0, manifest.numTasks]]).without(scriptTasks);
    const again = await writeResubmitScript(outputDir, { exclude: others });
    if (again.path === undefined) return { ...status, scriptTasks };
    submitted = await submit(again.path, { ...options, outputDir });
    options.onSubmit?.(submitted, again);
  }
}

/**
 * Whether every task of a script is done.
 *
 * @param status What {@linkcode submitAndWait} returned.
 * @returns True when all its tasks are done.
 *
 * @example
 * ```ts
 * import { scriptDone } from "./lifecycle.ts";
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(scriptDone({ done: new TaskSet([[0, 3]]), scriptTasks: new TaskSet([[1, 3]]) }), true);
 * ```
 */
export function scriptDone(
  status: { readonly done: TaskSet; readonly scriptTasks: TaskSet },
): boolean {
  return status.scriptTasks.without(status.done).length === 0;
}

/**
 * A job's life after its scripts are written: submitting them (the `qsub`/`sbatch` first on PATH,
 * so the fake scheduler works the same), cancelling, waiting, and retrying what failed. Each
 * task's live state (the records merged with what the scheduler says) is live_status.ts's, which
 * this module re-exports.
 *
 * @example Submitting with a stand-in for sbatch, then the live state
 * ```ts
 * import { liveStatus } from "./live_status.ts";
 * import { submit } from "./lifecycle.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const run = await writeClusterScript({ scheduler: "slurm", numTasks: 2, command: ["./fit"], outputDir: dir });
 * const answer = (stdout: string) => Promise.resolve({ code: 0, stdout, stderr: "" });
 * const job = await submit(run, { run: () => answer("Submitted batch job 42\n") });
 * assert.equal(job.jobId, "42");
 * const status = await liveStatus(dir, { run: () => answer("") });
 * assert.equal(status.submissions.length, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf } from "./dialects.ts";
import { appendSubmission, type Submission } from "./submissions.ts";
import { readManifest } from "./manifest.ts";
import { scriptChunks } from "./status.ts";
import { TaskSet } from "./task_set.ts";
import { type Resubmission, writeResubmitScript } from "./resubmit.ts";
import { cancelJob, parseJobId, runCommand, SchedulerError } from "./queries.ts";
import {
  hasEnded,
  type JobLiveStatus,
  liveStatus,
  type LiveStatusOptions,
  queriesOf,
  type Runner,
} from "./live_status.ts";

export {
  estimateSecondsLeft,
  hasEnded,
  type JobLiveStatus,
  type LiveStatus,
  liveStatus,
  type LiveStatusOptions,
  mergeStatus,
  type Runner,
  type StatusInput,
  type SubmittedJob,
} from "./live_status.ts";

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
 * import { readSubmissions } from "./submissions.ts";
 * import { writeClusterScript } from "./job_dir.ts";
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

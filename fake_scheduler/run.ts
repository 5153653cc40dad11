/**
 * The slot loop: run every array task of a {@link Job} once, at most N at a time (N slots, fewer
 * under the job's throttle), opening the next tasks' logs ahead while the running ones run, and
 * collect the {@link JobOutcome}. Several jobs can share one {@link SlotPool}.
 *
 * @example
 * ```ts
 * import { runArrayJob } from "./run.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = Deno.makeTempDirSync();
 * const tasks = [1, 2, 3].map((index) => ({
 *   index, jobId: "9", env: { N: String(index) }, stdoutPath: `${dir}/o.${index}`, stderrPath: null,
 * }));
 * const outcome = await runArrayJob({
 *   scheduler: "slurm", jobId: "9", jobName: "demo", scriptPath: "exit $N", shell: ["/bin/sh", "-c"],
 *   scriptArgs: [], cwd: dir, tasks, appendLogs: false,
 * }, { slots: 2 });
 * assert.equal(outcome.failed, "1-3");
 * assert.equal(outcome.firstFailure?.exitCode !== 0, true);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { Cleanup } from "./cleanup.ts";
import {
  type ArrayTask,
  formatArrayIds,
  type Job,
  type JobOutcome,
  parsePositiveInt,
  type TaskOutcome,
} from "./job.ts";
import { closeLogs, type Logs, openLogsAhead, sharedLogPaths } from "./logs.ts";
import { runTask } from "./start.ts";
import { TmpDirs } from "./tmp.ts";

/**
 * A counting semaphore over CPU slots. Pass one instance to several {@link runArrayJob} calls so
 * that concurrent jobs share a machine-wide budget instead of each assuming the whole machine.
 */
export class SlotPool {
  #free: number;
  #waiting: (() => void)[] = [];

  /** Create a pool of `size` slots; `size` must be a positive integer. */
  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) {
      throw new Error(`slots must be a positive integer, got ${size}`);
    }
    this.#free = size;
  }

  /** Wait for a free slot and take it. */
  async acquire(): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  /** Give a slot back, waking the longest waiter. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}

/** Options for {@link runArrayJob}. */
export interface RunOptions {
  /** Number of parallel slots, or a pool shared with other jobs. Default: {@link defaultSlots}. */
  slots?: number | SlotPool;
  /** Called when an array task's process has started, with its pid. */
  onTaskStarted?: (task: ArrayTask, pid: number) => void;
  /** Called after each array task ends (the terminal progress line, `qsub -sync y`'s lines). */
  onTaskDone?: (outcome: TaskOutcome, done: number, total: number, failed: number) => void;
  /** Where started processes and TMP directories are recorded; default: a fresh one. */
  cleanup?: Cleanup;
}

/** Default slot count: `ARRAYJOB_FAKE_SLOTS` if set, else the number of CPUs. */
export function defaultSlots(): number {
  const fromEnv = Deno.env.get("ARRAYJOB_FAKE_SLOTS");
  if (fromEnv !== undefined && fromEnv !== "") {
    return parsePositiveInt(fromEnv, "ARRAYJOB_FAKE_SLOTS");
  }
  return navigator.hardwareConcurrency || 1;
}

/**
 * Run every array task of `job` once, at most `slots` (and at most `job.throttle`) at a time, and
 * return the outcome. Throws only when a task cannot be started at all (e.g. no TMP can be made);
 * a task that fails is recorded, not thrown.
 */
export async function runArrayJob(job: Job, options: RunOptions = {}): Promise<JobOutcome> {
  const pool = options.slots instanceof SlotPool
    ? options.slots
    : new SlotPool(options.slots ?? defaultSlots());
  const started = performance.now();
  const outcomes: TaskOutcome[] = [];
  let next = 0;
  let failed = 0;
  let firstFailure: TaskOutcome | null = null;
  const total = job.tasks.length;
  const workers = Math.max(1, Math.min(job.throttle ?? total, total, pool.size));
  const tmpDirs = new TmpDirs(options.cleanup ?? new Cleanup());
  // The next few tasks' logs are opened ahead, while the running tasks run, so that a slot that
  // frees up starts its next task without waiting for the file system (see openLogsAhead).
  const shared = sharedLogPaths(job.tasks);
  const ahead = new Map<number, Promise<Logs | undefined>>();
  const openAhead = () => {
    for (let i = next; i < Math.min(next + workers, total); i++) {
      const task = job.tasks[i];
      if (
        ahead.has(i) || shared.has(task.stdoutPath) ||
        (task.stderrPath !== null && shared.has(task.stderrPath))
      ) continue;
      ahead.set(i, openLogsAhead(task, job.appendLogs));
    }
  };
  const worker = async () => {
    while (next < total && !tmpDirs.cleanup.interrupted) {
      const at = next++;
      const logs = ahead.get(at);
      ahead.delete(at);
      openAhead();
      await pool.acquire();
      let outcome: TaskOutcome;
      try {
        const task = job.tasks[at];
        const started = options.onTaskStarted;
        outcome = await runTask(job, task, tmpDirs, logs, started && ((pid) => started(task, pid)));
      } finally {
        pool.release();
      }
      outcomes.push(outcome);
      if (outcome.exitCode !== 0) {
        failed++;
        firstFailure ??= outcome;
      }
      options.onTaskDone?.(outcome, outcomes.length, total, failed);
    }
  };
  try {
    await Promise.all(Array.from({ length: total === 0 ? 0 : workers }, worker));
  } finally {
    tmpDirs.clear();
    // Only after a throw: logs opened for tasks that never started.
    for (const logs of await Promise.all(ahead.values())) closeLogs(logs);
  }
  return outcomeOf(job, outcomes, performance.now() - started, firstFailure);
}

/**
 * The outcome of `job` from its array tasks' outcomes (in completion order; `firstFailure` is
 * the first of them to fail unless given), as the summary and the exit codes read it.
 */
export function outcomeOf(
  job: Job,
  outcomes: TaskOutcome[],
  durationMs: number,
  firstFailure: TaskOutcome | null = outcomes.find((t) => t.exitCode !== 0) ?? null,
): JobOutcome {
  outcomes = [...outcomes].sort((a, b) => a.index - b.index);
  let slowest: JobOutcome["slowest"] = null;
  for (const t of outcomes) {
    if (!slowest || t.durationMs > slowest.durationMs) {
      slowest = { index: t.index, durationMs: t.durationMs };
    }
  }
  return {
    scheduler: job.scheduler,
    jobId: job.jobId,
    jobName: job.jobName,
    script: job.scriptPath,
    tasksRun: outcomes.length,
    failed: formatArrayIds(outcomes.filter((t) => t.exitCode !== 0).map((t) => t.index)),
    timedOut: formatArrayIds(outcomes.filter((t) => t.timedOut).map((t) => t.index)),
    slowest,
    durationMs: Math.round(durationMs),
    firstFailure,
    tasks: outcomes,
  };
}

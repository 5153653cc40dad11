/**
 * The fake scheduler's vocabulary: a {@link Job} (a fully resolved array job: one
 * {@link ArrayTask} per array index, with its environment and log paths), what became of each
 * array task ({@link TaskOutcome}) and of the job ({@link JobOutcome}), and the one error type
 * for bad input ({@link UsageError}). The faces (`sge.ts`, `slurm.ts`) build a Job; the slot loop
 * (`run.ts`) runs it; nothing here knows about `#$` or `#SBATCH`.
 *
 * @example Array-task ids as the schedulers write them
 * ```ts
 * import { formatArrayIds } from "./job.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatArrayIds([20, 3, 17, 18, 19]), "3,17-20");
 * ```
 *
 * @module
 */

/** One array task as the fake runs it: everything scheduler-specific is already resolved. */
export interface ArrayTask {
  /** The array index the scheduler gives this task (`SGE_TASK_ID` / `SLURM_ARRAY_TASK_ID`). */
  index: number;
  /** The job id this array task reports as its own (Slurm gives each array task its own id). */
  jobId: string;
  /** The complete environment of the task process (nothing is inherited implicitly). */
  env: Record<string, string>;
  /** Absolute path of the file that receives the task's stdout. */
  stdoutPath: string;
  /** Absolute path of the file for stderr, or `null` when stderr is merged into stdout. */
  stderrPath: string | null;
  /** A scratch directory made before the task starts and removed after it ends (SGE's TMP). */
  tmpDir?: string;
}

/** What to do when an array task outlives its run-time limit. */
export interface TimeLimit {
  /** Allowed wall-clock seconds per array task. */
  seconds: number;
  /** Signal sent first when the limit is hit (SGE: SIGKILL for h_rt; Slurm: SIGTERM). */
  signal: Deno.Signal;
  /** Seconds between the first signal and SIGKILL; 0 means the first signal is the last. */
  graceSeconds: number;
  /**
   * Line appended to the task's stderr log after a kill, as the real scheduler writes one, with
   * `{jobId}`, `{index}` and `{time}` (UTC, to the second) filled in. A string, so that a job is
   * plain data that can be stored and run later.
   */
  logLine?: string;
}

/** A fully resolved array job, ready to run. */
export interface Job {
  /** Which face built it; only shown in the summary and report. */
  scheduler: "sge" | "slurm";
  /** The array job id (`JOB_ID` / `SLURM_ARRAY_JOB_ID`). */
  jobId: string;
  /** The job name (`JOB_NAME` / `SLURM_JOB_NAME`). */
  jobName: string;
  /** Absolute path of the job script (for `qsub -b y`: the command). */
  scriptPath: string;
  /**
   * The copy of the script that runs, when the scheduler keeps one (a queued job must not see
   * the script change or vanish after submission, as real schedulers copy it); default scriptPath.
   */
  runPath?: string;
  /** Interpreter argv the script is handed to, e.g. `["/bin/sh"]`; the script path is appended. */
  shell: string[];
  /** Arguments after the script path. */
  scriptArgs: string[];
  /** Working directory of every array task. */
  cwd: string;
  /** The array tasks, in the order the scheduler would dispatch them. */
  tasks: ArrayTask[];
  /** At most this many array tasks of this job run at once (`-tc`, `%N`); undefined: no limit. */
  throttle?: number;
  /** Run-time limit per array task; undefined means unlimited. */
  timeLimit?: TimeLimit;
  /** Append to existing log files (SGE) instead of truncating them (Slurm's default). */
  appendLogs: boolean;
  /**
   * Each task leads a process group of its own, so that a cancel (`scancel`, `qdel`) reaches the
   * processes it started. Always so with a time limit.
   */
  ownGroups?: boolean;
}

/** What happened to one array task. */
export interface TaskOutcome {
  /** The array index. */
  index: number;
  /** The array task's own job id. */
  jobId: string;
  /** Exit code as a shell would report it (128+N when killed by signal N). */
  exitCode: number;
  /** Name of the signal that ended the task, or null. */
  signal: string | null;
  /** True when the fake killed the task for exceeding the run-time limit. */
  timedOut: boolean;
  /** Wall-clock milliseconds from start to exit. */
  durationMs: number;
  /** Path of the stdout log. */
  log: string;
  /** Path of the stderr log (same as `log` when merged). */
  errorLog: string;
}

/** The outcome of a whole job, as the summary prints it and `--report` writes it. */
export interface JobOutcome {
  /** "sge" or "slurm". */
  scheduler: "sge" | "slurm";
  /** The array job id. */
  jobId: string;
  /** The job name. */
  jobName: string;
  /** The script that ran. */
  script: string;
  /** Number of array tasks run. */
  tasksRun: number;
  /** Array-task ids that exited non-zero or were killed, as `3,17-20` (inclusive runs), or "". */
  failed: string;
  /** Array-task ids killed for exceeding the time limit, as `3,17-20`, or "". */
  timedOut: string;
  /** The slowest array task, or null when none ran. */
  slowest: { index: number; durationMs: number } | null;
  /** Wall-clock milliseconds for the whole job. */
  durationMs: number;
  /** The first array task to fail, in completion order (`qsub -sync y` exits with it), or null. */
  firstFailure: TaskOutcome | null;
  /** One outcome per array task, sorted by index. */
  tasks: TaskOutcome[];
}

/** An error caused by bad input; the command prints its message on one line and exits non-zero. */
export class UsageError extends Error {
  /**
   * Create a usage error with a one-line message and the exit code the real command gives for
   * it (qsub exits 7 for a bad `-t`, 2 for a `/` in `-N`; most refusals exit 1).
   */
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parse a positive integer option value or throw a one-line error naming `what`. */
export function parsePositiveInt(value: string, what: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${what} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/**
 * Write array-task ids the way the schedulers write their ranges: inclusive runs joined by a dash,
 * as in Slurm's `--array` list syntax, e.g. `[3, 17, 18, 19, 20]` → `"3,17-20"` (pasteable into
 * `sbatch --array=`). Never `a:b`: in arrayjob that is a Python slice, with `b` excluded.
 */
export function formatArrayIds(ids: Iterable<number>): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

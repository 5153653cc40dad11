/**
 * Scheduler-agnostic core of the fake scheduler: takes a fully resolved job description (one entry
 * per array task: index, environment, log paths), runs the tasks as local processes in parallel on
 * a bounded number of slots, enforces the run-time limit, and collects one record per task plus a
 * summary. The dialect faces (`qsub.ts`, `sbatch.ts`) only translate their options into a
 * {@link JobDescription} and format their own output; nothing here knows about `#$` or `#SBATCH`.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, open, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { type Runner, runnerCanRun, startRunner } from "./runner.ts";

/** One array task as the core runs it: everything dialect-specific is already resolved. */
export interface TaskSpec {
  /** The array index the scheduler gives this task (`SGE_TASK_ID` / `SLURM_ARRAY_TASK_ID`). */
  index: number;
  /** The job id this task reports as its own (Slurm gives each array task its own id). */
  jobId: string;
  /** The complete environment of the task process (nothing is inherited implicitly). */
  env: Record<string, string>;
  /** Absolute path of the file that receives the task's stdout. */
  stdoutPath: string;
  /** Absolute path of the file for stderr, or `null` when stderr is merged into stdout. */
  stderrPath: string | null;
  /** A scratch directory created before the task starts and removed after it ends (SGE's TMP). */
  tmpDir?: string;
}

/** What to do when a task outlives its run-time limit. */
export interface TimeLimit {
  /** Allowed wall-clock seconds per task. */
  seconds: number;
  /** Signal sent first when the limit is hit (SGE: SIGKILL for h_rt; Slurm: SIGTERM). */
  signal: Deno.Signal;
  /** Seconds between the first signal and SIGKILL; 0 means the first signal is the last. */
  graceSeconds: number;
  /** Line appended to the task's stderr log after a kill, as the real scheduler writes one. */
  logLine?: (task: TaskSpec) => string | undefined;
}

/** A fully resolved array job, ready to run. */
export interface JobDescription {
  /** Which face built it; only used in the summary and report. */
  scheduler: "sge" | "slurm";
  /** The array job id (`JOB_ID` / `SLURM_ARRAY_JOB_ID`). */
  jobId: string;
  /** The job name (`JOB_NAME` / `SLURM_JOB_NAME`). */
  jobName: string;
  /** Absolute path of the job script. */
  scriptPath: string;
  /** Interpreter argv the script is handed to, e.g. `["/bin/sh"]`; the script path is appended. */
  shell: string[];
  /** Arguments after the script path. */
  scriptArgs: string[];
  /** Working directory of every task. */
  cwd: string;
  /** The tasks, in the order the scheduler would dispatch them. */
  tasks: TaskSpec[];
  /** At most this many tasks of this job run at once (`-tc`, `%N`); undefined means no limit. */
  throttle?: number;
  /** Run-time limit per task; undefined means unlimited. */
  timeLimit?: TimeLimit;
  /** Append to existing log files (SGE) instead of truncating them (Slurm's default). */
  appendLogs: boolean;
}

/** What happened to one task. */
export interface TaskRecord {
  /** The array index. */
  index: number;
  /** The task's own job id. */
  jobId: string;
  /** Exit code as a shell would report it (128+N when killed by signal N). */
  exitCode: number;
  /** Name of the signal that ended the task, or null. */
  signal: string | null;
  /** True when the fake killed the task for exceeding the run-time limit. */
  timedOut: boolean;
  /** Wall-clock milliseconds from spawn to exit. */
  durationMs: number;
  /** Path of the stdout log. */
  log: string;
  /** Path of the stderr log (same as `log` when merged). */
  errorLog: string;
}

/** The outcome of a whole job, as printed in the summary and written by `--report`. */
export interface JobReport {
  /** "sge" or "slurm". */
  scheduler: "sge" | "slurm";
  /** The array job id. */
  jobId: string;
  /** The job name. */
  jobName: string;
  /** The script that ran. */
  script: string;
  /** Number of tasks run. */
  tasksRun: number;
  /** Array-task ids that exited non-zero or were killed, as `3,17-20` (inclusive runs), or "". */
  failed: string;
  /** Array-task ids killed for exceeding the time limit, as `3,17-20`, or "". */
  timedOut: string;
  /** The slowest task, or null when no task ran. */
  slowest: { index: number; durationMs: number } | null;
  /** Wall-clock milliseconds for the whole job. */
  durationMs: number;
  /** The first task to fail, in completion order (qsub -sync y reports its exit code), or null. */
  firstFailure: TaskRecord | null;
  /** One record per task, sorted by index. */
  tasks: TaskRecord[];
  /** For a script rendered by arrayjob: the task-level view of its records, over all runs. */
  arrayjob?: ArrayjobTasks;
}

/** Some of a job's tasks: how many, and which as a `--tasks` list (`3,17:20`), or "" for none. */
export interface TaskGroup {
  /** How many tasks. */
  count: number;
  /** The tasks as arrayjob's `--tasks` spec: Python slices, `17:20` is 17, 18, 19. */
  tasks: string;
}

/**
 * What arrayjob's records (`<outputDir>/records/`, read by mod.ts `jobStatus`) say about the tasks
 * of a job, after this run and every earlier one: each task is in exactly one group.
 */
export interface ArrayjobTasks {
  /** The job's output directory, the one holding `arrayjob.json`. */
  dir: string;
  /** Tasks in the job's full list. */
  numTasks: number;
  /** Record files read: one per array task that started, in any run. */
  records: number;
  /** Tasks that succeeded in some run. */
  done: TaskGroup;
  /** Tasks that never succeeded and failed at least once. */
  failed: TaskGroup;
  /** Tasks never started, or started by an array task killed before it recorded its end. */
  neverFinished: TaskGroup;
}

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

  /** Whether someone is waiting for a slot. */
  get contended(): boolean {
    return this.#waiting.length > 0;
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
  /** Number of parallel slots, or a pool shared with other jobs. Default: CPU count. */
  slots?: number | SlotPool;
  /** Called after each task finishes (used for the terminal progress line). */
  onTaskDone?: (record: TaskRecord, done: number, total: number, failed: number) => void;
  /**
   * Whether tasks are started by a runner process per slot (fake_scheduler/runner.ts) rather than
   * by this process: "auto" (the default) for a long job on Linux with Python 3.8+, "always"
   * whenever Python is found, "never". Default: `ARRAYJOB_FAKE_RUNNER`, else "auto".
   */
  runner?: "auto" | "always" | "never";
}

/** Default slot count: `ARRAYJOB_FAKE_SLOTS` if set, else the number of CPUs. */
export function defaultSlots(): number {
  const fromEnv = Deno.env.get("ARRAYJOB_FAKE_SLOTS");
  if (fromEnv !== undefined && fromEnv !== "") {
    return parsePositiveInt(fromEnv, "ARRAYJOB_FAKE_SLOTS");
  }
  return navigator.hardwareConcurrency || 1;
}

/** Parse a positive integer option value or throw a one-line error naming `what`. */
export function parsePositiveInt(value: string, what: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) {
    throw new UsageError(`${what} must be a positive integer, got '${value}'`);
  }
  return Number(value);
}

/** An error caused by bad input; the CLI prints its message on one line and exits non-zero. */
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

// Each task's stdout and stderr are its log files, opened here and handed to the child as its
// descriptors: output goes from the kernel straight into the file, nothing passes through this
// process, and the script's interpreter is the only program started (a `sh -c 'exec >LOG ...'`
// wrapper started two, which cost a third of each task's time).
const LOG_FLAGS = { truncate: "w", append: "a" } as const;

// Running task processes (pid → whether it leads its own process group), so that an interrupted
// fake can take its tasks down with it instead of leaving them running unsupervised.
const live = new Map<number, boolean>();

/** Send `signal` to every running task (and its process group where it has one). */
export function killAllTasks(signal: Deno.Signal = "SIGKILL"): void {
  for (const [pid, group] of live) {
    try {
      Deno.kill(group ? -pid : pid, signal);
    } catch {
      // Already gone.
    }
  }
}

// The runners (runner.ts) of the jobs running now, so that an interrupted fake can stop them too.
const runnersAlive = new Set<Runner>();

/**
 * On SIGINT/SIGTERM, kill every running task and exit 130/143, as a shell would. Command-line
 * entry points call this; library callers keep control of their own signals.
 */
export function exitWithTasksOnSignal(): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(signal, () => {
      killAllTasks("SIGKILL");
      // A runner's SIGTERM kills its task too, also one whose pid has not reached us yet.
      for (const runner of runnersAlive) {
        try {
          Deno.kill(runner.pid, "SIGTERM");
        } catch {
          // Gone already.
        }
      }
      for (const dir of tmpDirsMade) removeTmp(dir);
      Deno.exit(code);
    });
  }
}

// Below this many tasks per slot a job spawns its tasks itself: starting a runner takes about
// 10 ms, and a runner saves about 0.2 ms per task.
const RUNNER_MIN_TASKS_PER_SLOT = 64;

// Whether the job's tasks go through runners (RunOptions.runner). Auto: a long job on Linux
// (elsewhere a `python3` may be a stub that offers to install one).
function wantRunners(job: JobDescription, workers: number, option?: string): boolean {
  const setting = option ?? (Deno.env.get("ARRAYJOB_FAKE_RUNNER") || "auto");
  if (!["auto", "always", "never"].includes(setting)) {
    throw new UsageError(
      `ARRAYJOB_FAKE_RUNNER must be one of auto, always, never, got '${setting}'`,
    );
  }
  if (setting === "never" || job.tasks.length === 0) return false;
  if (setting !== "always") {
    if (Deno.build.os !== "linux") return false;
    if (job.tasks.length < RUNNER_MIN_TASKS_PER_SLOT * workers) return false;
  }
  return job.tasks.every((task) => runnerCanRun(task.env));
}

// One runner per worker, or undefined when one cannot be started: then the job spawns its tasks.
async function startRunners(count: number): Promise<Runner[] | undefined> {
  const started = await Promise.all(Array.from({ length: count }, startRunner));
  const runners = started.filter((runner) => runner !== undefined);
  if (runners.length < count) {
    await Promise.all(runners.map((runner) => runner.close()));
    return undefined;
  }
  for (const runner of runners) runnersAlive.add(runner);
  return runners;
}

async function stopRunners(runners: Runner[]): Promise<void> {
  await Promise.all(runners.map((runner) => runner.close()));
  for (const runner of runners) runnersAlive.delete(runner);
}

// The program and arguments every task of the job runs.
const taskArgv = (job: JobDescription) => [...job.shell, job.scriptPath, ...job.scriptArgs];

// With a time limit a task gets a process group of its own, so the kill reaches its children (a
// `sleep` started by the script) and not just the shell. Only then: a spawn that detaches forks
// the whole of this process, and without one Ctrl-C on the terminal reaches the tasks.
const detaches = (job: JobDescription) => job.timeLimit !== undefined;

// Start one task from this process and see it to its end.
async function runTask(
  job: JobDescription,
  task: TaskSpec,
  tmpDirs: TmpDirs,
  early?: Promise<Logs | undefined>,
): Promise<TaskRecord> {
  if (task.tmpDir) tmpDirs.take(task.tmpDir);
  const started = performance.now();
  const launched = await spawnTask(job, task, taskArgv(job), detaches(job), early);
  return await superviseTask(job, task, tmpDirs, launched, started);
}

// Queue a task on a runner: its TMP is made now, as the runner may start it any moment.
async function queueTask(
  runner: Runner,
  job: JobDescription,
  task: TaskSpec,
  tmpDirs: TmpDirs,
): Promise<void> {
  if (task.tmpDir) tmpDirs.take(task.tmpDir);
  await runner.queue({
    argv: taskArgv(job),
    cwd: job.cwd,
    env: task.env,
    stdoutPath: task.stdoutPath,
    stderrPath: task.stderrPath,
    append: job.appendLogs,
    newSession: detaches(job),
  });
}

// The queued task's start as the runner reports it, for superviseTask.
async function startedOnRunner(runner: Runner): Promise<Launched> {
  const start = await runner.started();
  if (!("pid" in start)) return fromWaitStatus(start.status);
  const exited = start.exited.then((reaped) => ({
    ...fromWaitStatus(reaped.status),
    durationMs: reaped.durationMs,
  }));
  return { pid: start.pid, exited };
}

// Enforce the time limit on a started task, wait for its end, and make its record.
async function superviseTask(
  job: JobDescription,
  task: TaskSpec,
  tmpDirs: TmpDirs,
  launched: Launched,
  started: number,
): Promise<TaskRecord> {
  const errorLog = task.stderrPath ?? task.stdoutPath;
  const record = (status: ExitStatus, timedOut: boolean, durationMs: number): TaskRecord => ({
    index: task.index,
    jobId: task.jobId,
    exitCode: status.code,
    signal: status.signal,
    timedOut,
    durationMs: Math.round(durationMs * 10) / 10,
    log: task.stdoutPath,
    errorLog,
  });
  if (!("exited" in launched)) {
    if (task.tmpDir) tmpDirs.give(task.tmpDir);
    return record(launched, false, performance.now() - started);
  }
  const { pid, exited } = launched;
  const detached = detaches(job);
  live.set(pid, detached);
  let timedOut = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const killGroup = (signal: Deno.Signal) => {
    try {
      if (detached) Deno.kill(-pid, signal);
    } catch {
      // The group may already be gone; that is the outcome we wanted.
    }
  };
  if (job.timeLimit) {
    const limit = job.timeLimit;
    timers.push(setTimeout(() => {
      timedOut = true;
      killGroup(limit.signal);
      if (limit.graceSeconds > 0 && limit.signal !== "SIGKILL") {
        timers.push(setTimeout(() => killGroup("SIGKILL"), limit.graceSeconds * 1000));
      }
    }, limit.seconds * 1000));
  }
  let status: ExitStatus & { durationMs?: number };
  try {
    status = await exited;
  } finally {
    live.delete(pid);
    for (const t of timers) clearTimeout(t);
  }
  if (timedOut) killGroup("SIGKILL"); // leftovers of the group must not outlive a killed task
  const durationMs = status.durationMs ?? performance.now() - started;
  if (task.tmpDir) tmpDirs.give(task.tmpDir);
  if (timedOut && job.timeLimit?.logLine) {
    const line = job.timeLimit.logLine(task);
    if (line) await Deno.writeTextFile(errorLog, line + "\n", { append: true });
  }
  return record(status, timedOut, durationMs);
}

/** A task process that has started (its end may bring its own duration), or one that never could. */
type Launched =
  | { pid: number; exited: Promise<ExitStatus & { durationMs?: number }> }
  | ExitStatus;

// A wait status as a shell reports it: the exit code, or 128+N for signal N.
function fromWaitStatus(status: number): ExitStatus {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: 128 + signal, signal: SIGNAL_NAMES.get(signal) ?? null };
}

const SIGNAL_NAMES = new Map(
  Object.entries(osConstants.signals).map(([name, number]) => [number, name]),
);

// Spawn the task from this process, with its log files as its stdout and stderr.
async function spawnTask(
  job: JobDescription,
  task: TaskSpec,
  argv: string[],
  detached: boolean,
  early?: Promise<Logs | undefined>,
): Promise<Launched> {
  // Logs opened ahead (see runArrayJob) are normally ready by now; a failed early open is retried
  // here, at the task's start, so that the outcome is the one opening them now would give.
  const opened = early === undefined ? undefined : await early;
  const logs = opened ?? openLogs(task, job.appendLogs);
  // As when a shell's `exec >LOG` fails: the script never starts, status 2.
  if (typeof logs === "string") return { code: 2, signal: null };
  let child: ChildProcess;
  try {
    child = spawn(argv[0], argv.slice(1), {
      cwd: job.cwd,
      env: task.env,
      stdio: ["ignore", logs.out, logs.err],
      detached,
    });
  } finally {
    // The child holds its own copies of the descriptors now.
    closeSync(logs.out);
    if (logs.err !== logs.out) closeSync(logs.err);
  }
  const errorLog = task.stderrPath ?? task.stdoutPath;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      resolve(
        signal === null
          ? { code: code ?? 0, signal: null }
          : { code: 128 + (osConstants.signals[signal] ?? 0), signal },
      );
    });
    // Only when the program could not be started at all (no such file, not executable): the
    // status and the message a shell's `exec` gives then, in the task's error log.
    child.once("error", (e: NodeJS.ErrnoException) => {
      const notFound = e.code === "ENOENT";
      const why = notFound ? "not found" : (e.code === "EACCES" ? "Permission denied" : e.message);
      try {
        Deno.writeTextFileSync(errorLog, `exec: ${argv[0]}: ${why}\n`, { append: true });
      } catch {
        // The log was writable a moment ago; the status below still tells what happened.
      }
      resolve({ code: notFound ? 127 : 126, signal: null });
    });
  });
  // Without a pid the spawn failed and "error" above tells how.
  return child.pid === undefined ? await exited : { pid: child.pid, exited };
}

/** How a task process ended: a shell's exit status (128+N for signal N) and the signal's name. */
interface ExitStatus {
  code: number;
  signal: string | null;
}

/** A task's open log descriptors (`err` is `out` when merged), or why they could not be opened. */
type Logs = { out: number; err: number } | string;

// Open the task's log files as a shell's `>` or `>>` would (created 0666 less the umask); stderr
// shares stdout's descriptor when merged. A string is the error when one cannot be opened.
function openLogs(task: TaskSpec, append: boolean): Logs {
  const flags = append ? LOG_FLAGS.append : LOG_FLAGS.truncate;
  let out: number | undefined;
  try {
    out = openSync(task.stdoutPath, flags);
    const err = task.stderrPath === null ? out : openSync(task.stderrPath, flags);
    return { out, err };
  } catch (e) {
    if (out !== undefined) closeSync(out);
    return (e as Error).message;
  }
}

// The same as openLogs, off the main thread (creating a file on ext4 takes 0.2–0.6 ms, which the
// next task's start would otherwise wait for); undefined when a file cannot be opened, so that the
// task's start tries again and sees the error as it is then.
async function openLogsEarly(task: TaskSpec, append: boolean): Promise<Logs | undefined> {
  const flags = append ? LOG_FLAGS.append : LOG_FLAGS.truncate;
  const openAsync = (path: string) =>
    new Promise<number>((resolve, reject) =>
      open(path, flags, 0o666, (e, fd) => e ? reject(e) : resolve(fd))
    );
  let out: number | undefined;
  try {
    out = await openAsync(task.stdoutPath);
    const err = task.stderrPath === null ? out : await openAsync(task.stderrPath);
    return { out, err };
  } catch {
    if (out !== undefined) closeSync(out);
    return undefined;
  }
}

// The log paths that more than one open of this job's would touch (two tasks, or a task's `-o`
// and `-e`): such a log is opened only when its task starts, so that it is truncated after the
// task before it has ended, as it would be without opening ahead.
function sharedLogPaths(tasks: TaskSpec[]): Set<string> {
  const seen = new Set<string>();
  const shared = new Set<string>();
  for (const task of tasks) {
    for (const path of [task.stdoutPath, task.stderrPath]) {
      if (path === null) continue;
      if (seen.has(path)) shared.add(path);
      else seen.add(path);
    }
  }
  return shared;
}

/**
 * The scratch directories (SGE's TMP) of one job's tasks. A finished task's directory, when it is
 * left empty and as it was made, is renamed to the next task's name instead of being removed and
 * another made: on ext4 a mkdir and rmdir pair costs five times a rename, and every inode freed
 * makes each later file creation on the disk search further for a free one. Synchronous on
 * purpose: the async calls cost twice the CPU, which shows at 10^4 tasks.
 */
class TmpDirs {
  #free: string[] = [];
  #made?: { mode: number | null; uid: number | null };

  /** Make `path` an empty directory for a task about to start. */
  take(path: string): void {
    const free = this.#free.pop();
    if (free !== undefined) {
      try {
        Deno.renameSync(free, path);
        tmpDirsMade.delete(free);
        tmpDirsMade.add(path);
        return;
      } catch {
        removeTmp(free); // the name is taken by a non-empty directory: make a fresh one below
      }
    }
    Deno.mkdirSync(path, { recursive: true });
    tmpDirsMade.add(path);
    if (this.#made === undefined) {
      const made = Deno.lstatSync(path);
      this.#made = { mode: made.mode, uid: made.uid };
    }
  }

  /** The task that had `path` has ended: keep the directory for the next task, or remove it. */
  give(path: string): void {
    try {
      const info = Deno.lstatSync(path);
      if (
        info.isDirectory && info.mode === this.#made?.mode && info.uid === this.#made?.uid &&
        Deno.readDirSync(path)[Symbol.iterator]().next().done
      ) {
        this.#free.push(path);
        return;
      }
    } catch {
      // Gone or unreadable: removeTmp below does what can be done.
    }
    removeTmp(path);
  }

  /** Remove the directories kept for tasks that never came: call when the job has ended. */
  clear(): void {
    for (const path of this.#free.splice(0)) removeTmp(path);
  }
}

// Every TMP directory the fake made and has not removed yet (in use, or kept for the next task),
// so that an interrupted fake removes them, as Grid Engine's execd removes a deleted job's.
const tmpDirsMade = new Set<string>();

function removeTmp(dir: string): void {
  tmpDirsMade.delete(dir);
  try {
    Deno.removeSync(dir); // the common case: the task left its TMP empty
  } catch {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Gone already, or not ours to remove: a leftover scratch directory harms nothing.
    }
  }
}

/**
 * Run every task of `job` once, at most `slots` (and at most `job.throttle`) at a time, and return
 * the report. Throws only when a task cannot be started at all (e.g. a missing shell); a task that
 * fails is recorded, not thrown.
 */
export async function runArrayJob(
  job: JobDescription,
  options: RunOptions = {},
): Promise<JobReport> {
  const pool = options.slots instanceof SlotPool
    ? options.slots
    : new SlotPool(options.slots ?? defaultSlots());
  const started = performance.now();
  const records: TaskRecord[] = [];
  let next = 0;
  let failed = 0;
  let firstFailure: TaskRecord | null = null;
  const total = job.tasks.length;
  const workers = Math.max(1, Math.min(job.throttle ?? total, total, pool.size));
  const tmpDirs = new TmpDirs();
  // One runner per worker starts that worker's tasks (runner.ts); else the workers spawn them.
  const runners = wantRunners(job, workers, options.runner)
    ? await startRunners(workers)
    : undefined;
  // The next few tasks' logs are opened ahead, while the running tasks run, so that a slot that
  // frees up starts its next task without waiting for the file system (see openLogsEarly).
  const shared = sharedLogPaths(job.tasks);
  const early = new Map<number, Promise<Logs | undefined>>();
  const openAhead = () => {
    if (runners) return; // a runner opens its tasks' logs itself, as each starts
    for (let i = next; i < Math.min(next + workers, total); i++) {
      const task = job.tasks[i];
      if (
        early.has(i) || shared.has(task.stdoutPath) ||
        (task.stderrPath !== null && shared.has(task.stderrPath))
      ) continue;
      early.set(i, openLogsEarly(task, job.appendLogs));
    }
  };
  const done = (record: TaskRecord) => {
    records.push(record);
    if (record.exitCode !== 0) {
      failed++;
      firstFailure ??= record;
    }
    options.onTaskDone?.(record, records.length, total, failed);
  };
  const worker = async () => {
    while (next < total) {
      const at = next++;
      const task = job.tasks[at];
      const logs = early.get(at);
      early.delete(at);
      openAhead();
      await pool.acquire();
      let record: TaskRecord;
      try {
        record = await runTask(job, task, tmpDirs, logs);
      } finally {
        pool.release();
      }
      done(record);
    }
  };
  // A worker with a runner queues its next task on the runner as soon as the current one has
  // started, so that the runner starts it the moment the current one ends. It keeps its slot from
  // one task to the next meanwhile, unless another job waits for a slot: then it gives it back
  // between tasks, as a worker without a runner does.
  const runnerWorker = async (runner: Runner) => {
    if (next >= total) return;
    let task: TaskSpec | undefined = job.tasks[next++];
    await pool.acquire();
    try {
      await queueTask(runner, job, task, tmpDirs);
      while (task !== undefined) {
        const launched = await startedOnRunner(runner);
        const started = performance.now();
        let following: TaskSpec | undefined;
        if (next < total && !pool.contended) {
          following = job.tasks[next++];
          await queueTask(runner, job, following, tmpDirs);
        }
        done(await superviseTask(job, task, tmpDirs, launched, started));
        if (following === undefined && next < total) {
          following = job.tasks[next++];
          pool.release();
          await pool.acquire();
          await queueTask(runner, job, following, tmpDirs);
        }
        task = following;
      }
    } finally {
      pool.release();
    }
  };
  try {
    await Promise.all(
      runners
        ? runners.map(runnerWorker)
        : Array.from({ length: total === 0 ? 0 : workers }, worker),
    );
  } finally {
    tmpDirs.clear();
    if (runners) await stopRunners(runners);
    // Only after a throw: logs opened for tasks that never started.
    for (const logs of await Promise.all(early.values())) {
      if (logs === undefined || typeof logs === "string") continue;
      closeSync(logs.out);
      if (logs.err !== logs.out) closeSync(logs.err);
    }
  }
  records.sort((a, b) => a.index - b.index);
  let slowest: JobReport["slowest"] = null;
  for (const r of records) {
    if (!slowest || r.durationMs > slowest.durationMs) {
      slowest = { index: r.index, durationMs: r.durationMs };
    }
  }
  return {
    scheduler: job.scheduler,
    jobId: job.jobId,
    jobName: job.jobName,
    script: job.scriptPath,
    tasksRun: records.length,
    failed: formatArrayIds(records.filter((r) => r.exitCode !== 0).map((r) => r.index)),
    timedOut: formatArrayIds(records.filter((r) => r.timedOut).map((r) => r.index)),
    slowest,
    durationMs: Math.round(performance.now() - started),
    firstFailure,
    tasks: records,
  };
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

/** Human summary of a report, a few lines for stderr. `prefix` names the face, e.g. "fake qsub". */
export function formatSummary(report: JobReport, prefix: string): string {
  const failedCount = report.tasks.filter((t) => t.exitCode !== 0).length;
  const lines = [
    `${prefix}: job ${report.jobId} ("${report.jobName}"): ${report.tasksRun} task(s) run, ` +
    `${report.tasksRun - failedCount} ok, ${failedCount} failed, in ${
      (report.durationMs / 1000).toFixed(2)
    } s`,
  ];
  if (failedCount > 0) {
    const first = report.tasks.find((t) => t.exitCode !== 0) as TaskRecord;
    lines.push(
      `${prefix}: failed array tasks: ${report.failed} (first: task ${first.index} ${
        describeExit(first)
      }, log ${first.errorLog})`,
    );
  }
  if (report.timedOut) {
    lines.push(`${prefix}: killed for exceeding the run-time limit: ${report.timedOut}`);
  }
  if (report.slowest) {
    lines.push(
      `${prefix}: slowest task: ${report.slowest.index} (${
        (report.slowest.durationMs / 1000).toFixed(2)
      } s)`,
    );
  }
  return lines.join("\n");
}

/** "exit 3", "killed by SIGKILL", or "killed by SIGKILL after the time limit". */
export function describeExit(record: TaskRecord): string {
  if (record.timedOut) return `killed by ${record.signal ?? "signal"} at the run-time limit`;
  if (record.signal) return `killed by ${record.signal}`;
  return `exit ${record.exitCode}`;
}

/** A progress callback that redraws one status line on a terminal. */
export function terminalProgress(prefix: string): RunOptions["onTaskDone"] {
  const encoder = new TextEncoder();
  let last = 0;
  return (_record, done, total, failed) => {
    // At most ten redraws a second: with thousands of short tasks the terminal is the bottleneck.
    const now = performance.now();
    if (done !== total && done !== 1 && now - last < 100) return;
    last = now;
    const line = `\r${prefix}: ${done}/${total} done, ${failed} failed`;
    Deno.stderr.writeSync(encoder.encode(done === total ? line + "\n" : line));
  };
}

let lastJobId = 0;

/**
 * Reserve `count` consecutive job ids and return the first. Ids start at a random point so that
 * two fake runs in the same directory are unlikely to write the same log file names.
 */
export function allocateJobIds(count = 1): number {
  if (lastJobId === 0) {
    const fixed = Deno.env.get("ARRAYJOB_FAKE_FIRST_JOB_ID");
    lastJobId = fixed ? parsePositiveInt(fixed, "ARRAYJOB_FAKE_FIRST_JOB_ID") - 1 : 10000 +
      Math.floor(Math.random() * 80000);
  }
  const first = lastJobId + 1;
  lastJobId += count;
  return first;
}

/** Minimal I/O sinks, so faces can run in-process (tests) without writing to the real terminal. */
export interface FaceIO {
  /** Receives what the real command prints on stdout (submission line), one line per call. */
  stdout: (line: string) => void;
  /** Receives diagnostics and the summary, one or more lines per call. */
  stderr: (text: string) => void;
  /** Show a live progress line (only sensible on a terminal). */
  progress: boolean;
}

/** The I/O of a real command: console output, progress only when stderr is a terminal. */
export function consoleIO(): FaceIO {
  return {
    stdout: (line) => console.log(line),
    stderr: (text) => console.error(text),
    progress: Deno.stderr.isTerminal(),
  };
}

/** I/O that collects everything into arrays (for tests and library callers). */
export function captureIO(): FaceIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(l), stderr: (t) => err.push(t), progress: false };
}

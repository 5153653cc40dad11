/**
 * Submitting into the spool and running a spooled job, as a scheduler daemon would: the command
 * line `qsub`/`sbatch` records the job (`spool.ts`), prints the real submission line and returns at
 * once, leaving a detached runner (`runner.ts`) to start its array tasks as slots free up; with
 * `-sync y`/`--wait` the command runs them itself and prints what the real one prints meanwhile.
 * Either way the tasks of every job of the spool share its slots, each task leads a process group
 * of its own (so `scancel`/`qdel` stop all it started), and a held or not-yet-begun task waits.
 *
 * @example A job through the spool, waited for
 * ```ts
 * import { captureIO } from "./io.ts";
 * import { SLURM } from "./slurm.ts";
 * import { queueSubmit } from "./queue.ts";
 * import { Spool } from "./spool.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = Deno.makeTempDirSync();
 * Deno.writeTextFileSync(`${dir}/ok.sh`, "#!/bin/sh\nexit 0\n");
 * const spool = new Spool(`${dir}/spool`);
 * const io = captureIO();
 * const code = await queueSubmit(SLURM, ["--wait", "--parsable", "--array=0-2", "ok.sh"], {
 *   io, cwd: dir, spool,
 * });
 * assert.equal(code, 0);
 * const job = spool.read(io.out[0])!;
 * assert.deepEqual(job.tasks.map((t) => t.state), ["COMPLETED", "COMPLETED", "COMPLETED"]);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { spawn } from "node:child_process";
import { Cleanup, consoleMain } from "./cleanup.ts";
import { currentContext, type Face, processJobIds } from "./face.ts";
import { consoleIO, type FaceIO } from "./io.ts";
import type { ArrayTask, Job, TaskOutcome } from "./job.ts";
import type { Parsed } from "./options.ts";
import { reportJob, watchRun } from "./report.ts";
import { defaultSlots, outcomeOf, SlotPool } from "./run.ts";
import { ended, killTask, Spool, type SpoolJob, type SpoolTask } from "./spool.ts";
import { runTask } from "./start.ts";
import { TmpDirs } from "./tmp.ts";
import { accept } from "./submit.ts";

/** How often a waiting job looks for a free slot, a release or its begin time (ms). */
const POLL_MS = 150;

/** Jobs that ended longer ago than this are forgotten (Slurm's MinJobAge is 300 s; qacct keeps more). */
const KEEP_MS = 24 * 3600 * 1000;

/** Options of {@link queueSubmit}. */
export interface QueueOptions {
  /** Output sinks; default: the console. */
  io?: FaceIO;
  /** Submit directory; default: the process's cwd. */
  cwd?: string;
  /** Submit environment; default: the process's environment. */
  env?: Record<string, string>;
  /** The spool; default: this user's ({@link Spool}). */
  spool?: Spool;
  /** What Ctrl-C undoes while this process runs tasks. */
  cleanup?: Cleanup;
  /** Start the detached runner (default) or, false, leave the job queued for a test to run. */
  detach?: boolean;
}

/**
 * `qsub`/`sbatch` on the spool: accept the job, record it, print the submission line, then either
 * wait for it (running its tasks here) or start a detached runner; return the exit code.
 */
export async function queueSubmit<Req extends Parsed>(
  face: Face<Req>,
  args: string[],
  options: QueueOptions = {},
): Promise<number> {
  const env = options.env ?? Deno.env.toObject();
  const io = quietly(options.io ?? consoleIO(), face.prefix, env.ARRAYJOB_FAKE_QUIET);
  const spool = options.spool ?? new Spool();
  const cwd = options.cwd ?? Deno.cwd();
  let words = args;
  try {
    words = face.expandArgs?.(args, spool.dir, cwd) ?? args;
  } catch (e) {
    io.stderr(`${face.prefix}: error: ${(e as Error).message}`);
    return 1;
  }
  // A fixed first id (tests) keeps its old meaning: this process's ids start there.
  const jobIds = env.ARRAYJOB_FAKE_FIRST_JOB_ID
    ? processJobIds(env.ARRAYJOB_FAKE_FIRST_JOB_ID)
    : { next: (count: number) => spool.nextIds(count) };
  const accepted = await accept(face, words, {
    io,
    cwd,
    env,
    jobIds,
    deferLogDirs: (req) => !face.waits(req as Req),
  });
  if ("exitCode" in accepted) return accepted.exitCode;
  const { req, job } = accepted;
  const check = face.validateOnly(req, job, {
    submitDir: accepted.submitDir,
    env,
    user: "",
    home: "",
    host: Deno.hostname(),
  });
  if (check) {
    for (const line of check.stdout) io.stdout(line);
    for (const line of check.stderr) io.stderr(line);
    return 0;
  }
  if (face.readsScript(words)) {
    // Real schedulers keep a copy (SGE: job_scripts/ID): the file may change or go right after.
    const copy = `${spool.dir}/job_scripts/${job.jobId}`;
    Deno.mkdirSync(`${spool.dir}/job_scripts`, { recursive: true });
    Deno.copyFileSync(job.scriptPath, copy);
    job.runPath = copy;
    for (const t of job.tasks) if (t.env.JOB_SCRIPT !== undefined) t.env.JOB_SCRIPT = copy;
  }
  const q = face.queued(req, job);
  const user = currentContext(cwd, env).user;
  // A process group per task lets a cancel reach the task's children, but a detached spawn forks
  // the whole runner (2.7x the cost per task of `true`, measured with 200 tasks): a job waited for
  // keeps the old way (a cancel then stops the task's own process), a queued one pays it.
  job.ownGroups = !face.waits(req);
  const state: SpoolJob = {
    id: job.jobId,
    scheduler: face.scheduler,
    name: job.jobName,
    user,
    submitDir: accepted.submitDir,
    workDir: job.cwd,
    command: job.scriptPath,
    submitTime: Date.now(),
    array: job.tasks.length > 1 || job.tasks[0]?.env.SLURM_ARRAY_TASK_ID !== undefined ||
      (job.tasks[0]?.env.SGE_TASK_ID ?? "undefined") !== "undefined",
    throttle: job.throttle,
    partition: q.partition,
    queue: q.queue,
    slots: q.slots,
    step: q.step,
    cancelSignal: q.cancelSignal,
    beginTime: q.beginTime,
    timeLimit: q.timeLimit,
    tasks: job.tasks.map((t): SpoolTask => ({
      index: t.index,
      jobId: t.jobId,
      state: "PENDING",
      hold: q.hold,
      stdout: t.stdoutPath,
      stderr: t.stderrPath ?? undefined,
    })),
  };
  try {
    spool.prune(KEEP_MS);
  } catch {
    // Another command is pruning too.
  }
  spool.create(state, job);
  io.stdout(face.submitLine(req, job));
  const slots = slotCount(accepted.fake.slots);
  if (face.waits(req)) {
    const cleanup = options.cleanup ?? new Cleanup();
    spool.update(job.jobId, (s) => {
      s.runner = Deno.pid;
    });
    const started = performance.now();
    const onTask = face.onTask?.(req, job, io);
    const watch = watchRun(job, {
      io,
      prefix: face.prefix,
      submitDir: accepted.submitDir,
      cleanup,
    });
    let failed = 0;
    let done = 0;
    const outcomes = await runSpooled(spool, job, slots, cleanup, (outcome) => {
      onTask?.(outcome);
      if (outcome.exitCode !== 0) failed++;
      watch.done(outcome, ++done, job.tasks.length, failed);
    }, watch.started);
    watch.finish();
    const report = await reportJob(job, outcomeOf(job, outcomes, performance.now() - started), {
      io,
      prefix: face.prefix,
      submitDir: accepted.submitDir,
      reportFile: accepted.fake.report,
    });
    const code = face.exitCode(req, report);
    face.afterRun?.(report, io);
    return code;
  }
  if (options.detach !== false) startRunner(spool, job.jobId, slots, accepted.fake.report);
  return 0;
}

/**
 * With `ARRAYJOB_FAKE_QUIET` set (not empty or 0), the fake's own notes and summary are left
 * out, so that stdout and stderr are exactly what the real command prints; errors and warnings
 * stay.
 */
function quietly(io: FaceIO, prefix: string, quiet: string | undefined): FaceIO {
  if (!quiet || quiet === "0") return io;
  const own = new RegExp(`^${prefix}: `);
  return {
    ...io,
    progress: false,
    stderr: (text) => {
      if (!own.test(text) || /: (error|warning): /.test(text)) io.stderr(text);
    },
  };
}

function slotCount(slots: number | SlotPool | undefined): number {
  if (slots instanceof SlotPool) return slots.size;
  return slots ?? defaultSlots();
}

// The runner outlives this command: its own session, no terminal, nothing inherited to wait for.
function startRunner(spool: Spool, id: string, slots: number, report?: string): void {
  const runner = new URL("./runner.ts", import.meta.url).pathname;
  const args = [
    "run",
    "--allow-all",
    "--quiet",
    "--no-config",
    runner,
    spool.dir,
    id,
    String(slots),
  ];
  if (report) args.push(report);
  const child = spawn(Deno.execPath(), args, { detached: true, stdio: "ignore" });
  if (child.pid !== undefined) {
    spool.update(id, (s) => {
      s.runner ??= child.pid;
    });
  }
  child.unref();
}

/**
 * Run the array tasks of spooled `job` as the spool lets them start (free slots of `slots`
 * shared by every job of the spool, its throttle, holds, begin time) until every task has ended,
 * and return the outcomes of those that ran. A cancelled task ends CANCELLED.
 */
export async function runSpooled(
  spool: Spool,
  job: Job,
  slots: number,
  cleanup: Cleanup,
  onTaskDone?: (outcome: TaskOutcome) => void,
  onTaskStarted?: (task: ArrayTask, pid: number) => void,
): Promise<TaskOutcome[]> {
  const id = job.jobId;
  const tmpDirs = new TmpDirs(cleanup);
  const outcomes: TaskOutcome[] = [];
  const running = new Set<Promise<void>>();
  const byIndex = new Map(job.tasks.map((t) => [t.index, t]));
  const runOne = async (index: number, cancelSignal: Deno.Signal) => {
    const task = byIndex.get(index)!;
    const outcome = await runTask(job, task, tmpDirs, undefined, (pid) => {
      onTaskStarted?.(task, pid);
      // A cancel that came between the claim and the start finds no pid: it is honoured here.
      const state = spool.updateTask(id, index, (t) => {
        t.pid = pid;
      });
      if (state?.tasks.find((t) => t.index === index)?.cancelled) killTask(pid, cancelSignal);
    });
    spool.finish(id, index, (t) => {
      t.end = Date.now();
      delete t.pid;
      if (outcome.signal) t.signal = outcome.exitCode - 128;
      else t.exit = outcome.exitCode;
      t.state = t.cancelled
        ? "CANCELLED"
        : outcome.timedOut
        ? "TIMEOUT"
        : outcome.exitCode === 0
        ? "COMPLETED"
        : "FAILED";
    });
    outcomes.push(outcome);
    onTaskDone?.(outcome);
  };
  while (true) {
    const { job: state, started } = spool.claim(id, slots, (s, free) => {
      if (s.beginTime !== undefined && Date.now() < s.beginTime) return [];
      const runningNow = s.tasks.filter((t) => t.state === "RUNNING").length;
      const limit = Math.min(free, (s.throttle ?? Infinity) - runningNow);
      return limit > 0
        ? s.tasks.filter((t) => t.state === "PENDING" && !t.hold).slice(0, limit)
        : [];
    });
    if (state === undefined) break; // forgotten (pruned): nothing left to run
    for (const t of started) {
      const p: Promise<void> = runOne(t.index, state.cancelSignal).finally(() => running.delete(p));
      running.add(p);
    }
    if (running.size === 0 && state.tasks.every(ended)) break;
    await Promise.race([...running, new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  tmpDirs.clear();
  return outcomes;
}

/** The command-line `qsub`/`sbatch`: {@link queueSubmit} on the console, Ctrl-C undoing. */
export async function queueMain<Req extends Parsed>(
  face: Face<Req>,
  args: string[],
): Promise<number> {
  return await consoleMain(face.prefix, (cleanup) => queueSubmit(face, args, { cleanup }));
}

/**
 * Starting one array task and seeing it to its end: its script's interpreter is spawned directly
 * (no wrapper shell) with its log files as stdout and stderr, its exact environment, the job's
 * working directory and stdin `/dev/null`; the time limit is enforced; the outcome is recorded.
 *
 * A program that cannot be started gives what a shell's `exec` gives: 127 (not found) or 126 (not
 * executable) with the shell's message in the task's error log; a log that cannot be opened gives
 * status 2 and the task never runs, as when a shell's `exec >LOG` fails.
 *
 * @example
 * ```ts
 * import { Cleanup } from "./cleanup.ts";
 * import { runTask } from "./start.ts";
 * import { TmpDirs } from "./tmp.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = Deno.makeTempDirSync();
 * const task = { index: 1, jobId: "7", env: {}, stdoutPath: `${dir}/o.1`, stderrPath: null };
 * const job = {
 *   scheduler: "sge" as const, jobId: "7", jobName: "t", scriptPath: "/bin/false", shell: [],
 *   scriptArgs: [], cwd: dir, tasks: [task], appendLogs: false,
 * };
 * const outcome = await runTask(job, task, new TmpDirs(new Cleanup()));
 * assert.equal(outcome.exitCode, 1);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import type { ArrayTask, Job, TaskOutcome } from "./job.ts";
import { closeLogs, type Logs, openLogs } from "./logs.ts";
import type { TmpDirs } from "./tmp.ts";

/** How a task process ended: a shell's exit status (128+N for signal N) and the signal's name. */
interface ExitStatus {
  code: number;
  signal: string | null;
}

// With a time limit a task gets a process group of its own, so the kill reaches its children (a
// `sleep` started by the script) and not just the shell. Only then: a spawn that detaches forks
// the whole of this process, and without one Ctrl-C on the terminal reaches the tasks.
const detaches = (job: Job) => job.timeLimit !== undefined || job.ownGroups === true;

/**
 * Run one array task of `job` to its end and return its outcome. `ahead` is its logs, opened
 * before it was its turn (see `openLogsAhead`); when undefined or failed they are opened now.
 * Its TMP comes from and goes back to `tmpDirs`; its pid is recorded in `tmpDirs.cleanup` and
 * handed to `onStart` (the spool records it, so that a cancel can find the task).
 */
export async function runTask(
  job: Job,
  task: ArrayTask,
  tmpDirs: TmpDirs,
  ahead?: Promise<Logs | undefined>,
  onStart?: (pid: number) => void,
): Promise<TaskOutcome> {
  if (task.tmpDir) tmpDirs.take(task.tmpDir);
  const started = performance.now();
  const errorLog = task.stderrPath ?? task.stdoutPath;
  const outcome = (status: ExitStatus, timedOut: boolean): TaskOutcome => ({
    index: task.index,
    jobId: task.jobId,
    exitCode: status.code,
    signal: status.signal,
    timedOut,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    log: task.stdoutPath,
    errorLog,
  });
  const launched = await spawnTask(job, task, ahead, () => tmpDirs.cleanup.interrupted);
  if (!("exited" in launched)) {
    if (task.tmpDir) tmpDirs.give(task.tmpDir);
    return outcome(launched, false);
  }
  const { pid, exited } = launched;
  const detached = detaches(job);
  const cleanup = tmpDirs.cleanup;
  cleanup.started(pid, detached);
  onStart?.(pid);
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
  let status: ExitStatus;
  try {
    status = await exited;
  } finally {
    cleanup.ended(pid);
    for (const t of timers) clearTimeout(t);
  }
  if (timedOut) killGroup("SIGKILL"); // leftovers of the group must not outlive a killed task
  const result = outcome(status, timedOut);
  if (task.tmpDir) tmpDirs.give(task.tmpDir);
  if (timedOut && job.timeLimit?.logLine) {
    const fields: Record<string, string> = {
      jobId: task.jobId,
      index: String(task.index),
      time: new Date().toISOString().slice(0, 19),
    };
    const line = job.timeLimit.logLine.replace(/\{(jobId|index|time)\}/g, (_, k) => fields[k]);
    await Deno.writeTextFile(errorLog, line + "\n", { append: true });
  }
  return result;
}

/** A task process that has started, or the status of one that never could. */
type Launched = { pid: number; exited: Promise<ExitStatus> } | ExitStatus;

// Spawn the task with its log files as its stdout and stderr, unless the fake was interrupted
// meanwhile (then the task never starts: killed by SIGKILL before it ran, 137).
async function spawnTask(
  job: Job,
  task: ArrayTask,
  ahead: Promise<Logs | undefined> | undefined,
  interrupted: () => boolean,
): Promise<Launched> {
  // Logs opened ahead are normally ready by now; a failed early open is retried here, at the
  // task's start, so that the outcome is the one opening them now would give.
  const opened = ahead === undefined ? undefined : await ahead;
  if (interrupted()) {
    if (opened) closeLogs(opened);
    return { code: 137, signal: "SIGKILL" };
  }
  const logs = opened ?? openLogs(task, job.appendLogs);
  if (typeof logs === "string") return { code: 2, signal: null };
  const argv = [...job.shell, job.runPath ?? job.scriptPath, ...job.scriptArgs];
  let child: ChildProcess;
  try {
    child = spawn(argv[0], argv.slice(1), {
      cwd: job.cwd,
      env: task.env,
      stdio: ["ignore", logs.out, logs.err],
      detached: detaches(job),
    });
  } finally {
    closeLogs(logs); // the child holds its own copies of the descriptors now
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

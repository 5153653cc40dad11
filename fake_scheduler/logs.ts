/**
 * Array tasks' log files: opened here as a shell's `>` or `>>` would and handed to the task as its
 * stdout and stderr descriptors, so that output goes from the kernel straight into the file,
 * nothing passes through the fake, and the script's interpreter is the only program started (a
 * `sh -c 'exec >LOG ...'` wrapper started two, which cost a third of each task's time). Also the
 * checks a job's log paths get before it runs.
 *
 * @example Log directories that do not exist
 * ```ts
 * import { missingLogDirs } from "./logs.ts";
 * import assert from "node:assert/strict";
 *
 * const task = { index: 1, jobId: "1", env: {}, stdoutPath: "/no/such/dir/o.1", stderrPath: null };
 * assert.deepEqual(missingLogDirs([task]), ["/no/such/dir"]);
 * ```
 *
 * @module
 */

import { closeSync, existsSync, open, openSync } from "node:fs";
import { dirname } from "node:path";
import type { ArrayTask } from "./job.ts";

/** A task's open log descriptors (`err` is `out` when merged), or why one could not be opened. */
export type Logs = { out: number; err: number } | string;

const FLAGS = { truncate: "w", append: "a" } as const;

/**
 * Open the task's log files as a shell's `>` or `>>` would (created 0666 less the umask); stderr
 * shares stdout's descriptor when merged. A string is the error when one cannot be opened.
 */
export function openLogs(task: ArrayTask, append: boolean): Logs {
  const flags = append ? FLAGS.append : FLAGS.truncate;
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

/**
 * The same as {@link openLogs}, off the main thread (creating a file on ext4 takes 0.2–0.6 ms,
 * which the next task's start would otherwise wait for); undefined when a file cannot be opened,
 * so that the task's start tries again and sees the error as it is then.
 */
export async function openLogsAhead(
  task: ArrayTask,
  append: boolean,
): Promise<Logs | undefined> {
  const flags = append ? FLAGS.append : FLAGS.truncate;
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

/** Close logs that were opened (a failed open or nothing opened is left alone). */
export function closeLogs(logs: Logs | undefined): void {
  if (logs === undefined || typeof logs === "string") return;
  closeSync(logs.out);
  if (logs.err !== logs.out) closeSync(logs.err);
}

/**
 * The log paths that more than one open of this job's would touch (two tasks, or a task's `-o`
 * and `-e`): such a log is opened only when its task starts, so that it is truncated after the
 * task before it has ended, as it would be without opening ahead.
 */
export function sharedLogPaths(tasks: ArrayTask[]): Set<string> {
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
 * The log directories of `tasks` that do not exist. The real schedulers accept such a job and
 * then fail it where nobody looks (SGE: Eqw, and `qsub -sync y` hangs; Slurm: a line in the slurmd
 * log), so the fake refuses it up front with the path in the message.
 */
export function missingLogDirs(tasks: ArrayTask[]): string[] {
  const dirs = new Set<string>();
  for (const t of tasks) {
    dirs.add(dirname(t.stdoutPath));
    if (t.stderrPath) dirs.add(dirname(t.stderrPath));
  }
  return [...dirs].filter((d) => !isDirectory(d));
}

/** True when `path` is an existing directory. */
export function isDirectory(path: string): boolean {
  // Asked once per task for each log path, which mostly does not exist yet: existsSync answers
  // that without the thrown error that costs statSync five times as much.
  if (!existsSync(path)) return false;
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

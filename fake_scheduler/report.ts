/**
 * What a run tells its user: the summary lines on stderr, the progress line on a terminal, and the
 * JSON `--report`. This is the ONLY module of the fake that knows arrayjob: for a script arrayjob
 * rendered (its log directory or its own directory holds `arrayjob.json`) it reads the job's
 * records through mod.ts `jobStatus` and adds their task-level view ({@link ArrayjobTasks}). The
 * rest of the fake runs any script and knows nothing of arrayjob's records.
 *
 * @example The summary of a job
 * ```ts
 * import { formatSummary } from "./report.ts";
 * import assert from "node:assert/strict";
 *
 * const failed = {
 *   index: 3, jobId: "5", exitCode: 2, signal: null, timedOut: false, durationMs: 10,
 *   log: "o.3", errorLog: "e.3",
 * };
 * const text = formatSummary({
 *   scheduler: "sge", jobId: "5", jobName: "fit", script: "/x/run.sh", tasksRun: 1, failed: "3",
 *   timedOut: "", slowest: { index: 3, durationMs: 10 }, durationMs: 12, firstFailure: failed,
 *   tasks: [failed],
 * }, "fake qsub");
 * assert.match(text, /failed array tasks: 3 \(first: task 3 exit 2, log e\.3\)/);
 * ```
 *
 * @module
 */

import { dirname, isAbsolute, join, relative } from "node:path";
import { shellQuote } from "../mod.ts";
import { jobStatus, type TaskSet } from "../job_dir.ts";
import type { FaceIO } from "./io.ts";
import type { Job, JobOutcome, TaskOutcome } from "./job.ts";
import type { RunOptions } from "./run.ts";

/** The outcome of a job as `--report` writes it: for an arrayjob script, with its tasks' view. */
export interface JobReport extends JobOutcome {
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

/** Human summary of a job's outcome, a few lines for stderr; `prefix` names the face. */
export function formatSummary(outcome: JobOutcome, prefix: string): string {
  const failedCount = outcome.tasks.filter((t) => t.exitCode !== 0).length;
  const lines = [
    `${prefix}: job ${outcome.jobId} ("${outcome.jobName}"): ${outcome.tasksRun} task(s) run, ` +
    `${outcome.tasksRun - failedCount} ok, ${failedCount} failed, in ${
      (outcome.durationMs / 1000).toFixed(2)
    } s`,
  ];
  if (failedCount > 0) {
    const first = outcome.tasks.find((t) => t.exitCode !== 0) as TaskOutcome;
    lines.push(
      `${prefix}: failed array tasks: ${outcome.failed} (first: task ${first.index} ${
        describeExit(first)
      }, log ${first.errorLog})`,
    );
  }
  if (outcome.timedOut) {
    lines.push(`${prefix}: killed for exceeding the run-time limit: ${outcome.timedOut}`);
  }
  if (outcome.slowest) {
    lines.push(
      `${prefix}: slowest task: ${outcome.slowest.index} (${
        (outcome.slowest.durationMs / 1000).toFixed(2)
      } s)`,
    );
  }
  return lines.join("\n");
}

/** "exit 3", "killed by SIGKILL", or "killed by SIGKILL at the run-time limit". */
export function describeExit(outcome: TaskOutcome): string {
  if (outcome.timedOut) return `killed by ${outcome.signal ?? "signal"} at the run-time limit`;
  if (outcome.signal) return `killed by ${outcome.signal}`;
  return `exit ${outcome.exitCode}`;
}

/** A progress callback that redraws one status line on a terminal. */
export function terminalProgress(prefix: string): RunOptions["onTaskDone"] {
  const encoder = new TextEncoder();
  let last = 0;
  return (_outcome, done, total, failed) => {
    // At most ten redraws a second: with thousands of short tasks the terminal is the bottleneck.
    const now = performance.now();
    if (done !== total && done !== 1 && now - last < 100) return;
    last = now;
    const line = `\r${prefix}: ${done}/${total} done, ${failed} failed`;
    Deno.stderr.writeSync(encoder.encode(done === total ? line + "\n" : line));
  };
}

/** Where and how {@link reportJob} reports. */
export interface ReportOptions {
  /** Output sinks. */
  io: FaceIO;
  /** Prefix of every line, e.g. "fake qsub". */
  prefix: string;
  /** The submit directory, against which the rerun hint's directory is written. */
  submitDir: string;
  /** Write the JSON report to this absolute path. */
  reportFile?: string;
}

/**
 * Report a job that ran: the summary on stderr, with the task-level view when the script is one
 * arrayjob rendered, and the JSON report when asked for. Returns the report.
 */
export async function reportJob(
  job: Job,
  outcome: JobOutcome,
  options: ReportOptions,
): Promise<JobReport> {
  const { io, prefix } = options;
  const report: JobReport = outcome;
  io.stderr(formatSummary(report, prefix));
  const dir = arrayjobDir(job);
  if (dir !== undefined) {
    try {
      report.arrayjob = await arrayjobTasks(dir);
      io.stderr(formatArrayjobTasks(report.arrayjob, prefix, options.submitDir));
    } catch (e) {
      // The job ran; a manifest the fake cannot read must not turn that into a failure.
      const why = e instanceof Error ? e.message : String(e);
      io.stderr(`${prefix}: warning: cannot read arrayjob's records in ${dir}: ${why}`);
    }
  }
  if (options.reportFile) {
    await Deno.writeTextFile(options.reportFile, JSON.stringify(report, null, 2) + "\n");
  }
  return report;
}

/**
 * The output directory of a script arrayjob rendered: the directory of the job's log files (`-o`,
 * `--output`) or of the script itself, whichever holds `arrayjob.json`; undefined for any other
 * script.
 */
export function arrayjobDir(job: Job): string | undefined {
  const candidates = new Set([dirname(job.scriptPath)]);
  if (job.tasks.length > 0) candidates.add(dirname(job.tasks[0].stdoutPath));
  for (const dir of [...candidates].reverse()) {
    try {
      if (Deno.statSync(join(dir, "arrayjob.json")).isFile) return dir;
    } catch {
      // Not there: try the next candidate.
    }
  }
  return undefined;
}

// More ranges than this make a summary line unreadable; the report and `arrayjob status` have all.
const MOST_RANGES_SHOWN = 20;

/** Read the task-level view of the job in `dir` (mod.ts `jobStatus`), with `--tasks` lists. */
export async function arrayjobTasks(dir: string): Promise<ArrayjobTasks> {
  const status = await jobStatus(dir);
  const group = (tasks: TaskSet) => ({ count: tasks.length, tasks: String(tasks) });
  return {
    dir,
    numTasks: status.numTasks,
    records: status.records,
    done: group(status.done),
    failed: group(status.failed),
    neverFinished: group(status.neverFinished),
  };
}

/**
 * One summary line: `PREFIX: arrayjob tasks: 9963 done, 0 failed, 37 never finished: 0,271:273
 * (rerun: arrayjob resubmit DIR)`. The lists are `--tasks` specs, shortened past 20 ranges; DIR is
 * relative to the submit directory when inside it, so the hint can be pasted where qsub ran.
 */
export function formatArrayjobTasks(
  view: ArrayjobTasks,
  prefix: string,
  submitDir: string,
): string {
  const shown = (spec: string) => {
    const ranges = spec.split(",");
    return ranges.length <= MOST_RANGES_SHOWN
      ? spec
      : `${ranges.slice(0, MOST_RANGES_SHOWN).join(",")},… (${
        ranges.length - MOST_RANGES_SHOWN
      } more ranges)`;
  };
  let line = `${prefix}: arrayjob tasks: ${view.done.count} done`;
  let afterList = false;
  const groups = [["failed", view.failed], ["never finished", view.neverFinished]] as const;
  for (const [name, { count, tasks }] of groups) {
    // After a list the next group is set off by ";", as the list itself is comma-separated.
    line += `${afterList ? ";" : ","} ${count} ${name}`;
    afterList = count > 0;
    if (afterList) line += `: ${shown(tasks)}`;
  }
  if (view.done.count < view.numTasks) {
    const rel = relative(submitDir, view.dir);
    const dir = rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? view.dir : rel;
    line += ` (rerun: arrayjob resubmit ${shellQuote(dir)})`;
  }
  return line;
}

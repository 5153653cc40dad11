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
import type { TaskSet } from "../task_set.ts";
import { jobStatus } from "../status.ts";
import { describeLocalRun, localRuns, openRunJournal, type RunJournal } from "../local_runs.ts";
import type { Cleanup } from "./cleanup.ts";
import type { FaceIO } from "./io.ts";
import { formatArrayIds, type Job, type JobOutcome, type TaskOutcome } from "./job.ts";
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
  /** Every task when the job's template keeps no records: whether they succeeded is unknown. */
  untracked?: TaskGroup;
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

/** `0:07`, `12:03`, `1:02:03`: a duration for a progress line. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60];
  const two = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

/**
 * One progress line: `fake qsub: 120/500 done, 2 failed, 0:12 elapsed, 10.0 tasks/s, about 0:38
 * left`. The estimate is the tasks left at the rate so far; none before the first task ended.
 */
export function progressLine(
  prefix: string,
  done: number,
  total: number,
  failed: number,
  elapsedMs: number,
): string {
  const seconds = elapsedMs / 1000;
  let line = `${prefix}: ${done}/${total} done, ${failed} failed, ${formatClock(seconds)} elapsed`;
  if (done > 0 && seconds > 0) {
    const rate = done / seconds;
    line += `, ${rate.toFixed(rate < 10 ? 1 : 0)} tasks/s`;
    if (done < total) line += `, about ${formatClock((total - done) / rate)} left`;
  }
  return line;
}

/**
 * What a running job shows on `io`: on a terminal one line redrawn in place (a carriage return and
 * spaces, never an escape code), at most ten times a second and at least once a second; otherwise
 * a full line every `io.progressSeconds`. Call `update` as tasks end and `stop` at the end.
 */
export function progressReporter(
  io: FaceIO,
  prefix: string,
  total: number,
): { update(done: number, failed: number): void; stop(): void } {
  const started = performance.now();
  let done = 0, failed = 0, last = 0, width = 0, stopped = false;
  const encoder = new TextEncoder();
  const draw = (final: boolean) => {
    const line = progressLine(prefix, done, total, failed, performance.now() - started);
    const padded = line.padEnd(width);
    width = line.length;
    Deno.stderr.writeSync(encoder.encode(`\r${padded}${final ? "\n" : ""}`));
  };
  let timer: ReturnType<typeof setInterval> | undefined;
  if (io.progress) {
    timer = setInterval(() => draw(false), 1000);
  } else if (io.progressSeconds !== undefined && io.progressSeconds > 0) {
    timer = setInterval(
      () => io.stderr(progressLine(prefix, done, total, failed, performance.now() - started)),
      io.progressSeconds * 1000,
    );
  }
  // Deno's timers are numbers; the type is Node's. Unref'd: a run that throws must still exit.
  if (timer !== undefined) Deno.unrefTimer(timer as unknown as number);
  return {
    update(d, f) {
      done = d;
      failed = f;
      // After an interrupt's summary, the tasks it killed still end: their line would follow it.
      if (!io.progress || stopped) return;
      // At most ten redraws a second: with thousands of short tasks the terminal is the bottleneck.
      const now = performance.now();
      if (done !== total && done !== 1 && now - last < 100) return;
      last = now;
      draw(done === total);
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      if (io.progress && done !== total && width > 0 && !stopped) draw(true);
      stopped = true;
    },
  };
}

/** What {@link watchRun} needs to know. */
export interface WatchOptions {
  /** Output sinks. */
  io: FaceIO;
  /** Prefix of every line, e.g. "fake qsub". */
  prefix: string;
  /** The submit directory, against which the rerun hint's directory is written. */
  submitDir: string;
  /** The run's cleanup: when it is interrupted, the watch prints what became of the job. */
  cleanup?: Cleanup;
}

/** The callbacks of a watched run, for `runArrayJob`, and its end. */
export interface Watch {
  /** For `RunOptions.onTaskStarted`. */
  started: NonNullable<RunOptions["onTaskStarted"]>;
  /** For `RunOptions.onTaskDone`. */
  done: NonNullable<RunOptions["onTaskDone"]>;
  /** The run ended with every array task seen to its end. */
  finish(): void;
}

/**
 * Watch a job as it runs: the progress (see {@link progressReporter}); for a script arrayjob
 * rendered, the run's journal in its records (local_runs.ts `openRunJournal`), so that a fake killed
 * without a chance to clean up is told apart from one that ended (`arrayjob status` says the run
 * was lost and which array tasks ran on unsupervised); and, when `cleanup` is interrupted, the
 * summary of what finished, failed and never finished, after the tasks were killed.
 */
export function watchRun(job: Job, options: WatchOptions): Watch {
  const { io, prefix, cleanup } = options;
  const total = job.tasks.length;
  const progress = progressReporter(io, prefix, total);
  const dir = arrayjobDir(job);
  let journal: RunJournal | undefined;
  if (dir !== undefined) {
    try {
      journal = openRunJournal(dir, job.jobId, {
        script: job.scriptPath,
        arrayTasks: job.tasks.map((t) => t.index),
      });
    } catch {
      // No records directory (a job rendered without records): nothing to tell apart later.
    }
  }
  const running = new Set<number>();
  const finished: TaskOutcome[] = [];
  const forget = cleanup?.whenInterrupted(async () => {
    progress.stop();
    // A Ctrl-C typed at a terminal reaches the whole foreground group, the tasks too, and a task
    // may die of it before this handler runs: it was killed by the interrupt, not a failure.
    const killed = new Set(running);
    for (const t of finished) if (t.signal === "SIGINT") killed.add(t.index);
    const own = finished.filter((t) => !killed.has(t.index));
    const failed = own.filter((t) => t.exitCode !== 0).map((t) => t.index);
    const ended = new Set(own.map((t) => t.index));
    const never = job.tasks.map((t) => t.index).filter((i) => !ended.has(i));
    let line = `${prefix}: interrupted: job ${job.jobId} ("${job.jobName}"): ${own.length} ` +
      `array task(s) finished, ${own.length - failed.length} ok, ${failed.length} failed` +
      (failed.length > 0 ? `: ${shortened(formatArrayIds(failed))}` : "") +
      `; ${never.length} never finished` +
      (never.length > 0 ? `: ${shortened(formatArrayIds(never))}` : "");
    if (killed.size > 0) line += ` (killed: ${shortened(formatArrayIds(killed))})`;
    io.stderr(line);
    // The killed tasks are gone; the journal stays, saying the tasks never started never ran.
    journal?.interrupted();
    journal = undefined;
    if (dir !== undefined) {
      try {
        io.stderr(formatArrayjobTasks(await arrayjobTasks(dir), prefix, options.submitDir));
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        io.stderr(`${prefix}: warning: cannot read arrayjob's records in ${dir}: ${why}`);
      }
    }
  });
  return {
    started(task, pid) {
      running.add(task.index);
      journal?.started(task.index, pid);
    },
    done(outcome, done, _total, failed) {
      running.delete(outcome.index);
      finished.push(outcome);
      journal?.ended(outcome.index);
      progress.update(done, failed);
    },
    finish() {
      progress.stop();
      forget?.();
      journal?.close();
      journal = undefined;
    },
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
      for (const run of await localRuns(dir)) {
        if (run.state !== "running") io.stderr(`${prefix}: warning: ${describeLocalRun(run)}`);
      }
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
    ...(status.untracked.length > 0 ? { untracked: group(status.untracked) } : {}),
  };
}

// A list of ranges cut after MOST_RANGES_SHOWN: `1,3,…  (12 more ranges)`.
function shortened(spec: string): string {
  const ranges = spec.split(",");
  return ranges.length <= MOST_RANGES_SHOWN
    ? spec
    : `${ranges.slice(0, MOST_RANGES_SHOWN).join(",")},… (${
      ranges.length - MOST_RANGES_SHOWN
    } more ranges)`;
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
  const shown = shortened;
  if (view.untracked !== undefined && view.untracked.count > 0) {
    return `${prefix}: arrayjob tasks: not tracked: the job's template keeps no records (no ` +
      `{{#record_dir}} block), so whether its ${view.untracked.count} tasks succeeded is unknown`;
  }
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

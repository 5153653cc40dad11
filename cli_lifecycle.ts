/**
 * The commands that follow a job on the scheduler: `arrayjob submit` (with `--wait` and
 * `--retries`), `arrayjob status` (with `--watch`) and `arrayjob cancel`.
 *
 * @example
 * ```ts
 * import { STATUS_COMMAND } from "./cli_lifecycle.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await STATUS_COMMAND.run([]), /status takes one DIR/);
 * ```
 *
 * @module
 */

import { ArrayJobError, formatIndices, shellQuote } from "./mod.ts";
import { selectTaskSet } from "./records.ts";
import type { TaskSet } from "./task_set.ts";
import { readManifest } from "./manifest.ts";
import { describeLocalRun } from "./local_runs.ts";
import { cancel, scriptDone, submit, submitAndWait } from "./lifecycle.ts";
import { estimateSecondsLeft, hasEnded, type JobLiveStatus, liveStatus } from "./live_status.ts";
import { type CliOption, type Command, parseOptions, shortList } from "./cli_command.ts";

const INTERVAL_OPTION: CliOption = {
  flag: "interval",
  type: "string",
  value: "SECONDS",
  help: ["how often to ask the scheduler (default 5)"],
};

/**
 * `arrayjob submit SCRIPT`: submits one of a job's scripts; `--wait`, `--retries N`.
 *
 * @example
 * ```ts
 * import { SUBMIT_COMMAND } from "./cli_lifecycle.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await SUBMIT_COMMAND.run(["--retries", "2", "run.sh"]), /--retries needs --wait/);
 * ```
 */
export const SUBMIT_COMMAND: Command = {
  synopsis: "submit SCRIPT [-- ARGS...]",
  summary: [
    "submit one of a job's scripts with the qsub/sbatch first on PATH;",
    "--wait for it to end, --retries N to rerun what failed",
  ],
  about: `Usage: arrayjob submit SCRIPT [options] [-- SUBMIT-ARGS...]

Submits SCRIPT (run.sh, a split's run-K.sh, or resubmit-N.sh) with the qsub or sbatch
first on PATH (the job's scheduler; SUBMIT-ARGS go before the script), records the job id
in the job's list of submissions (DIR/submissions.jsonl) and prints it.`,
  options: [
    {
      flag: "wait",
      type: "boolean",
      help: [
        "wait until nothing of the job is running or pending; exit 0 only when",
        "every task of SCRIPT is done",
      ],
    },
    {
      flag: "retries",
      type: "string",
      value: "N",
      help: [
        "with --wait: resubmit SCRIPT's tasks that failed or never finished,",
        "up to N times, waiting for each",
      ],
    },
    INTERVAL_OPTION,
    {
      flag: "dir",
      type: "string",
      value: "DIR",
      help: ["the job's directory, when SCRIPT is not in it"],
    },
  ],
  run: submitCommandLine,
};

/**
 * `arrayjob status DIR`: which tasks of a job are done, failed, running, pending, lost.
 *
 * @example
 * ```ts
 * import { STATUS_COMMAND } from "./cli_lifecycle.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await STATUS_COMMAND.run(["a", "b"]), /status takes one DIR/);
 * ```
 */
export const STATUS_COMMAND: Command = {
  synopsis: "status DIR",
  summary: [
    "which tasks of a job are done, failed, running, pending, never",
    "finished or unsubmitted (asks the scheduler); --watch follows it",
  ],
  about: `Usage: arrayjob status DIR [--json] [--watch [--interval SECONDS]]

Merges the records that every array task of the job in DIR (its --output-dir) left, over
the first run and every resubmission, with what the scheduler says about the job's
submissions (those made with 'arrayjob submit', and the jobs of records without an end),
and prints how many tasks are done, failed, running, pending, never finished (the
scheduler no longer knows them and they left no end: killed or lost) or unsubmitted, each
as a --tasks list, and where each failed task's log is. When the scheduler cannot be asked
it says so, and a task that started without an end is "running or lost". Exit code: 0
when every task is done, 1 otherwise.`,
  options: [
    { flag: "json", type: "boolean", help: ["print the same as JSON"] },
    {
      flag: "watch",
      type: "boolean",
      help: [
        "follow the job until nothing is running or pending: on a terminal a",
        "progress bar redrawn in place, with the time elapsed and an estimate",
        "of the time left; otherwise one line every --interval",
      ],
    },
    INTERVAL_OPTION,
  ],
  run: status,
};

/**
 * `arrayjob cancel DIR`: cancels a job's live array tasks, or those holding `--tasks`.
 *
 * @example
 * ```ts
 * import { CANCEL_COMMAND } from "./cli_lifecycle.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await CANCEL_COMMAND.run([]), /cancel takes one DIR/);
 * ```
 */
export const CANCEL_COMMAND: Command = {
  synopsis: "cancel DIR",
  summary: ["cancel a job's live array tasks (--tasks SPEC: those holding them)"],
  about: `Usage: arrayjob cancel DIR [--tasks SPEC]

Cancels (scancel, qdel) the running and pending array tasks of the job's submissions, or
with --tasks only the array tasks that hold those tasks (a chunk of several tasks is
cancelled whole). Prints what it cancelled and which asked-for tasks were not live.`,
  options: [
    {
      flag: "tasks",
      type: "string",
      value: "SPEC",
      help: ["only the array tasks holding these tasks (3, 0:10, 1,5,7:9)"],
    },
  ],
  run: cancelCommandLine,
};

async function submitCommandLine(args: string[]): Promise<number> {
  const end = args.indexOf("--");
  const extraArgs = end === -1 ? [] : args.slice(end + 1);
  const { values, positionals } = parseOptions(
    end === -1 ? args : args.slice(0, end),
    SUBMIT_COMMAND.options!,
  );
  if (positionals.length !== 1) {
    throw new ArrayJobError(
      "submit takes one SCRIPT (run.sh, run-K.sh or resubmit-N.sh); the submit program's own " +
        "options go after --",
    );
  }
  const retries = values.retries === undefined ? 0 : Number(values.retries);
  if (values.retries !== undefined && !/^[0-9]+$/.test(values.retries as string)) {
    throw new ArrayJobError(
      `--retries is ${JSON.stringify(values.retries)}: expected a whole number of resubmissions`,
    );
  }
  if (values.retries !== undefined && !values.wait) {
    throw new ArrayJobError("--retries needs --wait: arrayjob resubmits once the job has ended");
  }
  const interval = seconds((values.interval as string | undefined) ?? "5", "--interval");
  const script = positionals[0]!;
  const options = {
    extraArgs,
    ...(values.dir === undefined ? {} : { outputDir: values.dir as string }),
  };
  if (!values.wait) {
    const job = await submit(script, options);
    console.error(`arrayjob: submitted ${job.script} as job ${job.jobId}`);
    console.log(job.jobId);
    return 0;
  }
  const status = await submitAndWait(script, {
    ...options,
    retries,
    interval,
    onSubmit(job, again) {
      console.error(
        again === undefined
          ? `arrayjob: submitted ${job.script} as job ${job.jobId}`
          : `arrayjob: retry: ${again.indices.length} tasks (${shortList(again.indices)}) ` +
            `in ${job.script} as job ${job.jobId}`,
      );
      console.log(job.jobId);
    },
  });
  const ok = scriptDone(status);
  console.error(
    `arrayjob: job ended: ${status.numTasks} tasks: ${countsLine(status)}; ` +
      (ok ? "every task of the script is done" : "not every task of the script is done"),
  );
  return ok ? 0 : 1;
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, STATUS_COMMAND.options!);
  if (positionals.length !== 1) {
    throw new ArrayJobError("status takes one DIR: the job's output directory (where run.sh is)");
  }
  const dir = positionals[0]!;
  const interval = seconds((values.interval as string | undefined) ?? "5", "--interval");
  let s = await liveStatus(dir);
  if (values.watch) s = await watch(dir, s, interval);
  const allDone = s.done.length === s.numTasks;
  const failures = s.failures;
  if (values.json) {
    console.log(JSON.stringify(
      {
        numTasks: s.numTasks,
        done: s.done.length,
        failed: s.failed,
        running: s.running,
        pending: s.pending,
        neverFinished: s.neverFinished,
        unsubmitted: s.unsubmitted,
        untracked: s.untracked,
        runningOrLost: s.runningOrLost,
        pendingOrLost: s.pendingOrLost,
        failures,
        records: s.records,
        localRuns: s.localRuns,
        submissions: s.submissions.map((x) => x.jobId),
        scheduler: {
          asked: s.asked,
          answered: s.asked && s.schedulerNote === undefined,
          ...(s.schedulerNote === undefined ? {} : { note: s.schedulerNote }),
          ...(s.accountingNote === undefined ? {} : { accounting: s.accountingNote }),
        },
      },
      null,
      2,
    ));
    return allDone ? 0 : 1;
  }
  if (s.schedulerNote !== undefined) {
    console.log(`the scheduler could not be asked: ${s.schedulerNote}; records only`);
  }
  console.log(`${s.numTasks} tasks: ${countsLine(s)} (${s.records} array-task records)`);
  const lists = [
    ["running", s.running],
    ["pending", s.pending],
    ["running or lost", s.runningOrLost],
    ["pending or lost", s.pendingOrLost],
    ["failed", s.failed],
  ] as const;
  for (const [name, tasks] of lists) {
    if (tasks.length > 0) console.log(`${name}: ${shortList(tasks)}`);
  }
  if (failures.length > 0) {
    const shown = failures.slice(0, 20);
    for (const f of shown) {
      const tasks = f.count === 1 ? `task ${f.index}` : `tasks ${f.index}:${f.index + f.count}`;
      console.log(`  ${tasks}: exit ${f.exitCode}${f.log ? `, log ${f.log}` : ""}`);
    }
    if (failures.length > shown.length) {
      console.log(`  … and ${failures.length - shown.length} more (--json lists all)`);
    }
  }
  if (s.neverFinished.length > 0) console.log(`never finished: ${shortList(s.neverFinished)}`);
  for (const run of s.localRuns) console.log(describeLocalRun(run));
  if (s.unsubmitted.length > 0) {
    console.log(
      `unsubmitted: ${shortList(s.unsubmitted)}` +
        (s.submissions.length === 0
          ? ` (no submission recorded: 'arrayjob submit' records them; a job submitted by hand ` +
            `is known only from its records)`
          : ""),
    );
  }
  if (s.untracked.length > 0) {
    console.log(
      `not tracked: the job's template keeps no records (no {{#record_dir}} block), so ` +
        `whether ${shortList(s.untracked)} succeeded is unknown`,
    );
  } else if (s.schedulerNote !== undefined) {
    // A query that failed says nothing about what is live: neither "still live" nor "ended".
    console.log(`unsure what is live: ask again when the scheduler answers`);
  } else if (!hasEnded(s)) {
    console.log(`still live: follow with arrayjob status ${shellQuote(dir)} --watch`);
  } else if (!allDone) console.log(`run them again: arrayjob resubmit ${shellQuote(dir)}`);
  return allDone ? 0 : 1;
}

function countsLine(s: JobLiveStatus): string {
  const counts: [string, TaskSet][] = [
    ["done", s.done],
    ["failed", s.failed],
    ["running", s.running],
    ["pending", s.pending],
    ["never finished", s.neverFinished],
    ["unsubmitted", s.unsubmitted],
  ];
  if (s.runningOrLost.length > 0) counts.push(["running or lost", s.runningOrLost]);
  if (s.pendingOrLost.length > 0) counts.push(["pending or lost", s.pendingOrLost]);
  if (s.untracked.length > 0) counts.push(["not tracked", s.untracked]);
  return counts.map(([name, tasks]) => `${tasks.length} ${name}`).join(", ");
}

function seconds(text: string, flag: string): number {
  const value = Number(text);
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(value > 0)) {
    throw new ArrayJobError(
      `${flag} is ${JSON.stringify(text)}: expected seconds > 0, like 5 or 0.5`,
    );
  }
  return value;
}

function clock(total: number): string {
  const h = Math.floor(total / 3600),
    m = Math.floor((total % 3600) / 60),
    sec = Math.floor(total % 60);
  const mmss = `${String(m).padStart(h > 0 ? 2 : 1, "0")}:${String(sec).padStart(2, "0")}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}

// One character per share of the tasks: done #, failed x, running >, pending ., the rest blank.
function progressBar(s: JobLiveStatus, width: number): string {
  const parts: [string, number][] = [
    ["#", s.done.length],
    ["x", s.failed.length + s.neverFinished.length],
    [">", s.running.length + s.runningOrLost.length],
    [".", s.pending.length + s.pendingOrLost.length],
  ];
  let bar = "", used = 0, counted = 0;
  for (const [char, n] of parts) {
    counted += n;
    const upTo = Math.round(counted / Math.max(s.numTasks, 1) * width);
    bar += char.repeat(Math.max(upTo - used, 0));
    used = Math.max(upTo, used);
  }
  return `[${bar.padEnd(width)}]`;
}

async function watch(dir: string, first: JobLiveStatus, interval: number): Promise<JobLiveStatus> {
  // A job submitted by hand has no submission time: no elapsed time rather than a wrong one.
  const started = first.submissions[0] && Date.parse(first.submissions[0].submitted);
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  let drawn = 0, parallel = 0, asked = Date.now();
  let s = first;
  for (;;) {
    const elapsed = started ? `elapsed ${clock((Date.now() - started) / 1000)}, ` : "";
    parallel = Math.max(parallel, s.runningArrayTasks);
    const eta = estimateSecondsLeft(s, parallel);
    const left = hasEnded(s)
      ? "ended"
      : eta === undefined
      ? "time left: unknown yet"
      : `about ${clock(eta)} left`;
    if (tty) {
      const frame = [
        `${progressBar(s, 50)} ${s.done.length}/${s.numTasks} done`,
        countsLine(s),
        `${elapsed}${left}` +
        (s.schedulerNote === undefined
          ? ""
          : ` (the scheduler could not be asked: ${s.schedulerNote})`),
        "# done  x failed or never finished  > running  . pending",
      ];
      const up = drawn > 0 ? `\x1b[${drawn}A\x1b[J` : "";
      await Deno.stdout.write(encoder.encode(up + frame.join("\n") + "\n"));
      drawn = frame.length;
    } else {
      const time = new Date().toISOString().slice(11, 19);
      console.log(`${time} ${s.numTasks} tasks: ${countsLine(s)}; ${elapsed}${left}`);
    }
    if (hasEnded(s) || s.schedulerNote !== undefined) return s;
    // Every --interval from the last question's start: asking takes time too.
    const wait = interval * 1000 - (Date.now() - asked);
    await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
    asked = Date.now();
    s = await liveStatus(dir);
  }
}

async function cancelCommandLine(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, CANCEL_COMMAND.options!);
  if (positionals.length !== 1) {
    throw new ArrayJobError("cancel takes one DIR: the job's output directory (where run.sh is)");
  }
  const dir = positionals[0]!;
  const tasks = values.tasks === undefined
    ? undefined
    : selectTaskSet(values.tasks as string, (await readManifest(dir)).numTasks);
  const result = await cancel(dir, tasks);
  for (const [jobId, arrayTasks] of result.cancelled) {
    console.log(`cancelled job ${jobId}: array tasks ${formatIndices(arrayTasks)}`);
  }
  if (result.cancelled.size === 0) console.log("nothing running or pending to cancel");
  else console.log(`their tasks: ${shortList(result.tasks)}`);
  if (result.notLive.length > 0) {
    console.log(`not running or pending: ${shortList(result.notLive)}`);
  }
  for (const problem of result.problems) console.error(`arrayjob: ${problem}`);
  return result.problems.length === 0 ? 0 : 1;
}

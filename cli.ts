/**
 * The arrayjob command line: task specs, cluster scripts for any program, the built-in
 * templates, and the fake scheduler that runs a script locally once per array index.
 *
 * ```sh
 * deno run -A cli.ts slice --count 10 -- -3:
 * deno run -A cli.ts script --scheduler slurm --num-tasks 100 --step 10 -- python3 fit.py
 * deno run -A cli.ts simulate fit/run.sh
 * ```
 *
 * @example Running a subcommand from a program
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["slice", "--count", "5", "1:3"]), 0);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ArrayJobError, formatIndices, parseSlice, selectIndices, shellQuote } from "./mod.ts";
import { DEFAULT_SCHEDULER, type Scheduler, SCHEDULERS, submitCommand } from "./dialects.ts";
import { builtinTemplate, clusterScript, TEMPLATE_VALUES } from "./script.ts";
import {
  attachValues,
  flagHelp,
  type FlagUse,
  parseScriptFlags,
  scriptFlagsHelp,
  unknownOption,
  withFlagName,
} from "./script_flags.ts";
import { TaskSet } from "./task_set.ts";
import { JobDirError, readManifest, submitHints, writeClusterScripts } from "./job_dir.ts";
import { selectTaskSet } from "./status.ts";
import { describeLocalRun, localRuns } from "./local_runs.ts";
import { writeResubmitScript } from "./resubmit.ts";
import {
  cancel,
  estimateSecondsLeft,
  hasEnded,
  type JobLiveStatus,
  liveStatus,
  scriptDone,
  submit,
  submitAndWait,
} from "./lifecycle.ts";
import { SchedulerError } from "./queries.ts";
import denoJson from "./deno.json" with { type: "json" };

/** The version printed by `--version`, from deno.json. */
export const VERSION: string = denoJson.version;

/** One option of a command: how it parses, and its line in the command's `--help`. */
interface CliOption {
  readonly flag: string;
  readonly type: "string" | "boolean";
  readonly value?: string;
  readonly help: readonly string[];
}

/** A command: its synopsis and summary for `arrayjob --help`, its own help, options, and run. */
interface Command {
  readonly synopsis: string;
  readonly summary: readonly string[];
  /** What `arrayjob <command> --help` prints above the options. */
  readonly about?: string;
  /** The command's options; `--help` lists them, and {@linkcode parseOptions} reads them. */
  readonly options?: readonly CliOption[];
  /** Its use of {@linkcode SCRIPT_FLAGS}, which says the flags it takes, and their heading. */
  readonly scriptFlags?: { readonly use: FlagUse; readonly heading: string };
  readonly run: (args: string[]) => number | Promise<number>;
}

const WHICH_OPTIONS: readonly CliOption[] = [
  { flag: "failed", type: "boolean", help: ["only the tasks that failed"] },
  { flag: "missing", type: "boolean", help: ["only the tasks that never finished"] },
  { flag: "all-not-done", type: "boolean", help: ["both (the default)"] },
];

const INTERVAL_OPTION: CliOption = {
  flag: "interval",
  type: "string",
  value: "SECONDS",
  help: ["how often to ask the scheduler (default 5)"],
};

// The fake scheduler and the demo load only when asked for.
const COMMANDS: Record<string, Command> = {
  script: {
    synopsis: "script [options] -- COMMAND [ARGS...]",
    summary: [
      "write an array-job script that runs COMMAND ARGS --tasks=START:STOP",
      "once per chunk of tasks (any program: Python, R, a shell script)",
    ],
    about: `Usage: arrayjob script --num-tasks N [options] -- COMMAND [ARGS...]

Writes a cluster array-job script in which array task k runs
  COMMAND ARGS --tasks=START:STOP
for its chunk of the N tasks, prints where it wrote it and how to submit it.`,
    scriptFlags: { use: "script", heading: "Options:" },
    run: script,
  },
  slice: {
    synopsis: "slice SPEC --count N",
    summary: ["print the 0-based task indices SPEC selects from N tasks"],
    about: `Usage: arrayjob slice --count N [--] SPEC

Prints the 0-based indices that SPEC selects from a list of N tasks, one a line, with
Python's semantics of list[i] and list[a:b:c]; a comma list (1,5,7:9) is a union.
A SPEC that starts with "-" goes after "--": arrayjob slice --count 10 -- -3:`,
    options: [{ flag: "count", type: "string", value: "N", help: ["the number of tasks"] }],
    run: slice,
  },
  templates: {
    synopsis: "templates [NAME|--values]",
    summary: ["list the built-in templates, or print one to copy and edit"],
    about: `Usage: arrayjob templates [${SCHEDULERS.join("|")}|body|--values]

Without a name, lists the built-in templates and what each is; with one, prints it, to
copy, edit and pass to 'arrayjob script --template FILE'; --values lists every value a
template can use, with its meaning and an example. Each scheduler's template is its header, which
includes the shared shell body with {{> body}}: 'arrayjob templates body' prints that body,
and an edited header keeps the built-in one.`,
    run: templates,
  },
  simulate: {
    synopsis: "simulate SCRIPT",
    summary: [
      "run an array-job script locally on the fake scheduler, once per",
      "array index, and report every task's exit status",
    ],
    run: async (args) => (await import("./fake_scheduler/mod.ts")).simulateMain(args),
  },
  check: {
    synopsis: "check SCRIPT",
    summary: ["check a script's directives against what the scheduler accepts"],
    run: async (args) => (await import("./fake_scheduler/mod.ts")).checkMain(args),
  },
  submit: {
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
  },
  status: {
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
  },
  resubmit: {
    synopsis: "resubmit DIR",
    summary: [
      "write a script that runs only the tasks that are not done (and not",
      "running or pending)",
    ],
    about:
      `Usage: arrayjob resubmit DIR [--failed|--missing|--all-not-done] [--include-live] [options]

Writes DIR/resubmit-N.sh, which runs exactly the tasks that are not done (default), only
the failed ones, or only those that never finished, grouped --step at a time through a
chunk map (DIR/resubmit-N.chunks, line k = the tasks of array task k). Its records join
the job's, so 'arrayjob status DIR' afterwards shows the union. Tasks the scheduler says are
running or pending (or may be, when it cannot be asked) are left out and named.`,
    options: [
      ...WHICH_OPTIONS,
      {
        flag: "include-live",
        type: "boolean",
        help: ["put in the running and pending tasks too"],
      },
    ],
    scriptFlags: {
      use: "resubmit",
      heading: "Options that change for the resubmission (the rest stay the job's own):",
    },
    run: resubmit,
  },
  cancel: {
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
  },
  install: {
    synopsis: "install [--dir DIR]",
    summary: ["put the arrayjob command (and deno, when none is on PATH) into DIR"],
    about: `Usage: arrayjob install [--dir DIR]

Writes DIR/arrayjob, which runs this cli.ts with the deno on PATH or, when there is none,
with the Deno that 'npx -y deno@2' fetches. When no deno is on PATH, also copies the Deno
running this command to DIR/deno: the one 'npx -y deno@2 task install' unpacked into
npx's cache, which npx may clear, and which compute nodes cannot see.`,
    options: [{
      flag: "dir",
      type: "string",
      value: "DIR",
      help: ["where to install (default: ~/.local/bin, which login shells put on PATH)"],
    }],
    run: install,
  },
  demo: {
    synopsis: "demo",
    summary: ["render the example sweep and run it on the fake scheduler"],
    about: `Usage: arrayjob demo [--scheduler sge|slurm] [--step N] [--keep]

Renders the array-job script of examples/sweep.ts (12 tasks) with --cluster-script, submits
it to the fake scheduler, which runs every array task here, and checks that each task ran
exactly once and succeeded. Exit code: 0 when they did, 1 otherwise.`,
    options: [
      {
        flag: "scheduler",
        type: "string",
        value: "sge|slurm",
        help: ["whose script (default: sge)"],
      },
      { flag: "step", type: "string", value: "N", help: ["tasks per array task (default: 3)"] },
      { flag: "keep", type: "boolean", help: ["keep the temporary directory and say where"] },
    ],
    run: async (args) => (await import("./examples/demo.ts")).demo(args),
  },
};

const USAGE = `arrayjob ${VERSION}: turn a list of independent tasks into a cluster array job

Usage: arrayjob <command> [options]

Commands:
${
  Object.values(COMMANDS).map(({ synopsis, summary }) => {
    const lines = synopsis.length < 20
      ? [`  ${synopsis.padEnd(20)}${summary[0]}`]
      : [`  ${synopsis}`, `${" ".repeat(22)}${summary[0]}`];
    return [...lines, ...summary.slice(1).map((line) => `${" ".repeat(22)}${line}`)].join("\n");
  }).join("\n")
}

Run 'arrayjob <command> --help' for a command's options. Also: --help, --version.`;

// A command's --help, from its own description and option tables.
function commandHelp(command: Command): string {
  const parts = [command.about ?? `Usage: arrayjob ${command.synopsis}`];
  if (command.options) parts.push(flagHelp(command.options));
  if (command.scriptFlags) {
    parts.push(`${command.scriptFlags.heading}\n${scriptFlagsHelp(command.scriptFlags.use)}`);
  }
  return parts.join("\n\n");
}

// Parses a command's own option table strictly, leaving the rest as positionals.
function parseOptions(args: string[], options: readonly CliOption[], hint = "see --help") {
  try {
    return parseArgs({
      args,
      options: Object.fromEntries(options.map(({ flag, type }) => [flag, { type }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message);
    if (unknown) throw unknownOption(unknown[1]!, options.map(({ flag }) => `--${flag}`));
    throw new ArrayJobError(`${(error as Error).message.split("\n")[0]}; ${hint}`);
  }
}

/**
 * Runs one arrayjob command line.
 *
 * @param args The arguments, without the program name.
 * @returns The exit code: 0 on success, 1 when the work failed, 2 for a usage error.
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["slice", "--count", "3", "7"]), 2);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === "--version" || command === "-V") {
      console.log(`arrayjob ${VERSION}`);
      return 0;
    }
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (run === undefined) {
      throw new ArrayJobError(
        `unknown command ${JSON.stringify(command)}: expected ${
          Object.keys(COMMANDS).join(", ")
        } (see --help)`,
      );
    }
    if (run.about !== undefined && wantsHelp(rest)) {
      console.log(commandHelp(run));
      return 0;
    }
    return await run.run(rest);
  } catch (error) {
    if (error instanceof SchedulerError) {
      console.error(`arrayjob: ${error.message}`);
      return 1;
    }
    // The file system's refusals (a full disk, a read-only mount, a directory where a file was
    // meant) are the environment's, not a bug: one line, exit 1.
    if (isFileSystemError(error)) {
      console.error(`arrayjob: ${oneLine((error as Error).message)}`);
      return 1;
    }
    if (!(error instanceof ArrayJobError)) throw error;
    console.error(`arrayjob: ${oneLine(withFlagName(error).message)}`);
    return error instanceof JobDirError ? 1 : 2;
  }
}

function isFileSystemError(error: unknown): boolean {
  return Object.values(Deno.errors).some((kind) => error instanceof kind) &&
    !(error instanceof ArrayJobError);
}

// A message shows control characters escaped, so a value holding a newline stays on one line.
function oneLine(message: string): string {
  // deno-lint-ignore no-control-regex
  return message.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

function slice(args: string[]): number {
  args = attachValues(args, COMMANDS.slice!.options!);
  const negative = args.find((a) => /^-[0-9:]/.test(a));
  if (negative !== undefined && !args.slice(0, args.indexOf(negative)).includes("--")) {
    throw new ArrayJobError(
      `a spec starting with "-" goes after "--": arrayjob slice --count N -- ${negative}`,
    );
  }
  const parsed = parseOptions(args, COMMANDS.slice!.options!, "see 'arrayjob slice --help'");
  const count = parsed.values.count as string | undefined;
  if (count === undefined || !/^[0-9]+$/.test(count)) {
    throw new ArrayJobError(
      `slice needs --count N, the number of tasks, as a whole number (got ${
        JSON.stringify(count ?? null)
      })`,
    );
  }
  if (parsed.positionals.length > 1) {
    throw new ArrayJobError(
      `slice takes one SPEC, got ${parsed.positionals.length}: ${
        parsed.positionals.map((p) => JSON.stringify(p)).join(" ")
      } (write a union as one comma list, like 1,5,7:9)`,
    );
  }
  writeLines(lazyIndices(parsed.positionals[0] ?? "", Number(count)));
  return 0;
}

// The indices of a spec, one slice generated as it is written: `slice --count 1000000000 ""`
// must not hold a billion numbers.
function* lazyIndices(spec: string, count: number): Generator<number> {
  const parsed = parseSlice(spec);
  const part = parsed.parts[0]!;
  if (parsed.parts.length > 1 || part.kind === "index") {
    yield* selectIndices(parsed, count);
    return;
  }
  selectIndices(parsed, 0); // validates
  const step = part.step ?? 1;
  const lower = step < 0 ? -1 : 0, upper = step < 0 ? count - 1 : count;
  const clamp = (v: number | undefined, d: number) =>
    v === undefined ? d : v < 0 ? Math.max(v + count, lower) : Math.min(v, upper);
  const start = clamp(part.start, step < 0 ? upper : lower);
  const stop = clamp(part.stop, step < 0 ? lower : upper);
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) yield i;
}

// Writes lines in blocks; a reader that stops early (`| head`) ends the output quietly.
function writeLines(values: Iterable<number>): void {
  const encoder = new TextEncoder();
  let block: string[] = [];
  const flush = () => {
    const bytes = encoder.encode(block.join("\n") + "\n");
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
    block = [];
  };
  try {
    for (const value of values) {
      block.push(String(value));
      if (block.length === 65536) flush();
    }
    if (block.length > 0) flush();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

async function script(args: string[]): Promise<number> {
  const end = args.indexOf("--");
  if (end === -1 || end === args.length - 1) {
    throw new ArrayJobError(
      "script needs the command after --, e.g. arrayjob script --num-tasks 100 -- python3 fit.py",
    );
  }
  const { options, positionals } = parseScriptFlags(args.slice(0, end), "script");
  if (positionals.length > 0) {
    throw new ArrayJobError(
      `unexpected argument ${JSON.stringify(positionals[0])}: the command goes after --`,
    );
  }
  if (options.numTasks === undefined) {
    throw new ArrayJobError("script needs --num-tasks N: how many tasks the command's list has");
  }
  const full = { ...options, numTasks: options.numTasks, command: args.slice(end + 1) };
  if (options.out === "-") {
    const text = await clusterScript(full);
    await Deno.stdout.write(new TextEncoder().encode(text));
    return 0;
  }
  const paths = await writeClusterScripts(full);
  console.error(`arrayjob: wrote ${paths.join(", ")} for ${full.numTasks} tasks`);
  printSubmitHelp(full.scheduler ?? DEFAULT_SCHEDULER, paths, full.wait);
  console.log(paths.join("\n"));
  return 0;
}

function printSubmitHelp(scheduler: Scheduler, paths: readonly string[], wait?: boolean): void {
  const submits = paths.map((path) => submitCommand(scheduler, path, wait));
  for (const line of submitHints(submits, paths)) console.error(line);
}

// Past this many ranges a list line is cut (the rest: --json), as the fake's summary does.
const MOST_RANGES_SHOWN = 20;

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, COMMANDS.status!.options!);
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
        localRuns: await localRuns(dir),
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
  for (const run of await localRuns(dir)) console.log(describeLocalRun(run));
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

// A list line for a person: at most MOST_RANGES_SHOWN ranges (--json gives them all).
function shortList(tasks: TaskSet): string {
  return tasks.toString(MOST_RANGES_SHOWN);
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

async function submitCommandLine(args: string[]): Promise<number> {
  const end = args.indexOf("--");
  const extraArgs = end === -1 ? [] : args.slice(end + 1);
  const { values, positionals } = parseOptions(
    end === -1 ? args : args.slice(0, end),
    COMMANDS.submit!.options!,
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

async function cancelCommandLine(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, COMMANDS.cancel!.options!);
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

async function resubmit(args: string[]): Promise<number> {
  const which = WHICH_OPTIONS.map(({ flag }) => flag).filter((w) => args.includes(`--${w}`)) as (
    | "failed"
    | "missing"
    | "all-not-done"
  )[];
  if (which.length > 1) {
    throw new ArrayJobError(
      `give one of ${WHICH_OPTIONS.map(({ flag }) => `--${flag}`).join(", ")}, not ${which.length}`,
    );
  }
  const includeLive = args.includes("--include-live");
  const rest = args.filter((a) =>
    a !== "--include-live" && !WHICH_OPTIONS.some(({ flag }) => a === `--${flag}`)
  );
  const { options, positionals } = parseScriptFlags(rest, "resubmit");
  if (positionals.length !== 1) {
    throw new ArrayJobError("resubmit takes one DIR: the job's output directory (where run.sh is)");
  }
  const dir = positionals[0]!;
  const manifest = await readManifest(dir);
  const live = includeLive ? undefined : await liveStatus(dir);
  const exclude = new TaskSet(
    live === undefined
      ? []
      : [live.running, live.pending, live.runningOrLost, live.pendingOrLost].flatMap((t) =>
        t.ranges
      ),
  );
  if (exclude.length > 0) {
    console.error(
      `arrayjob: left out ${exclude.length} tasks that are running or pending` +
        `${
          live!.schedulerNote === undefined ? "" : " or may be (the scheduler could not be asked)"
        }: ` +
        `${shortList(exclude)}; --include-live puts them in`,
    );
  }
  const result = await writeResubmitScript(dir, { which: which[0], overrides: options, exclude });
  if (result.path === undefined) {
    console.error(
      `arrayjob: nothing to resubmit: no task of ${manifest.numTasks} is ${which[0] ?? "not done"}`,
    );
    return 0;
  }
  console.error(
    `arrayjob: wrote ${result.path}: ${result.indices.length} tasks ` +
      `(${result.indices.toString(MOST_RANGES_SHOWN)}) in ${result.numArrayTasks} array tasks`,
  );
  printSubmitHelp(
    options.scheduler ?? manifest.options.scheduler ?? DEFAULT_SCHEDULER,
    [result.path],
    options.wait ?? manifest.options.wait,
  );
  console.log(result.path);
  return 0;
}

// What each built-in template is, for 'arrayjob templates'.
const BUILTIN_TEMPLATES: Record<Scheduler | "body", string> = {
  sge: "Grid Engine header (#$ lines: -N, -o, -l, -t 1-N, -q), then {{> body}}",
  slurm: "Slurm header (#SBATCH lines: --job-name, --array=0-N, --mem, --time), then {{> body}}",
  body: "the shared shell body: finds its chunk, runs the command once per START:STOP range " +
    "(runTasks scripts once per chunk), writes the records",
};

async function install(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, COMMANDS.install!.options!);
  if (positionals.length > 0) {
    throw new ArrayJobError(`install takes no ${JSON.stringify(positionals[0])}: only --dir DIR`);
  }
  const home = Deno.env.get("HOME");
  const dir = (values.dir as string | undefined) ?? (home ? `${home}/.local/bin` : undefined);
  if (dir === undefined) throw new ArrayJobError("install needs --dir DIR: HOME is not set");
  const searchPath = (Deno.env.get("PATH") ?? "").split(":").filter((entry) => entry !== "");
  const onPath = (name: string) =>
    searchPath.find((entry) => {
      try {
        return Deno.statSync(`${entry}/${name}`).isFile;
      } catch {
        return false;
      }
    });
  await Deno.mkdir(dir, { recursive: true });
  const cli = new URL(import.meta.url);
  const target = shellQuote(cli.protocol === "file:" ? decodeURIComponent(cli.pathname) : cli.href);
  const run = `run --allow-all --quiet --no-config ${target} "$@"`;
  await writeExecutable(
    `${dir}/arrayjob`,
    `#!/bin/sh\n# arrayjob ${VERSION}, written by 'arrayjob install'. Without a deno on PATH, the\n` +
      `# Deno that npx fetches.\n` +
      `command -v deno >/dev/null 2>&1 && exec deno ${run}\nexec npx -y deno@2 ${run}\n`,
  );
  console.log(`installed ${dir}/arrayjob (runs ${target})`);
  const deno = onPath("deno");
  if (deno === undefined) {
    await Deno.copyFile(Deno.execPath(), `${dir}/deno.tmp`);
    await Deno.chmod(`${dir}/deno.tmp`, 0o755);
    await Deno.rename(`${dir}/deno.tmp`, `${dir}/deno`);
    console.log(`installed ${dir}/deno (a copy of ${Deno.execPath()}, Deno ${Deno.version.deno})`);
  } else {
    console.log(`kept the deno on PATH: ${deno}/deno`);
  }
  if (!searchPath.includes(dir)) {
    console.log(
      `${dir} is not on PATH: add it, e.g. echo 'export PATH="${dir}:$PATH"' >> ~/.profile`,
    );
  }
  return 0;
}

async function writeExecutable(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, text, { mode: 0o755 });
  await Deno.chmod(temporary, 0o755);
  await Deno.rename(temporary, path);
}

async function templates(args: string[]): Promise<number> {
  if (args.length === 1 && args[0] === "--values") {
    console.log(
      "The values a template can use ({{{name}}}; a section {{#name}}…{{/name}} is there only " +
        "when set),\nplus any given with --set NAME=VALUE:\n",
    );
    for (const { name, kind, meaning, example } of TEMPLATE_VALUES) {
      const label = kind === "value" ? "" : `[${kind}] `;
      console.log(`${name.padEnd(20)} ${label}${meaning}  e.g. ${example}`);
    }
    return 0;
  }
  if (args.length > 1) {
    throw new ArrayJobError(`templates takes at most one NAME (${SCHEDULERS.join(", ")})`);
  }
  if (args.length === 0) {
    for (const name of [...SCHEDULERS, "body" as const]) {
      console.log(`${name.padEnd(6)} ${BUILTIN_TEMPLATES[name]}`);
    }
    console.log(
      "\n'arrayjob templates NAME' prints one to copy and edit (--template FILE); " +
        "'arrayjob templates --values' lists the values.",
    );
    return 0;
  }
  const text = builtinTemplate(args[0] as Scheduler | "body");
  await Deno.stdout.write(new TextEncoder().encode(text));
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

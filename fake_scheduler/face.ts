/**
 * What both faces share: the submission itself ({@link submit}: split the command line, read the
 * script, parse, validate, run, summarise, report), the fake-only options (`--slots`, `--report`,
 * `--strict`, `--flavour`, `--max-array-size`), the submit context (directory, environment, user,
 * host) and log path checks. Each face is a {@link Dialect}: its directive parsing, environment
 * and output lines, in `qsub.ts` and `sbatch.ts`.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { shellQuote } from "../mod.ts";
import { jobStatus, type TaskSet } from "../job_dir.ts";
import {
  allocateJobIds,
  type ArrayjobTasks,
  consoleIO,
  defaultSlots,
  exitWithTasksOnSignal,
  type FaceIO,
  formatSummary,
  type JobDescription,
  type JobReport,
  parsePositiveInt,
  runArrayJob,
  type SlotPool,
  type TaskRecord,
  terminalProgress,
  UsageError,
} from "./core.ts";
import {
  type Diagnostic,
  Findings,
  type Flavour,
  FLAVOURS,
  formatDiagnostic,
} from "./diagnostics.ts";

/** Options that exist only in the fake. Their names collide with no real qsub/sbatch option. */
export interface FakeOptions {
  /** Parallel task slots (`--slots N`, env `ARRAYJOB_FAKE_SLOTS`), or a shared pool. */
  slots?: number | SlotPool;
  /** Write the JSON report here (`--report FILE`). */
  report?: string;
  /** Turn "likely wrong" warnings into errors (`--strict`). */
  strict?: boolean;
  /** Target Grid Engine flavour (`--flavour sge8|univa`). */
  flavour?: Flavour;
  /** Slurm MaxArraySize stand-in (`--max-array-size N`, env `ARRAYJOB_FAKE_MAX_ARRAY_SIZE`). */
  maxArraySize?: number;
  /** Only validate, do not run (used by `check`). */
  checkOnly?: boolean;
  /** `--help` was given. */
  help?: boolean;
}

/** Help text for the fake-only options, appended to both faces' `--help`. */
export const FAKE_OPTIONS_HELP = `Fake-only options (no real qsub/sbatch has them):
  --slots N            run at most N tasks at once (default: $ARRAYJOB_FAKE_SLOTS or CPU count)
  --report FILE        write a JSON report: one record per task (index, exit code, signal,
                       duration, log paths) plus the summary; for a script arrayjob rendered,
                       also its tasks done, failed and never finished (from its records)
  --strict             make "legal but likely wrong" warnings errors (unknown queue, 1-slot PE,
                       a resource one Grid Engine flavour lacks)
  --flavour F          Grid Engine flavour to hold the script to: sge8 (Son of Grid Engine 8.1.9)
                       or univa (Univa/Altair Grid Engine); default: warn about both
  --max-array-size N   (sbatch) largest allowed array index + 1, as Slurm's MaxArraySize
                       (default 1001, or $ARRAYJOB_FAKE_MAX_ARRAY_SIZE)
  --help               this text`;

/**
 * If `args[i]` is a fake-only option, store it in `fake` and return the index of the last argument
 * it consumed; otherwise return null. `--opt=value` and `--opt value` are both accepted.
 */
export function parseFakeOption(args: string[], i: number, fake: FakeOptions): number | null {
  const arg = args[i];
  if (!arg.startsWith("--")) return null;
  const eq = arg.indexOf("=");
  const name = eq > 0 ? arg.slice(0, eq) : arg;
  const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
  let last = i;
  const value = (): string => {
    if (inline !== undefined) return inline;
    if (i + 1 >= args.length) throw new UsageError(`${name} needs a value`);
    last = i + 1;
    return args[i + 1];
  };
  if (name === "--slots") {
    fake.slots = parsePositiveInt(value(), "--slots");
  } else if (name === "--report") {
    fake.report = value();
  } else if (name === "--strict" && inline === undefined) {
    fake.strict = true;
  } else if (name === "--flavour" || name === "--flavor") {
    fake.flavour = parseFlavour(value());
  } else if (name === "--max-array-size") {
    fake.maxArraySize = parsePositiveInt(value(), "--max-array-size");
  } else if (name === "--help" && inline === undefined) {
    fake.help = true;
  } else {
    return null;
  }
  return last;
}

/** The value of `--flavour`, or a one-line error naming it and the flavours there are. */
export function parseFlavour(value: string): Flavour {
  if (!FLAVOURS.includes(value as Flavour)) {
    throw new UsageError(`--flavour '${value}' is not known; use one of: ${FLAVOURS.join(", ")}`);
  }
  return value as Flavour;
}

/** Where and as whom a job is submitted. */
export interface SubmitContext {
  /** The directory qsub/sbatch was run in. */
  submitDir: string;
  /** The submitter's environment. */
  env: Record<string, string>;
  /** The submitting user's name. */
  user: string;
  /** The submitting user's home directory. */
  home: string;
  /** This host's name. */
  host: string;
}

/** The context of the current process. */
export function currentContext(cwd?: string, env?: Record<string, string>): SubmitContext {
  const e = env ?? Deno.env.toObject();
  let user = e.USER ?? e.LOGNAME ?? "";
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  return {
    submitDir: resolve(cwd ?? Deno.cwd()),
    env: e,
    user,
    home: e.HOME ?? "/",
    host: Deno.hostname(),
  };
}

/** Resolve `path` against `base` unless absolute. */
export function absolute(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

/**
 * Check that every log file's directory exists. The real schedulers accept such a job and then
 * fail it where nobody looks (SGE: Eqw, and `qsub -sync y` hangs; Slurm: a line in the slurmd
 * log), so the fake refuses it up front with the path in the message.
 */
export function missingLogDirs(job: JobDescription): string[] {
  const dirs = new Set<string>();
  for (const t of job.tasks) {
    dirs.add(dirname(t.stdoutPath));
    if (t.stderrPath) dirs.add(dirname(t.stderrPath));
  }
  const missing: string[] = [];
  for (const d of dirs) {
    try {
      if (!Deno.statSync(d).isDirectory) missing.push(d);
    } catch {
      missing.push(d);
    }
  }
  return missing;
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

/** Print diagnostics; returns true when any is an error. */
export function printDiagnostics(
  io: FaceIO,
  prefix: string,
  diagnostics: Diagnostic[],
  file?: string,
): boolean {
  for (const d of diagnostics) io.stderr(`${prefix}: ${formatDiagnostic(d, file)}`);
  return diagnostics.some((d) => d.severity === "error");
}

/**
 * Run a built job: progress on a terminal, summary on stderr (with the task-level view when the
 * script is one arrayjob rendered), JSON report if asked for; `onTask` sees each task as it
 * finishes (qsub -sync y prints a line per task then).
 */
export async function runAndReport(
  job: JobDescription,
  fake: FakeOptions,
  io: FaceIO,
  prefix: string,
  submitDir: string,
  onTask?: (record: TaskRecord) => void,
): Promise<JobReport> {
  const progress = io.progress ? terminalProgress(prefix) : undefined;
  const report = await runArrayJob(job, {
    slots: fake.slots,
    onTaskDone: (record, done, total, failed) => {
      onTask?.(record);
      progress?.(record, done, total, failed);
    },
  });
  io.stderr(formatSummary(report, prefix));
  const dir = arrayjobDir(job);
  if (dir !== undefined) {
    try {
      report.arrayjob = await arrayjobTasks(dir);
      io.stderr(formatArrayjobTasks(report.arrayjob, prefix, submitDir));
    } catch (e) {
      // The job ran; a manifest the fake cannot read must not turn that into a failure.
      io.stderr(`${prefix}: warning: cannot read arrayjob's records in ${dir}: ${errorText(e)}`);
    }
  }
  if (fake.report) {
    await Deno.writeTextFile(fake.report, JSON.stringify(report, null, 2) + "\n");
  }
  return report;
}

/**
 * The output directory of a script arrayjob rendered: the directory of the job's log files (`-o`,
 * `--output`) or of the script itself, whichever holds `arrayjob.json`; undefined for any other
 * script.
 */
export function arrayjobDir(job: JobDescription): string | undefined {
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

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The result of an in-process submission. */
export interface SubmitResult {
  /** What the real command would exit with. */
  exitCode: number;
  /** The report, when tasks ran. */
  report?: JobReport;
  /** Everything found while parsing. */
  diagnostics: Diagnostic[];
}

/** Options for an in-process submission ({@link submit}, `qsub`, `sbatch`). */
export interface FaceOptions {
  /** Where output goes; default: the console. */
  io?: FaceIO;
  /** Submit directory; default: the process's cwd. */
  cwd?: string;
  /** Submit environment; default: the process's environment. */
  env?: Record<string, string>;
  /** Fake-only settings that win over the ones on the command line (e.g. a shared slot pool). */
  fake?: FakeOptions;
}

/**
 * What a face supplies to {@link submit}: its dialect and nothing else (how its options and
 * directives read, the job and environment they make, what the real command prints and exits
 * with). `Req` is the face's parsed request.
 */
export interface Dialect<Req> {
  /** Prefix of every line the face prints, e.g. "fake qsub". */
  readonly prefix: string;
  /** The face's `--help` text. */
  readonly help: string;
  /**
   * First pass over the command line, which only splits it: how many of the arguments after
   * the option `args[i]` are its values, or null when `args[i]` is the script.
   */
  valueCount(args: string[], i: number): number | null;
  /** Whether the script is a file to read (false for `qsub -b y`, whose "script" is a command). */
  readsScript(words: string[]): boolean;
  /** The script's directives merged with the command line; usage errors become findings. */
  parse(words: string[], text: string | null, findings: Findings, fake: FakeOptions): Req;
  /** How many consecutive job ids the job takes (Slurm: one per array task). */
  jobIds(req: Req): number;
  /** Build the job from a request that parsed without errors. */
  build(
    req: Req,
    script: string,
    scriptArgs: string[],
    text: string | null,
    ctx: SubmitContext,
    firstJobId: number,
  ): JobDescription;
  /** Refuse, as findings, what the real scheduler would accept and then fail or hang on. */
  checkRunnable(job: JobDescription, req: Req, findings: Findings): void;
  /** The line the real command prints on submission. */
  submitLine(req: Req, job: JobDescription): string;
  /** What the real command prints as each task ends, if anything. */
  onTask?(req: Req, job: JobDescription, io: FaceIO): ((record: TaskRecord) => void) | undefined;
  /** The exit code of the real command once every task ran (`-sync y`, `--wait`, or 0). */
  exitCode(req: Req, report: JobReport): number;
  /** Warnings about the tasks' outcomes that only this scheduler gives meaning to. */
  afterRun?(report: JobReport, io: FaceIO): void;
}

/**
 * Submit in-process: split the command line, parse and validate, print the submission line,
 * run every task and return the exit code the real command would give, with the report.
 */
export async function submit<Req>(
  dialect: Dialect<Req>,
  args: string[],
  options: FaceOptions = {},
): Promise<SubmitResult> {
  const { prefix } = dialect;
  const io = options.io ?? consoleIO();
  const fake: FakeOptions = {};
  const words: string[] = [];
  let script: string | undefined;
  let scriptArgs: string[] = [];
  const pre = new Findings();
  try {
    // Only splits the command line into fake options, scheduler options and the script; option
    // values are validated by the dialect's parse.
    for (let i = 0; i < args.length; i++) {
      const last = parseFakeOption(args, i, fake);
      if (last !== null) {
        i = last;
        continue;
      }
      const values = dialect.valueCount(args, i);
      if (values === null) {
        script = args[i];
        scriptArgs = args.slice(i + 1);
        break;
      }
      words.push(...args.slice(i, i + values + 1));
      i += values;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    pre.add("fatal", e.message);
  }
  Object.assign(fake, options.fake ?? {});
  try {
    // Resolved now so that a bad ARRAYJOB_FAKE_SLOTS is refused before anything is submitted.
    fake.slots ??= defaultSlots();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    pre.add("fatal", e.message);
  }
  if (fake.help) {
    io.stdout(dialect.help);
    return { exitCode: 0, diagnostics: [] };
  }
  if (printDiagnostics(io, prefix, pre.list)) return { exitCode: 1, diagnostics: pre.list };
  const ctx = currentContext(options.cwd, options.env);
  const findings = new Findings({ strict: fake.strict, flavour: fake.flavour });
  if (script === undefined) {
    findings.add(
      "fatal",
      "no job script given (reading a script from stdin is not supported by the fake)",
    );
    printDiagnostics(io, prefix, findings.list);
    return { exitCode: 1, diagnostics: findings.list };
  }
  let text: string | null = null;
  if (dialect.readsScript(words)) {
    try {
      text = await Deno.readTextFile(absolute(ctx.submitDir, script));
    } catch (e) {
      findings.add("fatal", `cannot read job script '${script}': ${errorText(e)}`);
    }
  }
  // With an unreadable script the command line is still parsed, so all its errors show at once.
  const req = dialect.parse(words, text, findings, fake);
  if (fake.report) fake.report = absolute(ctx.submitDir, fake.report);
  let job: JobDescription | undefined;
  if (!findings.hasErrors) {
    job = dialect.build(req, script, scriptArgs, text, ctx, allocateJobIds(dialect.jobIds(req)));
    dialect.checkRunnable(job, req, findings);
  }
  if (printDiagnostics(io, prefix, findings.list, script) || !job) {
    return { exitCode: findings.exitCode, diagnostics: findings.list };
  }
  io.stdout(dialect.submitLine(req, job));
  const report = await runAndReport(
    job,
    fake,
    io,
    prefix,
    ctx.submitDir,
    dialect.onTask?.(req, job, io),
  );
  const exitCode = dialect.exitCode(req, report);
  dialect.afterRun?.(report, io);
  return { exitCode, report, diagnostics: findings.list };
}

/**
 * Command-line entry point of a face: submit `args` on the console, taking the running tasks
 * down on Ctrl-C, and return the exit code; an unexpected failure is one line on stderr.
 */
export async function faceMain<Req>(dialect: Dialect<Req>, args: string[]): Promise<number> {
  exitWithTasksOnSignal();
  try {
    return (await submit(dialect, args)).exitCode;
  } catch (e) {
    console.error(`${dialect.prefix}: error: ${errorText(e)}`);
    return 1;
  }
}

/**
 * Refuse a job whose log directories or working directory do not exist: one error each, worded
 * by `logDir` and `workDir` with what the real scheduler does then.
 */
export function refuseMissingDirs(
  job: JobDescription,
  findings: Findings,
  logDir: (dir: string) => string,
  workDir: (dir: string) => string,
): void {
  for (const dir of missingLogDirs(job)) findings.add("fatal", logDir(dir));
  if (!isDirectory(job.cwd)) findings.add("fatal", workDir(job.cwd));
}

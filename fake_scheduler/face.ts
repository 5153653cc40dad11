/**
 * Plumbing both faces share: the fake-only options (`--slots`, `--report`, `--strict`,
 * `--flavour`, `--max-array-size`), the submit context (directory, environment, user, host), log
 * path checks, and running a built job with summary, progress and JSON report. The dialect rules
 * themselves stay in `qsub.ts` and `sbatch.ts`.
 *
 * @module
 */

import { userInfo } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { formatIndices, jobStatus, shellQuote } from "../mod.ts";
import {
  type ArrayjobTasks,
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
import { type Diagnostic, type Flavour, FLAVOURS, formatDiagnostic } from "./diagnostics.ts";

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
    const v = value();
    if (!FLAVOURS.includes(v as Flavour)) {
      throw new UsageError(`--flavour '${v}' is not known; use one of: ${FLAVOURS.join(", ")}`);
    }
    fake.flavour = v as Flavour;
  } else if (name === "--max-array-size") {
    fake.maxArraySize = parsePositiveInt(value(), "--max-array-size");
  } else if (name === "--help" && inline === undefined) {
    fake.help = true;
  } else {
    return null;
  }
  return last;
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
  const group = (tasks: readonly number[]) => ({
    count: tasks.length,
    tasks: formatIndices(tasks),
  });
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

/**
 * A job's directory: writing its scripts there with the manifest (`arrayjob.json`) that later
 * commands start from, and reading the records its array tasks leave into every task's status.
 *
 * @example Write a job, read its status
 * ```ts
 * import { jobStatus, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 3, command: ["./fit"], outputDir: dir });
 * assert.equal(String((await jobStatus(dir)).neverFinished), "0:3");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError, parseRecordLine, parseSlice, selectIndices, shellQuote } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf, submitCommand } from "./dialects.ts";
import {
  type ClusterScriptOptions,
  type JobPlan,
  programOptions,
  RECORDS_DIR,
  renderJob,
  sameJobCommand,
  type WriteClusterScriptOptions,
  type WriteClusterScriptsOptions,
} from "./script.ts";
import { parseScriptFlags, withFlagName } from "./script_flags.ts";

// ---------------------------------------------------------------------------------------------
// Writing a job: scripts, manifest, records directory

/**
 * Renders the array-job script and writes it: creates the output directory (real Grid Engine
 * leaves a task in error state, and `qsub -sync y` hangs, when the log directory is missing),
 * writes the script atomically (a temporary file renamed into place, so a failure leaves no
 * half-written script), and makes it executable (mode 0755). Beside it go the job's manifest
 * (`arrayjob.json`, which {@linkcode jobStatus} and {@linkcode writeResubmitScript} read), the
 * `records/` directory and, with {@linkcode ClusterScriptOptions.chunks}, the chunk map.
 *
 * @param options What to run, with which resources, and where to write.
 * @returns The absolute path of the written script.
 * @throws {ArrayJobError} When an option is invalid, or the output directory holds the records
 *   of a different job; nothing is written then.
 *
 * @example Writing and inspecting a script
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const path = await writeClusterScript({ numTasks: 14, command: ["python3", "do_something.py"], outputDir: dir });
 * assert.equal(path, `${dir}/run.sh`);
 * assert.match(await Deno.readTextFile(path), /^#\$ -t 1-14$/m);
 * assert.equal((await Deno.stat(path)).mode! & 0o777, 0o755);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeClusterScript(options: WriteClusterScriptOptions): Promise<string> {
  const [path] = await writeJob(await renderJob({ ...options, split: false }));
  return path!;
}

/**
 * Like {@linkcode writeClusterScript}, but with `split` an array larger than the scheduler's
 * limit becomes several scripts, each covering its own consecutive range of tasks. Submit them
 * all; {@linkcode jobStatus} sees them as one job.
 *
 * @param options What to run, with which resources, where to write, and whether to split.
 * @returns The absolute paths of the written scripts, in task order.
 * @throws {ArrayJobError} When an option is invalid; nothing is written then.
 *
 * @example 2500 tasks on Slurm, whose arrays stop at index 1000
 * ```ts
 * import { writeClusterScripts } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const paths = await writeClusterScripts({
 *   scheduler: "slurm", numTasks: 2500, command: ["./fit"], outputDir: dir, split: true,
 * });
 * assert.deepEqual(paths, [`${dir}/run-1.sh`, `${dir}/run-2.sh`, `${dir}/run-3.sh`]);
 * assert.match(await Deno.readTextFile(paths[2]!), /^#SBATCH --array=0-497$/m);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeClusterScripts(options: WriteClusterScriptsOptions): Promise<string[]> {
  return await writeJob(await renderJob(options));
}

async function writeJob(plan: JobPlan): Promise<string[]> {
  const { outputDir, numTasks, options } = plan;
  // A resubmission (explicit chunks) belongs to the job the manifest describes: it keeps it.
  const resubmission = plan.scripts[0]!.chunkMap !== undefined;
  // Everything that can be checked is checked before the first byte is written.
  for (const script of plan.scripts) {
    const found = await Deno.stat(script.path).catch(() => undefined);
    if (found?.isDirectory) {
      throw new ArrayJobError(
        `${JSON.stringify(script.path)} is a directory: give the script's file path`,
        "out",
      );
    }
  }
  const created = await makeOutputDir(outputDir);
  try {
    return await withJobLock(outputDir, async (staged) => {
      await removeStaleTemporaries(outputDir);
      const existing = await existingJob(outputDir);
      if (
        existing !== undefined && (existing.numTasks !== numTasks ||
          !sameJobCommand(existing.options.command, options.command))
      ) {
        throw new JobDirError(
          `${outputDir} holds the records of another job (${existing.numTasks} tasks of ` +
            `${JSON.stringify(existing.options.command)}): choose another output directory, or ` +
            `delete ${path.join(outputDir, MANIFEST)} and ${path.join(outputDir, RECORDS_DIR)}`,
        );
      }
      if (resubmission && existing === undefined) {
        throw new JobDirError(`${outputDir} has no ${MANIFEST}: a resubmission needs its job`);
      }
      const scriptNames = plan.scripts.map((script) => path.relative(outputDir, script.path));
      // Stage every file, then rename them into place, the manifest last: an interruption or a
      // full disk leaves the old job or the new one, never a manifest for scripts not written.
      const renames: [string, string][] = [];
      for (const script of plan.scripts) {
        if (resubmission && await exists(script.path)) {
          throw new JobDirError(
            `${script.path} was written meanwhile by another resubmit: run resubmit again`,
          );
        }
        await Deno.mkdir(path.dirname(script.path), { recursive: true });
        if (script.chunkMap) {
          renames.push([
            await stage(staged, script.chunkMap.path, script.chunkMap.text),
            script.chunkMap.path,
          ]);
        }
        renames.push([await stage(staged, script.path, script.text, 0o755), script.path]);
      }
      const manifestPath = path.join(outputDir, MANIFEST);
      if (!resubmission) {
        const manifest: JobManifest = { version: 1, numTasks, options, scripts: scriptNames };
        renames.push([
          await stage(staged, manifestPath, JSON.stringify(manifest, null, 2) + "\n"),
          manifestPath,
        ]);
      }
      await Deno.mkdir(path.join(outputDir, RECORDS_DIR), { recursive: true });
      for (const [temporary, target] of renames) {
        await Deno.rename(temporary, target);
        staged.delete(temporary);
      }
      // The parts of an earlier split that this job no longer has would run tasks twice.
      if (!resubmission && (existing?.scripts?.length ?? 0) > 1) {
        for (const name of existing?.scripts ?? []) {
          if (!scriptNames.includes(name) && !name.startsWith("..") && !path.isAbsolute(name)) {
            await Deno.remove(path.join(outputDir, name)).catch(() => {});
          }
        }
      }
      return plan.scripts.map((script) => script.path);
    });
  } catch (error) {
    if (created) await removeIfEmpty(outputDir);
    if (error instanceof ArrayJobError || !(error instanceof Error)) throw error;
    throw new JobDirError(`cannot write the job into ${outputDir}: ${error.message}`);
  }
}

/**
 * An error about a job's directory rather than about an option: unreadable, another job's, in
 * use, or refused by the file system. A command line exits with 1 (the environment) for it.
 *
 * @example
 * ```ts
 * import { JobDirError, readManifest } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(() => readManifest("/nonexistent"), JobDirError);
 * ```
 */
export class JobDirError extends ArrayJobError {
  /**
   * Creates the error.
   *
   * @param reason What is wrong with the directory and what to do, in one line.
   *
   * @example
   * ```ts
   * import { JobDirError } from "./job_dir.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new JobDirError("out is in use").message, "out is in use");
   * ```
   */
  constructor(reason: string) {
    super(reason);
    this.name = "JobDirError";
  }
}

const TEMPORARY_SUFFIX = ".arrayjob-tmp";
const LOCK = ".arrayjob.lock";

async function exists(file: string): Promise<boolean> {
  return await Deno.lstat(file).then(() => true, () => false);
}

// Creates the output directory; true when this call created it (so a failure removes it).
async function makeOutputDir(outputDir: string): Promise<boolean> {
  const found = await Deno.stat(outputDir).catch(() => undefined);
  if (found?.isDirectory) return false;
  if (found !== undefined) {
    throw new ArrayJobError(`${JSON.stringify(outputDir)} is a file, not a directory`, "outputDir");
  }
  try {
    await Deno.mkdir(outputDir, { recursive: true });
  } catch (error) {
    throw new JobDirError(`cannot create ${outputDir}: ${(error as Error).message}`);
  }
  return true;
}

async function removeIfEmpty(dir: string): Promise<void> {
  await Deno.remove(path.join(dir, RECORDS_DIR)).catch(() => {});
  await Deno.remove(dir).catch(() => {});
}

// Writes a temporary file beside `target`, remembered in `staged` until it is renamed.
async function stage(
  staged: Set<string>,
  target: string,
  text: string,
  mode = 0o644,
): Promise<string> {
  const temporary = `${target}.${crypto.randomUUID().slice(0, 8)}${TEMPORARY_SUFFIX}`;
  staged.add(temporary);
  await Deno.writeTextFile(temporary, text, { mode, createNew: true });
  await Deno.chmod(temporary, mode); // the umask may have narrowed it
  return temporary;
}

// Temporary files that a killed render (SIGKILL: no handler runs) left behind.
async function removeStaleTemporaries(outputDir: string): Promise<void> {
  for await (const entry of Deno.readDir(outputDir)) {
    if (entry.name.endsWith(TEMPORARY_SUFFIX)) {
      await Deno.remove(path.join(outputDir, entry.name)).catch(() => {});
    }
  }
}

/**
 * Runs `fn` holding the directory's lock, so that two renders or resubmits never interleave
 * their manifest, scripts and chunk maps: the second gets a one-line error. The lock names its
 * process; a lock whose process is gone is taken over. On SIGINT or SIGTERM the staged files and
 * the lock are removed before the process exits.
 */
async function withJobLock<T>(
  outputDir: string,
  fn: (staged: Set<string>) => Promise<T>,
): Promise<T> {
  const lock = path.join(outputDir, LOCK);
  for (let attempt = 0;; attempt++) {
    try {
      await Deno.writeTextFile(lock, `${Deno.pid}\n`, { createNew: true });
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const holder = (await Deno.readTextFile(lock).catch(() => "")).trim();
      const alive = /^[0-9]+$/.test(holder) &&
        (holder === String(Deno.pid) || await exists(`/proc/${holder}`));
      if (alive || attempt > 0 || holder === "") {
        throw new JobDirError(
          `${outputDir} is being written by another arrayjob (pid ${holder || "unknown"}): ` +
            `wait for it to finish, or delete ${lock} if none runs`,
        );
      }
      await Deno.remove(lock).catch(() => {});
    }
  }
  const staged = new Set<string>();
  const cleanUp = () => {
    for (const file of staged) {
      try {
        Deno.removeSync(file);
      } catch { /* already renamed or never written */ }
    }
    try {
      Deno.removeSync(lock);
    } catch { /* already gone */ }
  };
  const signals = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => {
      cleanUp();
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    };
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  try {
    return await fn(staged);
  } finally {
    for (const remove of signals) remove();
    cleanUp();
  }
}

/** What {@linkcode writeProgramScripts} did: printed nothing, so the caller can say it. */
export type ProgramScripts =
  | { readonly text: string }
  | {
    readonly text?: undefined;
    readonly paths: readonly string[];
    readonly submitCommands: readonly (readonly string[])[];
    /** What to tell the user: how to submit each script, and how to try it first. */
    readonly hints: readonly string[];
  };

/**
 * Writes the array-job script of a program that runs itself (`runTasks --cluster-script`), from
 * its command-line flags (script_flags.ts) over `defaults`. With `--out -` it returns
 * the text instead. Errors name the flag (`--job-name`), as the user typed it.
 *
 * @param request The program, its number of tasks, the flags after `--cluster-script`, and
 *   defaults.
 * @returns The script's text, or the written paths and how to submit each.
 * @throws {ArrayJobError} On a bad flag or option.
 *
 * @example
 * ```ts
 * import { writeProgramScripts } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const written = await writeProgramScripts({
 *   numTasks: 4, program: "/home/me/fit.ts", args: ["--scheduler=slurm", "--out", "-"],
 * });
 * assert.match(written.text!, /^#SBATCH --job-name=fit$/m);
 * ```
 */
export async function writeProgramScripts(request: {
  numTasks: number;
  program: string | URL;
  args: readonly string[];
  defaults?: Partial<WriteClusterScriptsOptions>;
}): Promise<ProgramScripts> {
  try {
    const { options: fromArgs, positionals } = parseScriptFlags(request.args, "cluster-script");
    if (positionals.length > 0) {
      throw new ArrayJobError(
        `unexpected argument ${JSON.stringify(positionals[0])} after --cluster-script`,
      );
    }
    const settings = { ...request.defaults, ...fromArgs };
    const options = programOptions(request.numTasks, request.program, settings);
    if (options.out === "-") return { text: (await renderJob(options)).scripts[0]!.text };
    const paths = await writeClusterScripts(options);
    const scheduler = options.scheduler ?? DEFAULT_SCHEDULER;
    const submitCommands = paths.map((path) => submitCommand(scheduler, path, options.wait));
    return { paths, submitCommands, hints: submitHints(submitCommands, paths) };
  } catch (error) {
    throw error instanceof ArrayJobError ? withFlagName(error) : error;
  }
}

/**
 * The lines that follow a written job, on stderr, wherever it was written (`arrayjob script`,
 * `arrayjob resubmit`, `--cluster-script`): how to submit each script, and how to try the first
 * on the fake scheduler.
 *
 * @param submitCommands How to submit each script ({@linkcode submitCommand}).
 * @param paths The scripts.
 * @returns The lines.
 *
 * @example
 * ```ts
 * import { submitHints } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(submitHints([["sbatch", "/j/run.sh"]], ["/j/run.sh"]), [
 *   "submit with:  sbatch /j/run.sh",
 *   "try it first: arrayjob simulate /j/run.sh",
 * ]);
 * ```
 */
export function submitHints(
  submitCommands: readonly (readonly string[])[],
  paths: readonly string[],
): string[] {
  return [
    ...submitCommands.map((submit) => `submit with:  ${submit.map(shellQuote).join(" ")}`),
    `try it first: arrayjob simulate ${shellQuote(paths[0]!)}`,
  ];
}

// ---------------------------------------------------------------------------------------------
// The manifest

/** What is recorded about a job in `<outputDir>/arrayjob.json`. */
export interface JobManifest {
  /** The manifest format. */
  readonly version: 1;
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** The options the job was rendered with, paths made absolute; resubmissions start from them. */
  readonly options: Omit<ClusterScriptOptions, "chunks" | "onNotice">;
  /** The scripts it wrote, relative to the output directory; a re-render removes those it drops. */
  readonly scripts?: readonly string[];
}

/** The manifest's file name, inside a job's output directory. */
export const MANIFEST = "arrayjob.json";

/**
 * Reads the manifest that {@linkcode writeClusterScript} left in an output directory.
 *
 * @param outputDir The job's output directory.
 * @returns The manifest.
 * @throws {ArrayJobError} When there is none, naming the directory.
 *
 * @example
 * ```ts
 * import { readManifest, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 5, command: ["./fit"], outputDir: dir });
 * assert.equal((await readManifest(dir)).numTasks, 5);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifest(outputDir: string): Promise<JobManifest> {
  const file = path.join(outputDir, MANIFEST);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new JobDirError(`${file} cannot be read: ${(error as Error).message}`);
    }
    if (await hasRecords(outputDir)) {
      throw new JobDirError(
        `${outputDir} has records but no ${MANIFEST}, so its tasks cannot be read: restore ` +
          `the manifest, or start the job over in another output directory`,
      );
    }
    throw new JobDirError(
      `${outputDir} has no ${MANIFEST}: give the output directory of a script written by ` +
        `arrayjob (its --output-dir, where run.sh is)`,
    );
  }
  const problem = manifestProblem(text);
  if (problem !== undefined) {
    throw new JobDirError(
      `${file} cannot be read (${problem}), so the job's tasks cannot be told apart: restore ` +
        `it, or delete it and the records and render the job again`,
    );
  }
  const recordsDir = path.join(outputDir, RECORDS_DIR);
  const records = await Deno.stat(recordsDir).catch(() => undefined);
  if (records !== undefined && !records.isDirectory) {
    throw new JobDirError(`${recordsDir} is not a directory, so the job's records cannot be read`);
  }
  return JSON.parse(text) as JobManifest;
}

// What makes a manifest's text unusable, or undefined when it is one arrayjob wrote.
function manifestProblem(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.trim() === "" ? "it is empty" : "it is not complete JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `it holds ${JSON.stringify(value)?.slice(0, 20)}, not an object`;
  }
  const { version, numTasks, options, scripts } = value as Record<string, unknown>;
  if (version !== 1) return `unknown version ${JSON.stringify(version)}`;
  if (typeof numTasks !== "number" || !Number.isSafeInteger(numTasks) || numTasks < 1) {
    return `numTasks is ${JSON.stringify(numTasks)}, not a whole number ≥ 1`;
  }
  if (typeof options !== "object" || options === null) return "it has no options";
  const { command, jobName, outputDir } = options as Record<string, unknown>;
  if (
    !Array.isArray(command) || command.length === 0 ||
    !command.every((word) => typeof word === "string")
  ) {
    return "options.command is not a list of words";
  }
  if (typeof jobName !== "string" || typeof outputDir !== "string") {
    return "options.jobName or options.outputDir is missing";
  }
  if (
    scripts !== undefined &&
    !(Array.isArray(scripts) && scripts.every((name) => typeof name === "string"))
  ) {
    return "scripts is not a list of file names";
  }
  return undefined;
}

async function hasRecords(outputDir: string): Promise<boolean> {
  try {
    for await (const entry of Deno.readDir(path.join(outputDir, RECORDS_DIR))) {
      if (RECORD_NAME.test(entry.name)) return true;
    }
  } catch { /* no records directory */ }
  return false;
}

// The job an output directory already holds: undefined when it holds none; an error when it
// holds records that cannot be attributed (a deleted or corrupt manifest), rather than rendering
// a different job over them.
async function existingJob(outputDir: string): Promise<JobManifest | undefined> {
  const manifestExists = await exists(path.join(outputDir, MANIFEST));
  if (!manifestExists && !await hasRecords(outputDir)) return undefined;
  try {
    return await readManifest(outputDir);
  } catch (error) {
    if (!(error instanceof JobDirError)) throw error;
    throw new JobDirError(
      `${outputDir} holds records whose ${MANIFEST} is missing or unreadable: choose another ` +
        `output directory, or delete ${path.join(outputDir, MANIFEST)} and ` +
        `${path.join(outputDir, RECORDS_DIR)} to start over`,
    );
  }
}

const RECORD_NAME = /^[0-9]+\.[0-9]+$/;

// ---------------------------------------------------------------------------------------------
// Status: what the records say

/**
 * A set of task indices kept as ascending, disjoint ranges, so that its memory grows with the
 * number of ranges, not of tasks: a job of 10^9 tasks with a few failures is a few ranges. It
 * iterates its indices, and its string is the `--tasks` spec that selects them.
 *
 * @example
 * ```ts
 * import { TaskSet } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const set = TaskSet.of([7, 1, 2, 3]);
 * assert.equal(set.length, 4);
 * assert.deepEqual([...set], [1, 2, 3, 7]);
 * assert.equal(String(set), "1:4,7");
 * ```
 */
export class TaskSet implements Iterable<number> {
  /** The ranges `[start, stop)`, ascending, neither overlapping nor touching. */
  readonly ranges: readonly (readonly [number, number])[];
  /** The number of indices. */
  readonly length: number;

  /**
   * Makes a set of ranges, which may be unsorted, overlap or touch.
   *
   * @param ranges Half-open ranges `[start, stop)`.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./job_dir.ts";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new TaskSet([[5, 9], [0, 2], [2, 3]]).ranges, [[0, 3], [5, 9]]);
   * ```
   */
  constructor(ranges: Iterable<readonly [number, number]>) {
    const sorted = [...ranges].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    const merged: [number, number][] = [];
    let length = 0;
    for (const [a, b] of sorted) {
      const last = merged.at(-1);
      if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    for (const [a, b] of merged) length += b - a;
    this.ranges = merged;
    this.length = length;
  }

  /**
   * Makes a set of single indices.
   *
   * @param indices Indices in any order; duplicates are ignored.
   * @returns The set.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./job_dir.ts";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(TaskSet.of([3, 4]).ranges, [[3, 5]]);
   * ```
   */
  static of(indices: Iterable<number>): TaskSet {
    return new TaskSet([...indices].map((i) => [i, i + 1] as const));
  }

  /**
   * The indices of this set that are not in `other`.
   *
   * @param other The indices to leave out.
   * @returns A new set.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./job_dir.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(String(new TaskSet([[0, 10]]).without(TaskSet.of([3, 4, 9]))), "0:3,5:9");
   * ```
   */
  without(other: TaskSet): TaskSet {
    const kept: [number, number][] = [];
    let o = 0;
    for (const [a, b] of this.ranges) {
      let from = a;
      while (o < other.ranges.length && other.ranges[o]![1] <= from) o++;
      for (let k = o; k < other.ranges.length && other.ranges[k]![0] < b; k++) {
        const [x, y] = other.ranges[k]!;
        if (x > from) kept.push([from, x]);
        from = Math.max(from, y);
      }
      if (from < b) kept.push([from, b]);
    }
    return new TaskSet(kept);
  }

  /** The indices, ascending. */
  *[Symbol.iterator](): Iterator<number> {
    for (const [a, b] of this.ranges) for (let i = a; i < b; i++) yield i;
  }

  /**
   * The spec that selects exactly these tasks (`3,17:20`); `""` for none.
   *
   * @param maxRanges At most this many ranges, then `…` and how many more.
   * @returns The spec.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./job_dir.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(TaskSet.of([1, 3, 5]).toString(2), "1,3,… (1 more range)");
   * ```
   */
  toString(maxRanges = Infinity): string {
    const shown = this.ranges.slice(0, maxRanges)
      .map(([a, b]) => b === a + 1 ? `${a}` : `${a}:${b}`).join(",");
    const more = this.ranges.length - Math.min(maxRanges, this.ranges.length);
    return more === 0 ? shown : `${shown},… (${more} more range${more === 1 ? "" : "s"})`;
  }

  /**
   * The spec, for `JSON.stringify`.
   *
   * @returns The same as {@linkcode TaskSet.toString}.
   *
   * @example
   * ```ts
   * import { TaskSet } from "./job_dir.ts";
   * import assert from "node:assert/strict";
   *
   * assert.equal(JSON.stringify({ failed: TaskSet.of([2, 3]) }), '{"failed":"2:4"}');
   * ```
   */
  toJSON(): string {
    return this.toString();
  }
}

/** Failed tasks, as {@linkcode jobStatus} reports them: consecutive ones of one record together. */
export interface TaskFailure {
  /** The first task's index in the full list. */
  readonly index: number;
  /** How many consecutive tasks, from {@linkcode index}, failed alike. */
  readonly count: number;
  /** The exit status of their last failed run. */
  readonly exitCode: number;
  /** The log of the array task that ran it, when it exists. */
  readonly log?: string;
}

/** What {@linkcode jobStatus} found: every task is in exactly one of the three lists. */
export interface JobStatus {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** Tasks that succeeded in at least one run. */
  readonly done: TaskSet;
  /** Tasks that never succeeded and failed at least once. */
  readonly failed: TaskSet;
  /**
   * Tasks with no outcome: never started, or started by an array task that did not finish
   * (killed for its runtime or memory, or its node died).
   */
  readonly neverFinished: TaskSet;
  /** The failed tasks with their exit status and log. */
  readonly failures: readonly TaskFailure[];
  /** How many record files were read: one per array task that started. */
  readonly records: number;
}

/**
 * Reads every record in `<outputDir>/records/` and tells which tasks are done, failed, or never
 * finished, over all runs of the job (the first submission and every resubmission). A task is
 * done once any run succeeded; an array task that was killed before it wrote its end leaves its
 * unfinished tasks as never finished, never as done.
 *
 * A record is one file per array task, `<job id>.<array task id>`, of tab-separated lines:
 * `start SPEC UPTIME` when the array task starts, `task INDEX STATUS MILLISECONDS` for each task
 * {@linkcode runTasks} finishes, and `end EXIT UPTIME` when the command exits (UPTIME is the
 * node's seconds since boot, so end minus start is the array task's duration). Without `task`
 * lines (a program that does not use runTasks), the command's exit status counts for every task
 * of its spec.
 *
 * @param outputDir The job's output directory.
 * @returns The status of every task.
 * @throws {ArrayJobError} When the directory has no manifest.
 *
 * @example
 * ```ts
 * import { jobStatus, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 6, step: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.1`, "start\t0:2\t1\nend\t0\t2\n");
 * await Deno.writeTextFile(`${dir}/records/7.2`, "start\t2:4\t1\ntask\t2\t0\t5\ntask\t3\t1\t5\nend\t1\t2\n");
 * await Deno.writeTextFile(`${dir}/records/7.3`, "start\t4:6\t1\n");
 * const status = await jobStatus(dir);
 * assert.equal(String(status.done), "0:3");
 * assert.equal(String(status.failed), "3");
 * assert.equal(String(status.neverFinished), "4:6");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function jobStatus(outputDir: string): Promise<JobStatus> {
  return await statusOf(outputDir, await readManifest(outputDir));
}

/**
 * {@linkcode jobStatus} for a manifest already read.
 *
 * @param outputDir The job's output directory.
 * @param manifest Its manifest.
 * @returns The status of every task.
 *
 * @example
 * ```ts
 * import { readManifest, statusOf, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, command: ["./fit"], outputDir: dir });
 * assert.equal((await statusOf(dir, await readManifest(dir))).records, 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function statusOf(outputDir: string, manifest: JobManifest): Promise<JobStatus> {
  const { numTasks } = manifest;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS_DIR}`)) {
      if (entry.isFile && RECORD_NAME.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // By job id, then array task id, with synchronous reads: the fake's summary runs this after
  // every job (bench/RESULTS.md has what localeCompare and awaited reads cost).
  const keys = new Map(names.map((name) => {
    const dot = name.indexOf(".");
    return [name, [Number(name.slice(0, dot)), Number(name.slice(dot + 1))]];
  }));
  names.sort((a, b) => {
    const [ja, ta] = keys.get(a)!, [jb, tb] = keys.get(b)!;
    return ja! - jb! || ta! - tb!;
  });
  // Outcomes as ranges, never one entry per task: a job may have 10^9 tasks.
  const outcomes: Outcome[] = [];
  let seq = 0;
  for (const name of names) {
    const text = Deno.readTextFileSync(`${outputDir}/${RECORDS_DIR}/${name}`);
    let ranges: [number, number][] = [];
    let perTask = new Map<number, number>();
    const settle = (exitCode: number | null): void => {
      // A task's own line decides it; the others of the run take the command's exit status.
      const points = [...perTask.keys()].sort((a, b) => a - b);
      for (const [index, status] of perTask) {
        if (inRanges(ranges, index)) outcomes.push([index, index + 1, status, name, seq++]);
      }
      if (exitCode !== null) {
        for (const [a, b] of ranges) {
          let from = a;
          for (const point of points) {
            if (point < from || point >= b) continue;
            if (point > from) outcomes.push([from, point, exitCode, name, seq++]);
            from = point + 1;
          }
          if (from < b) outcomes.push([from, b, exitCode, name, seq++]);
        }
      }
      ranges = [];
      perTask = new Map();
    };
    for (const line of text.split("\n")) {
      const record = parseRecordLine(line);
      const [a, b] = record?.fields ?? [];
      if (record?.kind === "start") {
        settle(null); // a start without an end: that run never finished
        ranges = specRanges(a ?? "", numTasks);
      } else if (record?.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
        perTask.set(Number(a), Number(b));
      } else if (record?.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
        settle(Number(a));
      }
    }
    settle(null);
  }
  const records = names.length;
  const { done, failedSegments } = combineOutcomes(outcomes);
  const failed = new TaskSet(failedSegments.map(([a, b]) => [a, b] as const));
  const neverFinished = complement(numTasks, [...done.ranges, ...failed.ranges]);
  const jobName = manifest.options.jobName;
  const failures = await Promise.all(failedSegments.map(async ([index, stop, exitCode, record]) => {
    // Both dialects name logs <job name>.o<job id>.<array task id>, as the record is named.
    const log = `${outputDir}/${jobName}.o${record}`;
    const found = await Deno.stat(log).then(() => true, () => false);
    const failure = { index, count: stop - index, exitCode };
    return found ? { ...failure, log } : failure;
  }));
  return { numTasks, done, failed, neverFinished, failures, records };
}

// ---------------------------------------------------------------------------------------------
// Array task records one by one, the list of submissions, and which tasks a script runs

/** One run of an array task, as its record tells it. */
export interface RecordRun {
  /** The tasks it was to run. */
  readonly tasks: readonly number[];
  /** The tasks that ended, with their exit status. */
  readonly outcomes: ReadonlyMap<number, number>;
  /** Seconds from its start to its end, when it ended and the node told its uptime. */
  readonly seconds?: number;
}

/** The record of one array task: every run it started (more than one when requeued). */
export interface ArrayTaskRecord {
  /** The job id it ran under. */
  readonly jobId: string;
  /** Its array task index. */
  readonly arrayTaskId: number;
  /** Its runs, in order. */
  readonly runs: readonly RecordRun[];
}

/**
 * Reads every array task's record one by one, for callers that need more than
 * {@linkcode jobStatus}'s totals: which array task ran which tasks, which of those have not
 * ended, and how long the ended runs took. Without `task` lines the command's exit status
 * counts for every task of its spec, as in {@linkcode jobStatus}.
 *
 * @param outputDir The job's output directory.
 * @param numTasks The number of tasks in the full list.
 * @returns The records, by job id and then array task index.
 *
 * @example
 * ```ts
 * import { readArrayTaskRecords, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 4, step: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.1`, "start\t0:2\t100.5\nend\t0\t103.5\n");
 * await Deno.writeTextFile(`${dir}/records/7.2`, "start\t2:4\t101\ntask\t2\t1\t5\n");
 * const [first, second] = await readArrayTaskRecords(dir, 4);
 * assert.deepEqual(first!.runs[0], { tasks: [0, 1], outcomes: new Map([[0, 0], [1, 0]]), seconds: 3 });
 * assert.deepEqual(second!.runs[0], { tasks: [2, 3], outcomes: new Map([[2, 1]]) });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readArrayTaskRecords(
  outputDir: string,
  numTasks: number,
): Promise<ArrayTaskRecord[]> {
  const records: ArrayTaskRecord[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS_DIR}`)) {
      const name = /^([0-9]+)\.([0-9]+)$/.exec(entry.name);
      if (!entry.isFile || name === null) continue;
      const text = await Deno.readTextFile(`${outputDir}/${RECORDS_DIR}/${entry.name}`);
      records.push({
        jobId: name[1]!,
        arrayTaskId: Number(name[2]),
        runs: recordRuns(text, numTasks),
      });
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return records.sort((a, b) => Number(a.jobId) - Number(b.jobId) || a.arrayTaskId - b.arrayTaskId);
}

function recordRuns(text: string, numTasks: number): RecordRun[] {
  const runs: RecordRun[] = [];
  let run: { tasks: number[]; outcomes: Map<number, number>; uptime: number } | undefined;
  const close = (exit?: number, uptime?: number) => {
    if (run === undefined) return;
    const { tasks, outcomes } = run;
    if (exit !== undefined) {
      for (const task of tasks) if (!outcomes.has(task)) outcomes.set(task, exit);
    }
    const seconds = uptime === undefined || Number.isNaN(uptime) || Number.isNaN(run.uptime)
      ? undefined
      : Math.round((uptime - run.uptime) * 100) / 100;
    runs.push(seconds === undefined ? { tasks, outcomes } : { tasks, outcomes, seconds });
    run = undefined;
  };
  for (const line of text.split("\n")) {
    const record = parseRecordLine(line);
    const [a, b] = record?.fields ?? [];
    if (record?.kind === "start") {
      close();
      let tasks: number[];
      try {
        tasks = selectIndices(a ?? "", numTasks);
      } catch {
        continue; // a spec for another list: not this job's record
      }
      run = { tasks, outcomes: new Map(), uptime: Number(b ?? NaN) };
    } else if (record?.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
      if (run?.tasks.includes(Number(a))) run.outcomes.set(Number(a), Number(b));
    } else if (record?.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
      close(Number(a), Number(b ?? NaN));
    }
  }
  close();
  return runs;
}

/** One submission of one of the job's scripts, as {@linkcode appendSubmission} records it. */
export interface Submission {
  /** The scheduler's job id. */
  readonly jobId: string;
  /** The submitted script, absolute. */
  readonly script: string;
  /** When it was submitted, as an ISO 8601 UTC time. */
  readonly submitted: string;
}

/** The file in a job's output directory that lists its submissions, one JSON object a line. */
export const SUBMISSIONS = "submissions.jsonl";

/**
 * Appends one submission to the job's list (`submissions.jsonl`), the first run and every
 * resubmission alike, so that later commands know which jobs to ask the scheduler about.
 *
 * @param outputDir The job's output directory.
 * @param submission The job id, the script and the time.
 *
 * @example
 * ```ts
 * import { appendSubmission, readSubmissions } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await appendSubmission(dir, { jobId: "31", script: `${dir}/run.sh`, submitted: "2026-12-01T20:00:00.000Z" });
 * assert.equal((await readSubmissions(dir))[0]!.jobId, "31");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function appendSubmission(outputDir: string, submission: Submission): Promise<void> {
  const { jobId, script, submitted } = submission;
  await Deno.writeTextFile(
    `${outputDir}/${SUBMISSIONS}`,
    JSON.stringify({ jobId, script, submitted }) + "\n",
    { append: true },
  );
}

/**
 * Reads the job's list of submissions, oldest first; empty when it was never submitted through
 * arrayjob (by hand, or only simulated).
 *
 * @param outputDir The job's output directory.
 * @returns The submissions.
 *
 * @example
 * ```ts
 * import { readSubmissions } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(await readSubmissions("/nonexistent"), []);
 * ```
 */
export async function readSubmissions(outputDir: string): Promise<Submission[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${outputDir}/${SUBMISSIONS}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const submissions: Submission[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const { jobId, script, submitted } = JSON.parse(line);
      if (typeof jobId === "string" && typeof script === "string") {
        submissions.push({ jobId, script, submitted: String(submitted) });
      }
    } catch {
      // A line cut short by a crash: the others still count.
    }
  }
  return submissions;
}

/**
 * Which tasks each array task of one of the job's scripts runs: `run.sh`, a split's `run-K.sh`
 * (re-planned from the manifest, as they were written), or a resubmission's `resubmit-N.sh`
 * (from its chunk map).
 *
 * @param outputDir The job's output directory.
 * @param manifest Its manifest.
 * @param script The script's path.
 * @returns Per array task index (the scheduler's), the tasks it runs.
 * @throws {ArrayJobError} When the script is none of the job's.
 *
 * @example
 * ```ts
 * import { readManifest, scriptChunks, writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const run = await writeClusterScript({ numTasks: 5, step: 2, command: ["./fit"], outputDir: dir });
 * const chunks = await scriptChunks(dir, await readManifest(dir), run);
 * assert.deepEqual([...chunks], [[1, [0, 1]], [2, [2, 3]], [3, [4]]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function scriptChunks(
  outputDir: string,
  manifest: JobManifest,
  script: string,
): Promise<Map<number, number[]>> {
  const scheduler = manifest.options.scheduler ?? DEFAULT_SCHEDULER;
  const first = dialectOf(scheduler).firstArrayIndex;
  const chunks = new Map<number, number[]>();
  const absolute = path.resolve(script);
  const chunkMap = absolute.replace(/(\.sh)?$/, ".chunks");
  const mapText = await Deno.readTextFile(chunkMap).catch(() => undefined);
  if (mapText !== undefined) {
    mapText.split("\n").forEach((spec, k) => {
      if (spec !== "") chunks.set(first + k, selectIndices(spec, manifest.numTasks));
    });
    return chunks;
  }
  const plan = await renderJob({
    ...manifest.options,
    numTasks: manifest.numTasks,
    onNotice: () => {},
  } as WriteClusterScriptsOptions);
  // Written with --out elsewhere, the script is known by its text (the manifest keeps no --out).
  const text = await Deno.readTextFile(absolute).catch(() => undefined);
  const rendered = plan.scripts.find((s) => s.path === absolute) ??
    plan.scripts.find((s) => s.text === text);
  if (rendered?.taskRange === undefined) {
    throw new ArrayJobError(
      `${script} is not one of the scripts of the job in ${outputDir} (run.sh, run-K.sh, ` +
        `resubmit-N.sh)`,
    );
  }
  const { offset, count, step } = rendered.taskRange;
  for (let k = 0; k * step < count; k++) {
    const tasks: number[] = [];
    for (let t = offset + k * step; t < Math.min(offset + (k + 1) * step, offset + count); t++) {
      tasks.push(t);
    }
    chunks.set(first + k, tasks);
  }
  return chunks;
}

// [start, stop, exit status, record name, order read]: what one run said about its tasks.
type Outcome = [number, number, number, string, number];

function inRanges(ranges: readonly (readonly [number, number])[], index: number): boolean {
  return ranges.some(([a, b]) => index >= a && index < b);
}

// A record's task spec as ranges, without listing its tasks; a spec for another list is not
// this job's record, and selects nothing.
function specRanges(spec: string, numTasks: number): [number, number][] {
  let parsed;
  try {
    parsed = parseSlice(spec);
  } catch {
    return [];
  }
  const ranges: [number, number][] = [];
  for (const part of parsed.parts) {
    if (part.kind === "slice" && (part.step ?? 1) === 1) {
      const clamp = (v: number | undefined, d: number) =>
        v === undefined ? d : v < 0 ? Math.max(v + numTasks, 0) : Math.min(v, numTasks);
      const a = clamp(part.start, 0), b = clamp(part.stop, numTasks);
      if (b > a) ranges.push([a, b]);
    } else {
      try {
        for (const i of selectIndices({ text: spec, parts: [part] }, numTasks)) {
          ranges.push([i, i + 1]);
        }
      } catch {
        return [];
      }
    }
  }
  return ranges;
}

// Done: any run succeeded. Failed: no run succeeded and one failed; each failed segment keeps
// its last failure (the latest record read). Cost: the number of outcomes, never of tasks.
function combineOutcomes(outcomes: readonly Outcome[]): {
  done: TaskSet;
  failedSegments: [number, number, number, string][];
} {
  const done = new TaskSet(
    outcomes.filter((o) => o[2] === 0).map(([a, b]) => [a, b] as const),
  );
  const failures = outcomes.filter((o) => o[2] !== 0);
  const cuts = [...new Set(failures.flatMap(([a, b]) => [a, b]))].sort((x, y) => x - y);
  const position = new Map(cuts.map((cut, i) => [cut, i]));
  // latest[k]: the last failure covering the segment [cuts[k], cuts[k+1]); painted from the last
  // outcome back, each segment once (next[] skips painted segments).
  const latest = new Array<Outcome | undefined>(Math.max(cuts.length - 1, 0));
  const next = Array.from({ length: cuts.length }, (_, i) => i);
  const find = (k: number): number => {
    while (next[k] !== k) {
      next[k] = next[next[k]!]!;
      k = next[k]!;
    }
    return k;
  };
  for (let i = failures.length - 1; i >= 0; i--) {
    const outcome = failures[i]!;
    const stop = position.get(outcome[1])!;
    for (let k = find(position.get(outcome[0])!); k < stop; k = find(k)) {
      latest[k] = outcome;
      next[k] = k + 1;
    }
  }
  const segments: [number, number, number, string][] = [];
  const doneRanges = done.ranges;
  let d = 0;
  for (let k = 0; k < latest.length; k++) {
    const outcome = latest[k];
    if (outcome === undefined) continue;
    // The segment minus the done ranges.
    let from = cuts[k]!;
    const to = cuts[k + 1]!;
    while (d > 0 && doneRanges[d - 1]![1] > from) d--;
    while (d < doneRanges.length && doneRanges[d]![1] <= from) d++;
    for (let e = d; e < doneRanges.length && doneRanges[e]![0] < to && from < to; e++) {
      const [a, b] = doneRanges[e]!;
      if (a > from) pushFailed(segments, from, Math.min(a, to), outcome);
      from = Math.max(from, b);
    }
    if (from < to) pushFailed(segments, from, to, outcome);
  }
  return { done, failedSegments: segments };
}

function pushFailed(
  segments: [number, number, number, string][],
  a: number,
  b: number,
  outcome: Outcome,
): void {
  const last = segments.at(-1);
  if (last !== undefined && last[1] === a && last[2] === outcome[2] && last[3] === outcome[3]) {
    last[1] = b;
  } else segments.push([a, b, outcome[2], outcome[3]]);
}

function complement(numTasks: number, taken: readonly (readonly [number, number])[]): TaskSet {
  const covered = new TaskSet(taken).ranges;
  const gaps: [number, number][] = [];
  let from = 0;
  for (const [a, b] of covered) {
    if (a > from) gaps.push([from, a]);
    from = b;
  }
  if (from < numTasks) gaps.push([from, numTasks]);
  return new TaskSet(gaps);
}

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
 * assert.deepEqual((await jobStatus(dir)).neverFinished, [0, 1, 2]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError, parseRecordLine, selectIndices } from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf, submitCommand } from "./dialects.ts";
import {
  type ClusterScriptOptions,
  type JobPlan,
  programOptions,
  RECORDS_DIR,
  renderJob,
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
  const existing = await readManifest(outputDir).catch(() => undefined);
  if (
    existing !== undefined && (existing.numTasks !== numTasks ||
      JSON.stringify(existing.options.command) !== JSON.stringify(options.command))
  ) {
    throw new ArrayJobError(
      `${outputDir} holds the records of another job (${existing.numTasks} tasks of ` +
        `${JSON.stringify(existing.options.command)}): choose another output directory, or ` +
        `delete ${path.join(outputDir, MANIFEST)} and ${path.join(outputDir, RECORDS_DIR)}`,
    );
  }
  await Deno.mkdir(path.join(outputDir, RECORDS_DIR), { recursive: true });
  // A resubmission (explicit chunks) belongs to the job the manifest describes: keep it.
  if (existing === undefined || plan.scripts[0]!.chunkMap === undefined) {
    const manifest: JobManifest = { version: 1, numTasks, options };
    await writeFileAtomic(path.join(outputDir, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  }
  for (const script of plan.scripts) {
    await Deno.mkdir(path.dirname(script.path), { recursive: true });
    if (script.chunkMap) await writeFileAtomic(script.chunkMap.path, script.chunkMap.text);
    await writeFileAtomic(script.path, script.text, 0o755);
  }
  return plan.scripts.map((script) => script.path);
}

/**
 * Writes a file so that readers see the old content or the new, never a part: the text goes to
 * a temporary file in the same directory, which is then renamed over the target.
 */
async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(temporary, text, { mode, createNew: true });
    await Deno.chmod(temporary, mode); // the umask may have narrowed it
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

/** What {@linkcode writeProgramScripts} did: printed nothing, so the caller can say it. */
export type ProgramScripts =
  | { readonly text: string }
  | {
    readonly text?: undefined;
    readonly paths: readonly string[];
    readonly submitCommands: readonly (readonly string[])[];
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
    const { options: fromArgs, positionals } = parseScriptFlags(request.args);
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
    return { paths, submitCommands };
  } catch (error) {
    throw error instanceof ArrayJobError ? withFlagName(error) : error;
  }
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
  let text: string;
  try {
    text = await Deno.readTextFile(`${outputDir}/${MANIFEST}`);
  } catch {
    throw new ArrayJobError(
      `${outputDir} has no ${MANIFEST}: give the output directory of a script written by ` +
        `arrayjob (its --output-dir, where run.sh is)`,
    );
  }
  const manifest = JSON.parse(text) as JobManifest;
  if (manifest.version !== 1) {
    throw new ArrayJobError(`${outputDir}/${MANIFEST} has unknown version ${manifest.version}`);
  }
  return manifest;
}

// ---------------------------------------------------------------------------------------------
// Status: what the records say

/** One failed task, as {@linkcode jobStatus} reports it. */
export interface TaskFailure {
  /** The task's index in the full list. */
  readonly index: number;
  /** The exit status of its last failed run. */
  readonly exitCode: number;
  /** The log of the array task that ran it, when it exists. */
  readonly log?: string;
}

/** What {@linkcode jobStatus} found: every task is in exactly one of the three lists. */
export interface JobStatus {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** Tasks that succeeded in at least one run, ascending. */
  readonly done: readonly number[];
  /** Tasks that never succeeded and failed at least once, ascending. */
  readonly failed: readonly number[];
  /**
   * Tasks with no outcome: never started, or started by an array task that did not finish
   * (killed for its runtime or memory, or its node died). Ascending.
   */
  readonly neverFinished: readonly number[];
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
 * assert.deepEqual(status.done, [0, 1, 2]);
 * assert.deepEqual(status.failed, [3]);
 * assert.deepEqual(status.neverFinished, [4, 5]);
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
  const DONE = 2, FAILED = 1;
  const state = new Uint8Array(numTasks);
  const lastFailure = new Map<number, { exitCode: number; record: string }>();
  let records = 0;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS_DIR}`)) {
      if (entry.isFile && /^[0-9]+\.[0-9]+$/.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // By job id, then array task id, with synchronous reads: the fake's summary runs this after
  // every job (bench/RESULTS.md has what localeCompare and awaited reads cost).
  const key = (name: string) => name.split(".").map(Number) as [number, number];
  names.sort((a, b) => {
    const [ja, ta] = key(a), [jb, tb] = key(b);
    return ja - jb || ta - tb;
  });
  for (const name of names) {
    records++;
    const text = Deno.readTextFileSync(`${outputDir}/${RECORDS_DIR}/${name}`);
    let indices: number[] = [];
    let perTask = new Map<number, number>();
    const settle = (exitCode: number | null): void => {
      for (const index of indices) {
        const status = perTask.get(index) ?? exitCode;
        if (status === 0) state[index] = DONE;
        else if (status !== null && state[index] !== DONE) {
          state[index] = FAILED;
          lastFailure.set(index, { exitCode: status, record: name });
        }
      }
      indices = [];
      perTask = new Map();
    };
    for (const line of text.split("\n")) {
      const record = parseRecordLine(line);
      const [a, b] = record?.fields ?? [];
      if (record?.kind === "start") {
        settle(null); // a start without an end: that run never finished
        try {
          indices = selectIndices(a ?? "", numTasks);
        } catch {
          indices = []; // a spec for another list: not this job's record
        }
      } else if (record?.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
        perTask.set(Number(a), Number(b));
      } else if (record?.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
        settle(Number(a));
      }
    }
    settle(null);
  }
  const done: number[] = [], failed: number[] = [], neverFinished: number[] = [];
  for (let i = 0; i < numTasks; i++) {
    (state[i] === DONE ? done : state[i] === FAILED ? failed : neverFinished).push(i);
  }
  const jobName = manifest.options.jobName;
  const failures = await Promise.all(failed.map(async (index) => {
    const { exitCode, record } = lastFailure.get(index)!;
    // Both dialects name logs <job name>.o<job id>.<array task id>, as the record is named.
    const log = `${outputDir}/${jobName}.o${record}`;
    const exists = await Deno.stat(log).then(() => true, () => false);
    return exists ? { index, exitCode, log } : { index, exitCode };
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

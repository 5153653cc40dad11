/**
 * A job's manifest (`arrayjob.json`): what it records (the number of tasks, the options the job
 * was rendered with, its scripts), reading it with the checks that refuse a missing, corrupt or
 * half-placed one, and the name of an array task's record. job_dir.ts writes it.
 *
 * @example
 * ```ts
 * import { readManifest } from "./manifest.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 5, command: ["./fit"], outputDir: dir });
 * assert.equal((await readManifest(dir)).options.command[0], "./fit");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError } from "./mod.ts";
import { type ClusterScriptOptions, RECORDS_DIR } from "./script_options.ts";

/**
 * An error about a job's directory rather than about an option: unreadable, another job's, in
 * use, or refused by the file system. A command line exits with 1 (the environment) for it.
 *
 * @example
 * ```ts
 * import { JobDirError, readManifest } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(() => readManifest("/nonexistent"), JobDirError);
 * ```
 */
export class JobDirError extends ArrayJobError {
  /** The environment's fault, not usage: exit code 1. */
  override readonly exitCode = 1;
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

/**
 * The file present only while a render renames its files into place, or after one was killed
 * doing so: {@linkcode readManifest} refuses the directory meanwhile.
 *
 * @example
 * ```ts
 * import { PLACING } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(PLACING, ".arrayjob-placing");
 * ```
 */
export const PLACING = ".arrayjob-placing";

/**
 * Whether a path exists (a dangling symbolic link counts: it is not followed).
 *
 * @param file The path.
 * @returns Whether it exists.
 *
 * @example
 * ```ts
 * import { exists } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await exists("/nonexistent"), false);
 * ```
 */
export async function exists(file: string): Promise<boolean> {
  return await Deno.lstat(file).then(() => true, () => false);
}

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
 * import { readManifest } from "./manifest.ts";
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 5, command: ["./fit"], outputDir: dir });
 * assert.equal((await readManifest(dir)).numTasks, 5);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifest(outputDir: string): Promise<JobManifest> {
  if (await exists(path.join(outputDir, PLACING))) {
    throw new JobDirError(
      `${outputDir} is having its scripts put in place, or a render was killed doing so and ` +
        `they may mix two renders: wait for it, or render the job again`,
    );
  }
  return await readManifestFile(outputDir);
}

/**
 * Reads and checks a job's manifest like {@linkcode readManifest}, without refusing a directory
 * whose render is placing its files: the render itself reads it then.
 *
 * @param outputDir The job's output directory.
 * @returns The manifest.
 * @throws {JobDirError} When it is missing, unreadable or not one arrayjob wrote.
 *
 * @example
 * ```ts
 * import { JobDirError, readManifestFile } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(() => readManifestFile("/nonexistent"), JobDirError);
 * ```
 */
export async function readManifestFile(outputDir: string): Promise<JobManifest> {
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

/**
 * The job an output directory already holds: undefined when it holds none; an error when it
 * holds records that cannot be attributed (a deleted or corrupt manifest), rather than rendering
 * a different job over them.
 *
 * @param outputDir The output directory.
 * @returns Its manifest, or undefined.
 * @throws {JobDirError} When it holds records without a readable manifest.
 *
 * @example
 * ```ts
 * import { existingJob } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * assert.equal(await existingJob(dir), undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function existingJob(outputDir: string): Promise<JobManifest | undefined> {
  const manifestExists = await exists(path.join(outputDir, MANIFEST));
  if (!manifestExists && !await hasRecords(outputDir)) return undefined;
  try {
    return await readManifestFile(outputDir);
  } catch (error) {
    if (!(error instanceof JobDirError)) throw error;
    throw new JobDirError(
      `${outputDir} holds records whose ${MANIFEST} is missing or unreadable: choose another ` +
        `output directory, or delete ${path.join(outputDir, MANIFEST)} and ` +
        `${path.join(outputDir, RECORDS_DIR)} to start over`,
    );
  }
}

/**
 * The name of an array task's record in `records/`: `<job id>.<array task id>`, and
 * `<job id>.<array task id>.<N>` for its N-th run when the scheduler ran it again (requeued).
 *
 * @example
 * ```ts
 * import { RECORD_NAME } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(RECORD_NAME.test("41.3") && RECORD_NAME.test("41.3.2") && !RECORD_NAME.test("run.41"));
 * ```
 */
export const RECORD_NAME = /^[0-9]+\.[0-9]+(\.[0-9]+)?$/;

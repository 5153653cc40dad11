/**
 * Records, status and resubmission: what the array tasks of a job recorded, which tasks are done,
 * failed or never finished, and the script that runs the rest again. mod.ts documents and exports
 * the public functions and loads this file on first use.
 *
 * @module
 */

import { ArrayJobError, formatIndices, selectIndices } from "./mod.ts";
import {
  type ClusterScriptOptions,
  DIALECTS,
  type JobManifest,
  readManifest,
  RECORDS,
  wholeNumber,
  writeClusterScript,
} from "./cluster_script.ts";

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

export async function jobStatus(outputDir: string): Promise<JobStatus> {
  return await statusOf(outputDir, await readManifest(outputDir));
}

async function statusOf(outputDir: string, manifest: JobManifest): Promise<JobStatus> {
  const { numTasks } = manifest;
  const DONE = 2, FAILED = 1;
  const state = new Uint8Array(numTasks);
  const lastFailure = new Map<number, { exitCode: number; record: string }>();
  let records = 0;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS}`)) {
      if (entry.isFile && /^[0-9]+\.[0-9]+$/.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // By job id, then array task id. (localeCompare with numeric collation made this 78 ms for
  // 2000 records, and awaiting each read another 80: the fake's summary runs this every time.)
  const key = (name: string) => name.split(".").map(Number) as [number, number];
  names.sort((a, b) => {
    const [ja, ta] = key(a), [jb, tb] = key(b);
    return ja - jb || ta - tb;
  });
  for (const name of names) {
    records++;
    const text = Deno.readTextFileSync(`${outputDir}/${RECORDS}/${name}`);
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
      const [kind, a, b] = line.split("\t");
      if (kind === "start") {
        settle(null); // a start without an end: that run never finished
        try {
          indices = selectIndices(a ?? "", numTasks);
        } catch {
          indices = []; // a spec for another list: not this job's record
        }
      } else if (kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
        perTask.set(Number(a), Number(b));
      } else if (kind === "end" && /^[0-9]+$/.test(a ?? "")) {
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

/** Options of {@linkcode writeResubmitScript}. */
export interface ResubmitOptions {
  /**
   * Which tasks to run again: those that `failed`, those that never finished (`missing`), or
   * both (`all-not-done`).
   * @default {"all-not-done"}
   */
  which?: "failed" | "missing" | "all-not-done";
  /**
   * Options that change for the resubmission, such as more `time` or `memory`; `step` is the
   * number of tasks per array task. The command and the task list stay the job's own.
   */
  overrides?: Partial<Omit<ClusterScriptOptions, "numTasks" | "command" | "chunks">>;
}

/** What {@linkcode writeResubmitScript} wrote. */
export interface Resubmission {
  /** The written script, or `undefined` when no task needed to run again. */
  readonly path?: string;
  /** The tasks it runs, ascending. */
  readonly indices: readonly number[];
  /** The number of array tasks. */
  readonly numArrayTasks: number;
}

export async function writeResubmitScript(
  outputDir: string,
  options: ResubmitOptions = {},
): Promise<Resubmission> {
  const which = options.which ?? "all-not-done";
  if (!["failed", "missing", "all-not-done"].includes(which)) {
    throw new ArrayJobError(
      `which is ${JSON.stringify(which)}: expected failed, missing or all-not-done`,
    );
  }
  const manifest = await readManifest(outputDir);
  const status = await statusOf(outputDir, manifest);
  const indices = which === "failed"
    ? [...status.failed]
    : which === "missing"
    ? [...status.neverFinished]
    : [...status.failed, ...status.neverFinished].sort((a, b) => a - b);
  if (indices.length === 0) return { indices, numArrayTasks: 0 };

  const original = manifest.options;
  const merged = { ...original, ...options.overrides };
  const dialect = DIALECTS[merged.scheduler ?? "sge"];
  const limit = merged.maxArraySize ?? dialect.maxArraySize;
  let step = wholeNumber("step", merged.step ?? 1, 1);
  if (Math.ceil(indices.length / step) > limit) step = Math.ceil(indices.length / limit);
  const chunks: string[] = [];
  for (let i = 0; i < indices.length; i += step) {
    chunks.push(formatIndices(indices.slice(i, i + step)));
  }
  let n = 1;
  while (await Deno.stat(`${outputDir}/resubmit-${n}.sh`).then(() => true, () => false)) n++;
  const path = await writeClusterScript({
    ...merged,
    step: undefined,
    numTasks: status.numTasks,
    command: original.command,
    outputDir,
    chunks,
    out: `${outputDir}/resubmit-${n}.sh`,
  });
  return { path, indices, numArrayTasks: chunks.length };
}

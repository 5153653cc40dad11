/**
 * The scheduler query table: how to submit a script and read the job id back, how to ask a
 * scheduler about the array tasks of its jobs, and how to cancel them, as data and pure parsers
 * per scheduler. The lifecycle (live_status.ts, lifecycle.ts) looks everything up here and never branches on a
 * scheduler's name. The output formats are those measured on Slurm 22.05 and Grid Engine 8.1.9
 * (tests/real/FACTS.md, "Query and control commands"); the parsers are tested on those samples.
 *
 * @example Parsing what `squeue` says about an array job
 * ```ts
 * import { QUERIES } from "./queries.ts";
 * import assert from "node:assert/strict";
 *
 * const answer = QUERIES.slurm.parseLive(
 *   { code: 0, stdout: "59_2|59|2|PENDING|Resources\n59_0|59|0|RUNNING|None\n", stderr: "" },
 * );
 * assert.deepEqual(answer.get("59")?.get(2), { state: "pending", detail: "Resources" });
 * assert.equal(answer.get("59")?.get(0)?.state, "running");
 * ```
 *
 * @module
 */

import { formatIndices } from "./mod.ts";
import type { Scheduler } from "./dialects.ts";

/** What a scheduler says about one array task. An array task it does not mention is unknown. */
export type ArrayTaskState =
  | {
    /** Queued: waiting for a slot, held, or (Grid Engine `Eqw`) stuck in an error state. */
    readonly state: "pending";
    /** The scheduler's reason or state word (`Resources`, `JobHeldUser`, `hqw`, `Eqw`). */
    readonly detail: string;
  }
  | {
    /** Started and not yet ended. */
    readonly state: "running";
    /** The scheduler's state word (`RUNNING`, `r`). */
    readonly detail: string;
  }
  | {
    /** Ended, successfully or not. */
    readonly state: "finished";
    /** Whether the scheduler counts it a success (exit 0, not killed). */
    readonly ok: boolean;
    /** The exit status, when the scheduler tells it. */
    readonly exitCode?: number;
    /** The scheduler's words for how it ended (`COMPLETED`, `CANCELLED`, `failed 100 : …`). */
    readonly detail: string;
  };

/** Per job id, per array task index: what the scheduler said. */
export type JobStates = Map<string, Map<number, ArrayTaskState>>;

/** A finished command: its exit code and output. */
export interface CommandOutput {
  /** The exit code. */
  readonly code: number;
  /** Its standard output, decoded. */
  readonly stdout: string;
  /** Its standard error, decoded. */
  readonly stderr: string;
}

/**
 * Thrown by a parser when the output says the scheduler could not answer (its controller is
 * down, the command failed): the caller then knows nothing, which is not the same as "no job".
 */
export class SchedulerUnavailable extends Error {
  /**
   * Creates the error.
   *
   * @param message What went wrong, in one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "SchedulerUnavailable";
  }
}

/**
 * A scheduler command failed in a way the caller cannot fix by changing its input: the submit
 * program refused the script, or the scheduler could not be asked. The command line exits 1.
 */
export class SchedulerError extends Error {
  /**
   * Creates the error.
   *
   * @param message What failed, in one line.
   */
  constructor(message: string) {
    super(message);
    this.name = "SchedulerError";
  }
}

/** How to talk to one scheduler about its jobs: commands to run and parsers of their output. */
export interface SchedulerQueries {
  /** The job id in the submit program's output (plain, `--parsable`, `-terse`). */
  readonly jobIdPattern: RegExp;
  /** The command that lists the live (and, on Slurm, recently ended) array tasks of jobs. */
  liveCommand(jobIds: readonly string[]): string[];
  /**
   * Parses the live command's output.
   * @throws {SchedulerUnavailable} When the scheduler did not answer.
   */
  parseLive(output: CommandOutput): JobStates;
  /**
   * The commands that ask the accounting about ended jobs, one per call the scheduler needs;
   * accounting is optional (Slurm's is often disabled), so its failures only leave gaps.
   */
  accountingCommands(jobIds: readonly string[]): string[][];
  /**
   * Parses one accounting command's output.
   * @throws {SchedulerUnavailable} When accounting did not answer (disabled, not installed).
   */
  parseAccounting(output: CommandOutput): JobStates;
  /** The commands that cancel a whole job, or only some of its array tasks. */
  cancelCommands(jobId: string, arrayTasks?: readonly number[]): string[][];
  /** Whether a cancel command's result is fine (a job that has already ended is fine). */
  cancelled(output: CommandOutput): boolean;
}

function put(states: JobStates, jobId: string, index: number, state: ArrayTaskState): void {
  let job = states.get(jobId);
  if (job === undefined) states.set(jobId, job = new Map());
  job.set(index, state);
}

// Slurm states (squeue(1) "JOB STATE CODES"): those not listed here count as ended.
const SLURM_PENDING = new Set(["PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING"]);
const SLURM_RUNNING = new Set([
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "SUSPENDED",
  "STOPPED",
  "SIGNALING",
  "STAGE_OUT",
]);

function slurmState(state: string, detail: string, exitCode?: number): ArrayTaskState {
  if (SLURM_PENDING.has(state)) return { state: "pending", detail };
  if (SLURM_RUNNING.has(state)) return { state: "running", detail: state };
  const ok = state === "COMPLETED" && (exitCode ?? 0) === 0;
  return exitCode === undefined
    ? { state: "finished", ok, detail: state }
    : { state: "finished", ok, exitCode, detail: state };
}

// An array task column: `3`, or for rows Slurm did not split, `0-3`, `1-4%1`, `0,3,6,9`.
function slurmIndices(spec: string): number[] {
  const plain = spec.replace(/^\[|\]$/g, "").replace(/%[0-9]+$/, "");
  const indices: number[] = [];
  for (const part of plain.split(",")) {
    const m = /^([0-9]+)(?:-([0-9]+))?(?::([0-9]+))?$/.exec(part);
    if (m === null) return [];
    const first = Number(m[1]), last = Number(m[2] ?? m[1]), step = Number(m[3] ?? 1);
    for (let i = first; i <= last; i += step) indices.push(i);
  }
  return indices;
}

const SLURM: SchedulerQueries = {
  jobIdPattern: /^(?:Submitted batch job )?([0-9]+)(?:;\S*)?\s*$/m,
  // -r: one row per array task; -t all: ended tasks too, for MinJobAge (300 s here).
  liveCommand: (jobIds) => [
    "squeue",
    "-h",
    "-r",
    "-t",
    "all",
    "-j",
    jobIds.join(","),
    "-o",
    "%i|%F|%K|%T|%r",
  ],
  parseLive(output) {
    const states: JobStates = new Map();
    if (output.code !== 0) {
      // Every listed id has aged out (or never existed): the scheduler answered "none of them".
      if (/Invalid job id specified/.test(output.stderr)) return states;
      throw new SchedulerUnavailable(firstLine(output.stderr) || `squeue exit ${output.code}`);
    }
    for (const line of output.stdout.split("\n")) {
      const [, arrayJobId, task, state, reason] = line.split("|");
      if (reason === undefined || !/^[0-9]+$/.test(arrayJobId!)) continue;
      for (const index of slurmIndices(task!)) {
        put(states, arrayJobId!, index, slurmState(state!, reason));
      }
    }
    return states;
  },
  accountingCommands: (jobIds) => [
    ["sacct", "-n", "-P", "-X", "-j", jobIds.join(","), "-o", "JobID,State,ExitCode"],
  ],
  parseAccounting(output) {
    if (output.code !== 0) {
      throw new SchedulerUnavailable(firstLine(output.stderr) || `sacct exit ${output.code}`);
    }
    const states: JobStates = new Map();
    for (const line of output.stdout.split("\n")) {
      // JobID|State|ExitCode: `12_3|COMPLETED|0:0`, `12_[4-9]|PENDING|0:0`, `12_5|CANCELLED by 0|0:15`.
      const m = /^([0-9]+)_(\S+)\|([A-Z_]+)[^|]*\|([0-9]+):([0-9]+)$/.exec(line.trim());
      if (m === null) continue;
      const [, jobId, task, state, exit, signal] = m;
      const exitCode = Number(signal) === 0 ? Number(exit) : 128 + Number(signal);
      for (const index of slurmIndices(task!)) {
        put(states, jobId!, index, slurmState(state!, state!, exitCode));
      }
    }
    return states;
  },
  cancelCommands: (jobId, arrayTasks) => [
    ["scancel", ...(arrayTasks === undefined ? [jobId] : arrayTasks.map((t) => `${jobId}_${t}`))],
  ],
  // scancel is silent and exits 0 even for ids that are gone.
  cancelled: (output) => output.code === 0,
};

// A Grid Engine array task column: `3`, `1-4:1`, `4-10:3`, `1,2`; empty for a plain job.
function sgeIndices(spec: string): number[] {
  const indices: number[] = [];
  for (const part of spec.split(",")) {
    const m = /^([0-9]+)(?:-([0-9]+):([0-9]+))?$/.exec(part);
    if (m === null) return [];
    const first = Number(m[1]), last = Number(m[2] ?? m[1]), step = Number(m[3] ?? 1);
    for (let i = first; i <= last; i += step) indices.push(i);
  }
  return indices;
}

function sgeState(state: string): ArrayTaskState {
  // qstat(1): r running, t transferring, s/S/T suspended, d being deleted (still holds a slot),
  // R restarted; q queued, w waiting, h hold, E error (Eqw stays queued until cleared).
  if (/E/.test(state) || !/[rtsSTd]/.test(state)) return { state: "pending", detail: state };
  return { state: "running", detail: state };
}

const SGE: SchedulerQueries = {
  jobIdPattern: /^(?:Your job(?:-array)? )?([0-9]+)(?:\.[0-9]+-[0-9]+:[0-9]+)?(?: \(|\s*$)/m,
  // qstat takes no job ids for its table; -g d gives one line per pending array task.
  liveCommand: () => ["qstat", "-g", "d"],
  parseLive(output) {
    if (output.code !== 0) {
      throw new SchedulerUnavailable(firstLine(output.stderr) || `qstat exit ${output.code}`);
    }
    const states: JobStates = new Map();
    for (const line of output.stdout.split("\n")) {
      // id prior name user state MM/DD/YYYY HH:MM:SS [queue] slots [tasks]: names, users and
      // queues have no spaces, and the queue is the one word after the time that is not a number.
      const words = line.trim().split(/\s+/);
      if (words.length < 8 || !/^[0-9]+$/.test(words[0]!) || !/\//.test(words[5]!)) continue;
      const rest = words.slice(7);
      if (rest.length > 0 && !/^[0-9]+$/.test(rest[0]!)) rest.shift();
      const tasks = rest[1];
      if (tasks === undefined) continue; // a plain job: arrayjob's scripts are arrays
      for (const index of sgeIndices(tasks)) put(states, words[0]!, index, sgeState(words[4]!));
    }
    return states;
  },
  accountingCommands: (jobIds) => jobIds.map((id) => ["qacct", "-j", id]),
  parseAccounting(output) {
    const states: JobStates = new Map();
    if (output.code !== 0) {
      // No record (yet): still queued or running, deleted before it ran, or unknown.
      if (/job id \S+ not found/.test(output.stderr)) return states;
      throw new SchedulerUnavailable(firstLine(output.stderr) || `qacct exit ${output.code}`);
    }
    for (const block of output.stdout.split(/^=+$/m)) {
      const field = (key: string) => new RegExp(`^${key} +(.*?)\\s*$`, "m").exec(block)?.[1];
      const jobId = field("jobnumber"), task = field("taskid");
      const failed = field("failed"), exit = field("exit_status");
      if (jobId === undefined || task === undefined || !/^[0-9]+$/.test(task)) continue;
      const exitCode = Number(/^[0-9]+/.exec(exit ?? "")?.[0] ?? NaN);
      const ok = /^0\b/.test(failed ?? "") && exitCode === 0;
      const detail = /^0\b/.test(failed ?? "") ? `exit_status ${exit}` : `failed ${failed}`;
      put(
        states,
        jobId,
        Number(task),
        Number.isNaN(exitCode)
          ? { state: "finished", ok, detail }
          : { state: "finished", ok, exitCode, detail },
      );
    }
    return states;
  },
  cancelCommands(jobId, arrayTasks) {
    if (arrayTasks === undefined) return [["qdel", jobId]];
    // -t takes one range: one call per run of consecutive tasks.
    return formatIndices(arrayTasks).split(",").map((range) => {
      const [first, stop] = range.split(":").map(Number);
      return ["qdel", jobId, "-t", stop === undefined ? `${first}` : `${first}-${stop - 1}:1`];
    });
  },
  // A job that has already ended: `denied: job "7" does not exist`, exit 1.
  cancelled: (output) => output.code === 0 || /does not exist/.test(output.stdout),
};

/** Every scheduler's queries, by the name `--scheduler` gives it. */
export const QUERIES: Readonly<Record<Scheduler, SchedulerQueries>> = {
  sge: SGE,
  slurm: SLURM,
};

/**
 * The job id in a submit program's output: `Submitted batch job 31`, `31` (`--parsable`),
 * `Your job-array 17.1-3:1 ("arr") has been submitted`, `16.1-3:1` (`-terse`).
 *
 * @param queries The scheduler's queries.
 * @param stdout What the submit program printed.
 * @returns The job id, or `undefined` when there is none.
 *
 * @example
 * ```ts
 * import { parseJobId, QUERIES } from "./queries.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseJobId(QUERIES.sge, 'Your job-array 17.1-3:1 ("arr") has been submitted\n'), "17");
 * assert.equal(parseJobId(QUERIES.slurm, "Submitted batch job 31\n"), "31");
 * ```
 */
export function parseJobId(queries: SchedulerQueries, stdout: string): string | undefined {
  return queries.jobIdPattern.exec(stdout)?.[1];
}

/**
 * Runs a command and collects its output; a program that is not on PATH gives exit code 127
 * and says so on stderr, as a shell would.
 *
 * @param argv The program and its arguments (never through a shell).
 * @returns Its exit code and output.
 *
 * @example
 * ```ts
 * import { runCommand } from "./queries.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal((await runCommand(["arrayjob-no-such-program"])).code, 127);
 * ```
 */
export async function runCommand(argv: readonly string[]): Promise<CommandOutput> {
  try {
    const out = await new Deno.Command(argv[0]!, {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${argv[0]}: not found on PATH` };
    }
    throw error;
  }
}

/** What {@linkcode askScheduler} learnt. */
export interface SchedulerAnswer {
  /** Per job id, per array task: what the scheduler said; unknown array tasks are absent. */
  readonly states: JobStates;
  /** Why the scheduler could not be asked; absent when it answered. */
  readonly unavailable?: string;
  /** Why its accounting could not be asked, when it was needed; accounting is optional. */
  readonly accountingUnavailable?: string;
}

/**
 * Asks a scheduler about the array tasks of some jobs: the live command first, then its
 * accounting for the jobs the live command no longer knows.
 *
 * @param queries The scheduler's queries.
 * @param jobIds The jobs.
 * @param run How to run a command (a test may answer instead of a scheduler).
 * @returns What the scheduler said, or why it could not be asked.
 *
 * @example Without a scheduler on PATH
 * ```ts
 * import { askScheduler, QUERIES } from "./queries.ts";
 * import assert from "node:assert/strict";
 *
 * const answer = await askScheduler(QUERIES.slurm, ["7"], () =>
 *   Promise.resolve({ code: 127, stdout: "", stderr: "squeue: not found on PATH" }));
 * assert.equal(answer.unavailable, "squeue: not found on PATH");
 * ```
 */
export async function askScheduler(
  queries: SchedulerQueries,
  jobIds: readonly string[],
  run: (argv: readonly string[]) => Promise<CommandOutput> = runCommand,
): Promise<SchedulerAnswer> {
  const states: JobStates = new Map();
  if (jobIds.length === 0) return { states };
  try {
    for (const [id, tasks] of queries.parseLive(await run(queries.liveCommand(jobIds)))) {
      if (jobIds.includes(id)) states.set(id, tasks);
    }
  } catch (error) {
    if (error instanceof SchedulerUnavailable) return { states, unavailable: error.message };
    throw error;
  }
  const gone = jobIds.filter((id) => !states.has(id));
  let accountingUnavailable: string | undefined;
  for (const argv of gone.length === 0 ? [] : queries.accountingCommands(gone)) {
    try {
      for (const [id, tasks] of queries.parseAccounting(await run(argv))) {
        if (!gone.includes(id)) continue;
        for (const [index, state] of tasks) put(states, id, index, state);
      }
    } catch (error) {
      if (!(error instanceof SchedulerUnavailable)) throw error;
      accountingUnavailable = error.message;
      break;
    }
  }
  return accountingUnavailable === undefined ? { states } : { states, accountingUnavailable };
}

/**
 * Cancels a job, or some of its array tasks.
 *
 * @param queries The scheduler's queries.
 * @param jobId The job.
 * @param arrayTasks The array tasks to cancel; all of them when absent.
 * @param run How to run a command.
 * @returns The problems, one line each; empty when everything was cancelled (or had ended).
 *
 * @example
 * ```ts
 * import { cancelJob, QUERIES } from "./queries.ts";
 * import assert from "node:assert/strict";
 *
 * const calls: string[] = [];
 * const problems = await cancelJob(QUERIES.sge, "12", [1, 2, 5], (argv) => {
 *   calls.push(argv.join(" "));
 *   return Promise.resolve({ code: 0, stdout: "", stderr: "" });
 * });
 * assert.deepEqual(calls, ["qdel 12 -t 1-2:1", "qdel 12 -t 5"]);
 * assert.deepEqual(problems, []);
 * ```
 */
export async function cancelJob(
  queries: SchedulerQueries,
  jobId: string,
  arrayTasks?: readonly number[],
  run: (argv: readonly string[]) => Promise<CommandOutput> = runCommand,
): Promise<string[]> {
  const problems: string[] = [];
  if (arrayTasks !== undefined && arrayTasks.length === 0) return problems;
  for (const argv of queries.cancelCommands(jobId, arrayTasks)) {
    const output = await run(argv);
    if (!queries.cancelled(output)) {
      problems.push(
        `${argv.join(" ")}: ${firstLine(output.stderr || output.stdout) || `exit ${output.code}`}`,
      );
    }
  }
  return problems;
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/**
 * Local runs: what a supervisor on this machine (the fake scheduler) leaves in a job's `records/`
 * while it runs the job (a run journal), and what such journals say afterwards.
 *
 * @module
 */

import { RECORDS_DIR } from "./script_options.ts";
import { TaskSet } from "./task_set.ts";

/** A run journal's file name in `records/`, for the job id its array tasks' records carry. */
export function runJournalName(jobId: string): string {
  return `run.${jobId}`;
}

/**
 * What a run of a job by a local supervisor (the fake scheduler) said before it ended: it writes
 * a journal in `records/` (see {@linkcode openRunJournal}) and removes it when it has seen every
 * array task it started end or killed them; a journal left behind is a run that was lost.
 */
export interface LocalRun {
  /** The job id of the run's records (`records/<jobId>.<array task id>`). */
  readonly jobId: string;
  /** The supervisor's process id. */
  readonly pid: number;
  /** When it started (ISO 8601, UTC). */
  readonly started: string;
  /**
   * `running`: the supervisor is alive; `interrupted`: it was stopped (SIGINT, SIGTERM) and
   * stopped every array task it had started, so those it had not started never ran; `lost`: it
   * died without ending the run (SIGKILL, a crash, a reboot); `unknown`: it ran on another host,
   * whose processes this one cannot see.
   */
  readonly state: "running" | "interrupted" | "lost" | "unknown";
  /** The script it ran, when the journal says (a journal of an older fake does not). */
  readonly script?: string;
  /** The array tasks it was to run, when the journal says: its submission. */
  readonly arrayTasks?: TaskSet;
  /** The array tasks it started, in any order. */
  readonly startedTasks: TaskSet;
  /**
   * Array tasks it started and did not see end: after a loss they ran on unsupervised, so
   * what their records say came after the run was reported unfinished. Ascending.
   */
  readonly unsupervised: readonly number[];
  /** Of those, the ones whose process still runs on this host (their pids). */
  readonly stillRunning: readonly number[];
}

/** The journal of a run, as {@linkcode openRunJournal} returns it. */
export interface RunJournal {
  /** An array task started as process `pid`. */
  started(arrayTaskId: number, pid: number): void;
  /** The supervisor saw an array task end (or killed it and saw it gone). */
  ended(arrayTaskId: number): void;
  /** The run ended with every array task seen to its end: remove the journal. */
  close(): void;
  /**
   * The run was interrupted and every array task it started was stopped: keep the journal, so
   * that status knows the array tasks it never started were submitted and never ran.
   */
  interrupted(): void;
}

/** What a journal records of the run's submission: its script and array tasks. */
export interface RunSubmission {
  /** The script's absolute path. */
  readonly script: string;
  /** The array task ids it was to run. */
  readonly arrayTasks: Iterable<number>;
}

// Who is running, as /proc tells it: start time in clock ticks after boot, and the boot's id, so
// that a pid reused after the run or a reboot is not taken for the run's process.
function processStart(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" ? undefined : Number(fields[19]);
  } catch {
    return undefined;
  }
}

function bootId(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
  } catch {
    return "-";
  }
}

/**
 * Starts the journal of a local run of the job in `outputDir` whose records carry `jobId`:
 * `records/run.<jobId>`, one line per array task started and ended, written synchronously so
 * that it is on disk however the supervisor dies. {@linkcode localRuns} reads it back.
 *
 * @param outputDir The job's output directory.
 * @param jobId The job id of the run's records.
 * @returns The journal.
 *
 * @example
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { localRuns, openRunJournal } from "./local_runs.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, command: ["./fit"], outputDir: dir });
 * const journal = openRunJournal(dir, "41");
 * journal.started(1, 999999999);
 * assert.deepEqual((await localRuns(dir)).map((r) => [r.state, r.unsupervised]), [["running", [1]]]);
 * journal.close();
 * assert.deepEqual(await localRuns(dir), []);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function openRunJournal(
  outputDir: string,
  jobId: string,
  submission?: RunSubmission,
): RunJournal {
  const path = `${outputDir}/${RECORDS_DIR}/${runJournalName(jobId)}`;
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const encoder = new TextEncoder();
  const write = (line: string) => {
    try {
      file.writeSync(encoder.encode(line + "\n"));
    } catch {
      // A full disk: the records themselves say what ran; the journal only explains a loss.
    }
  };
  const start = processStart(Deno.pid) ?? "-";
  write(
    `run\t${Deno.pid}\t${start}\t${bootId()}\t${Deno.hostname()}\t${new Date().toISOString()}`,
  );
  // A script path with a tab or newline cannot be told apart from the fields: not recorded.
  if (submission !== undefined && !/[\t\n]/.test(submission.script)) {
    write(`array\t${TaskSet.of(submission.arrayTasks)}\t${submission.script}`);
  }
  return {
    started: (id, pid) => write(`start\t${id}\t${pid}`),
    ended: (id) => write(`end\t${id}`),
    close() {
      file.close();
      Deno.removeSync(path);
    },
    interrupted() {
      write(`interrupted\t${new Date().toISOString()}`);
      file.close();
    },
  };
}

/**
 * The local runs of the job in `outputDir` that left a journal: each still running, or lost
 * with the array tasks it did not see end. `arrayjob status` and the fake's summary show them.
 *
 * @param outputDir The job's output directory.
 * @param files The names of the files in its `records/`, when the caller has listed it (a
 *   second listing of 10^5 records costs a third of a second).
 * @returns One entry per journal, by job id.
 *
 * @example
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { localRuns } from "./local_runs.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 2, command: ["./fit"], outputDir: dir });
 * // A supervisor that died: its pid no longer runs with the start time it wrote.
 * await Deno.writeTextFile(`${dir}/records/run.41`, "run\t1\t-1\t-\t-\t2026-01-01T00:00:00Z\nstart\t1\t5\nstart\t2\t6\nend\t1\n");
 * const [run] = await localRuns(dir);
 * assert.deepEqual([run.jobId, run.unsupervised], ["41", [2]]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function localRuns(
  outputDir: string,
  files?: readonly string[],
): Promise<LocalRun[]> {
  const runs: LocalRun[] = [];
  const names: string[] = [];
  const isJournal = (name: string) => /^run\.[0-9]+$/.test(name);
  if (files !== undefined) names.push(...files.filter(isJournal));
  else {
    try {
      for await (const entry of Deno.readDir(`${outputDir}/${RECORDS_DIR}`)) {
        if (entry.isFile && isJournal(entry.name)) names.push(entry.name);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const host = Deno.hostname(), boot = bootId();
  for (const name of names.sort()) {
    const lines = Deno.readTextFileSync(`${outputDir}/${RECORDS_DIR}/${name}`).split("\n");
    const [, pid, start, runBoot, runHost, started] = (lines[0] ?? "").split("\t");
    const open = new Map<number, number>();
    const startedIds: number[] = [];
    let interrupted = false, script: string | undefined, arrayTasks: TaskSet | undefined;
    for (const line of lines.slice(1)) {
      const [kind, id, taskPid] = line.split("\t");
      if (kind === "start") open.set(Number(id), Number(taskPid)), startedIds.push(Number(id));
      else if (kind === "end") open.delete(Number(id));
      else if (kind === "interrupted") interrupted = true;
      else if (kind === "array" && taskPid !== undefined) {
        script = taskPid;
        arrayTasks = new TaskSet(
          id!.split(",").filter(Boolean).map((r) => {
            const [a, b] = r.split(":").map(Number);
            return [a!, b ?? a! + 1] as const;
          }),
        );
      }
    }
    const here = runHost === host && runBoot === boot && runBoot !== "-";
    const alive = here && String(processStart(Number(pid))) === start;
    const unsupervised = [...open.keys()].sort((a, b) => a - b);
    // A task's pid counts only if that process started after the run did (not a reused pid).
    const stillRunning = here
      ? unsupervised.filter((id) => (processStart(open.get(id)!) ?? -1) >= Number(start))
      : [];
    runs.push({
      jobId: name.slice("run.".length),
      pid: Number(pid),
      started: started ?? "",
      state: alive
        ? "running"
        : interrupted
        ? "interrupted"
        : here || runHost === host
        ? "lost"
        : "unknown",
      ...(script === undefined ? {} : { script, arrayTasks }),
      startedTasks: TaskSet.of(startedIds),
      unsupervised,
      stillRunning,
    });
  }
  return runs;
}

/**
 * One line about a local run for people: `the fake run of job 41 (pid 7, started …) was lost
 * before it ended: array tasks 2,3 ran on unsupervised (2 still running)`.
 *
 * @param run A run {@linkcode localRuns} found.
 * @returns The line.
 *
 * @example
 * ```ts
 * import { describeLocalRun } from "./local_runs.ts";
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * const line = describeLocalRun({ jobId: "41", pid: 7, started: "2026-01-01T00:00:00Z", state: "lost",
 *   startedTasks: TaskSet.of([1, 2, 3]), unsupervised: [2, 3], stillRunning: [] });
 * assert.match(line, /was lost before it ended: array tasks 2,3 ran on unsupervised/);
 * ```
 */
export function describeLocalRun(run: LocalRun): string {
  const what = `the local run of job ${run.jobId} (pid ${run.pid}, started ${run.started})`;
  if (run.state === "running") return `${what} is still running`;
  if (run.state === "interrupted") {
    return `${what} was interrupted: it stopped the array tasks it had started, and those it ` +
      `had not started never ran`;
  }
  const ids = run.unsupervised.join(",");
  const loss = run.state === "lost"
    ? "was lost before it ended"
    : "left no end (it ran on another host; it may still run there)";
  if (run.unsupervised.length === 0) return `${what} ${loss}; every array task it started ended`;
  const still = run.stillRunning.length > 0 ? `, ${run.stillRunning.join(",")} still running` : "";
  return `${what} ${loss}: array tasks ${ids} ran on unsupervised${still}; what their records ` +
    `say came after the run was reported unfinished (records/${run.jobId}.<array task>)`;
}

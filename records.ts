/**
 * The records a job's array tasks leave in `records/`, and what they say: the one reader of
 * records. What a record means for its tasks (parseRecord), records folded into ranges
 * (summarizeRecords), and reading a job's records (readRecords): each finished record read once,
 * its summary kept in `.finished-records.json`, many records read with helper workers. Also the
 * tasks a `--tasks` spec selects, as ranges (selectTaskSet). What the records mean for the whole
 * job is status.ts's.
 *
 * @example Read a job's records
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { readRecords } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 3, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.0`, "start\t0\t1\nend\t0\t2\nexit\t0\n");
 * const records = await readRecords(dir, 3);
 * assert.equal(String(records.done), "0");
 * assert.equal(records.count, 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { parseRecordLine, parseSlice, selectIndices } from "./mod.ts";
import { RECORDS_DIR } from "./script_options.ts";
import { TaskSet } from "./task_set.ts";
import { RECORD_NAME } from "./manifest.ts";

/** What one run of an array task did to consecutive tasks of its spec. */
export interface RunOutcome {
  /** The first task. */
  readonly start: number;
  /** After the last task. */
  readonly stop: number;
  /** Their exit status: 0 for success. */
  readonly status: number;
}

/** One run of an array task, as its record tells it, in ranges. */
export interface RecordRun {
  /** The tasks it was to run. */
  readonly tasks: TaskSet;
  /** What became of its tasks, ascending; a task of {@linkcode tasks} in none has no outcome. */
  readonly outcomes: readonly RunOutcome[];
  /** Whether it wrote its `end` line. */
  readonly ended: boolean;
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
 * What one array task's record says about its tasks: the one place that decides what a run
 * means for them. A record is one file per array task, `<job id>.<array task id>`, of
 * tab-separated lines (mod.ts `RECORD_FIELDS`): `start SPEC UPTIME` when a run of the command
 * starts, `reports BY` when the program declares it reports each task, `task INDEX STATUS
 * MILLISECONDS` for each task it finishes, and `end EXIT UPTIME` when the command exits (UPTIME
 * is the node's seconds since boot, so end minus start is the run's duration).
 * - With a `reports` or `task` line (runTasks, the Python helper, any program following the
 *   protocol), a task is done only with its own `task` line of status 0; an unreported task
 *   failed with the exit status when it was not 0, and has no outcome when it was 0 (the
 *   program ended before reporting it).
 * - Without (a program that reports nothing), the exit status counts for every task of the spec.
 * - A `start` without its `end` (killed) leaves its unreported tasks without an outcome.
 * - A line of no known kind (a torn write) is skipped; a spec for another list selects nothing.
 *
 * Memory grows with the ranges of outcomes, not with the tasks: a run of 10^9 tasks that
 * succeeded is one outcome.
 *
 * @param text The record's text.
 * @param numTasks The number of tasks in the full list.
 * @returns Its runs, in order.
 *
 * @example
 * ```ts
 * import { parseRecord } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * const [run] = parseRecord("start\t0:4\t100\nreports\trunTasks\ntask\t0\t0\t5\ntask\t1\t0\t5\ntask\t2\t3\t5\nend\t0\t103.5\n", 10);
 * assert.equal(String(run!.tasks), "0:4");
 * assert.deepEqual(run!.outcomes, [{ start: 0, stop: 2, status: 0 }, { start: 2, stop: 3, status: 3 }]);
 * assert.equal(run!.seconds, 3.5); // task 3: no line, exit 0: no outcome
 * ```
 */
export function parseRecord(text: string, numTasks: number): RecordRun[] {
  return parseRecordText(text, numTasks).runs;
}

// parseRecord, and whether the record is finished: its last line is `exit`.
function parseRecordText(text: string, numTasks: number): { runs: RecordRun[]; exited: boolean } {
  const runs: RecordRun[] = [];
  let exited = false;
  let tasks: TaskSet | undefined;
  let started = NaN;
  let own = new Map<number, number>();
  let reports = false;
  const close = (exit?: number, uptime?: number): void => {
    if (tasks === undefined) return;
    // A task's own line decides it; the others of the run take the command's exit status,
    // except that a program that reports its tasks has the last word on each: one it did not
    // report did not succeed, even when it exited 0 (it ended the process early).
    const fill = exit === undefined || (reports && exit === 0) ? undefined : exit;
    const outcomes = runOutcomes(tasks, own, fill);
    const seconds = uptime === undefined || Number.isNaN(uptime) || Number.isNaN(started)
      ? undefined
      : Math.round((uptime - started) * 100) / 100;
    const run = { tasks, outcomes, ended: exit !== undefined };
    runs.push(seconds === undefined ? run : { ...run, seconds });
    tasks = undefined;
    own = new Map();
    reports = false;
  };
  for (const line of text.split("\n")) {
    const record = parseRecordLine(line);
    if (record === undefined) continue;
    exited = record.kind === "exit";
    const [a, b] = record.fields;
    if (record.kind === "start") {
      close(); // a start without an end: that run never finished
      tasks = specRanges(a ?? "", numTasks);
      started = Number(b ?? NaN);
    } else if (tasks === undefined) {
      continue; // lines outside a run belong to none
    } else if (record.kind === "reports") {
      reports = true;
    } else if (record.kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
      reports = true;
      if (tasks.has(Number(a))) own.set(Number(a), Number(b));
    } else if (record.kind === "end" && /^[0-9]+$/.test(a ?? "")) {
      close(Number(a), Number(b ?? NaN));
    }
  }
  close();
  return { runs: runs.slice(), exited };
}

// The outcomes of one run, ascending and merged: each task's own status, and `fill` (the exit
// status) for the others of the spec, or no outcome when `fill` is undefined.
function runOutcomes(
  tasks: TaskSet,
  own: ReadonlyMap<number, number>,
  fill: number | undefined,
): RunOutcome[] {
  const points = [...own].sort((x, y) => x[0] - y[0]);
  const outcomes: { start: number; stop: number; status: number }[] = [];
  const push = (start: number, stop: number, status: number): void => {
    const last = outcomes.at(-1);
    if (last !== undefined && last.stop === start && last.status === status) last.stop = stop;
    else outcomes.push({ start, stop, status });
  };
  if (fill === undefined) {
    for (const [index, status] of points) push(index, index + 1, status);
    return outcomes.slice(); // exact size: see TaskSet
  }
  let p = 0;
  for (const [a, b] of tasks.ranges) {
    let from = a;
    for (; p < points.length && points[p]![0] < b; p++) {
      const [index, status] = points[p]!;
      if (index > from) push(from, index, fill);
      push(index, index + 1, status);
      from = index + 1;
    }
    if (from < b) push(from, b, fill);
  }
  return outcomes.slice(); // exact size: see TaskSet
}

/** A failed outcome, with its place among every record's outcomes. */
export interface FailedOutcome extends RunOutcome {
  /** The array task's record: `<job id>.<array task id>`. */
  readonly record: string;
  /** Its place: job id, array task id, run of the array task (1, 2… when requeued), run, outcome. */
  readonly order: readonly number[];
}

/**
 * What every record of a job says, folded: its size grows with ranges and failures, never with
 * the records, so that status over 10^5 array tasks neither keeps 10^5 records nor, once they
 * are finished, reads them again (see {@linkcode readRecords}).
 */
export interface RecordsSummary {
  /** How many array tasks left a record. */
  readonly count: number;
  /** Tasks that some run finished with status 0. */
  readonly done: TaskSet;
  /** Every failed outcome, in the order of the records: a task's latest failure comes last. */
  readonly failures: readonly FailedOutcome[];
  /** Tasks of runs that ended without an outcome for them. */
  readonly lost: TaskSet;
  /** Tasks of runs without an end, without an outcome. */
  readonly started: TaskSet;
  /** The runs that ended on a node that told its uptime: how many, and their seconds in all. */
  readonly endedRuns: { readonly count: number; readonly seconds: number };
  /** Per job id, the array tasks whose latest run ended. */
  readonly ended: ReadonlyMap<string, TaskSet>;
  /**
   * Per job id, the array tasks whose latest run has no end, with that run's tasks that have no
   * outcome yet (`undefined` for a record with no run at all).
   */
  readonly open: ReadonlyMap<string, ReadonlyMap<number, TaskSet | undefined>>;
}

/**
 * Folds records into their {@linkcode RecordsSummary}: the one place that says what each run of
 * a record adds to it; {@linkcode readRecords} folds what it reads with the same code.
 *
 * @param records Records, each the whole of its array task's runs, in any order.
 * @returns Their summary.
 *
 * @example
 * ```ts
 * import { parseRecord, summarizeRecords } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * const summary = summarizeRecords([
 *   { jobId: "7", arrayTaskId: 1, runs: parseRecord("start\t0:2\t1\nend\t0\t3\nexit\t0\n", 4) },
 *   { jobId: "7", arrayTaskId: 2, runs: parseRecord("start\t2:4\t1\ntask\t2\t0\t5\n", 4) },
 * ]);
 * assert.equal(String(summary.done), "0:3");
 * assert.equal(String(summary.ended.get("7")), "1");
 * assert.equal(String(summary.open.get("7")!.get(2)), "3");
 * assert.deepEqual(summary.endedRuns, { count: 1, seconds: 2 });
 * ```
 */
export function summarizeRecords(records: Iterable<ArrayTaskRecord>): RecordsSummary {
  const fold = new RecordsFold();
  for (const record of records) {
    fold.add(record.jobId, record.arrayTaskId, 1, record.runs);
    fold.latest(record.jobId, record.arrayTaskId, record.runs.at(-1));
  }
  return fold.summary(fold.files);
}

// What records add up to, as they are read: ranges gathered, sets made once at the end.
class RecordsFold {
  done: (readonly [number, number])[] = [];
  failures: FailedOutcome[] = [];
  lost: (readonly [number, number])[] = [];
  started: (readonly [number, number])[] = [];
  runs = 0;
  seconds = 0;
  ended = new Map<string, (readonly [number, number])[]>();
  open = new Map<string, Map<number, TaskSet | undefined>>();

  files = 0;

  // Every run of one record file: `file` is 1 for `<job>.<task>`, N for its rerun `<job>.<task>.N`.
  add(jobId: string, arrayTaskId: number, file: number, runs: readonly RecordRun[]): void {
    this.files++;
    runs.forEach((run, r) => {
      if (run.seconds !== undefined) {
        this.runs++;
        this.seconds += run.seconds;
      }
      pushAll(run.ended ? this.lost : this.started, unreported(run).ranges);
      run.outcomes.forEach((o, k) => {
        if (o.status === 0) this.done.push([o.start, o.stop]);
        else {
          const record = `${jobId}.${arrayTaskId}`;
          this.failures.push({ ...o, record, order: [Number(jobId), arrayTaskId, file, r, k] });
        }
      });
    });
  }

  // The latest run of an array task (the last of its newest record file), which says whether it
  // ended; a finished record's did. No run at all: a record torn before its start line.
  latest(jobId: string, arrayTaskId: number, run: RecordRun | "finished" | undefined): void {
    if (run === "finished" || run?.ended) {
      pushRange(this.ended, jobId, arrayTaskId);
    } else {
      let tasks = this.open.get(jobId);
      if (tasks === undefined) this.open.set(jobId, tasks = new Map());
      tasks.set(arrayTaskId, run === undefined ? undefined : unreported(run));
    }
  }

  // Array tasks whose finished record is kept, and the newest of their files.
  endedRanges(jobId: string, ranges: readonly (readonly [number, number])[]): void {
    let all = this.ended.get(jobId);
    if (all === undefined) this.ended.set(jobId, all = []);
    pushAll(all, ranges);
  }

  merge(other: RecordsSummary): void {
    pushAll(this.done, other.done.ranges);
    pushAll(this.failures, other.failures);
    pushAll(this.lost, other.lost.ranges);
    pushAll(this.started, other.started.ranges);
    this.runs += other.endedRuns.count;
    this.seconds += other.endedRuns.seconds;
  }

  // As plain data, which a worker can post.
  data(): FoldData {
    return {
      done: this.done,
      failures: this.failures,
      lost: this.lost,
      started: this.started,
      runs: this.runs,
      seconds: this.seconds,
      files: this.files,
      ended: [...this.ended],
      open: [...this.open].map(([jobId, tasks]) => [
        jobId,
        [...tasks].map(([k, set]) => [k, set?.ranges ?? null]),
      ]),
    };
  }

  absorb(data: FoldData): void {
    pushAll(this.done, data.done);
    pushAll(this.failures, data.failures);
    pushAll(this.lost, data.lost);
    pushAll(this.started, data.started);
    this.runs += data.runs;
    this.seconds += data.seconds;
    this.files += data.files;
    for (const [jobId, ranges] of data.ended) this.endedRanges(jobId, ranges);
    for (const [jobId, tasks] of data.open) {
      let open = this.open.get(jobId);
      if (open === undefined) this.open.set(jobId, open = new Map());
      for (const [k, ranges] of tasks) {
        open.set(k, ranges === null ? undefined : new TaskSet(ranges));
      }
    }
  }

  summary(count: number): RecordsSummary {
    const byOrder = (x: FailedOutcome, y: FailedOutcome): number => {
      for (let i = 0; i < x.order.length; i++) {
        if (x.order[i] !== y.order[i]) return x.order[i]! - y.order[i]!;
      }
      return 0;
    };
    return {
      count,
      done: new TaskSet(this.done),
      failures: this.failures.sort(byOrder),
      lost: new TaskSet(this.lost),
      started: new TaskSet(this.started),
      endedRuns: { count: this.runs, seconds: Math.round(this.seconds * 100) / 100 },
      ended: new Map([...this.ended].map(([jobId, ranges]) => [jobId, new TaskSet(ranges)])),
      open: this.open,
    };
  }
}

// A RecordsFold as plain data.
interface FoldData {
  readonly done: readonly (readonly [number, number])[];
  readonly failures: readonly FailedOutcome[];
  readonly lost: readonly (readonly [number, number])[];
  readonly started: readonly (readonly [number, number])[];
  readonly runs: number;
  readonly seconds: number;
  readonly files: number;
  readonly ended: readonly (readonly [string, readonly (readonly [number, number])[]])[];
  readonly open: readonly (readonly [
    string,
    readonly (readonly [number, readonly (readonly [number, number])[] | null])[],
  ])[];
}

// The tasks of a run without an outcome; most runs have one outcome for their one range.
function unreported(run: RecordRun): TaskSet {
  const [only] = run.outcomes, [range] = run.tasks.ranges;
  if (run.outcomes.length === 1 && run.tasks.ranges.length === 1) {
    if (only!.start === range![0] && only!.stop === range![1]) return NO_TASKS;
  }
  if (run.outcomes.length === 0) return run.tasks;
  return run.tasks.without(new TaskSet(run.outcomes.map((o) => [o.start, o.stop] as const)));
}

const NO_TASKS = new TaskSet([]);

/**
 * The file in a job's output directory that keeps the summary of its finished records (those
 * ending in their `exit` line, which never change again), so that status reads each record once.
 * Outside `records/`, so that writing it does not change that directory's modification time.
 */
export const FINISHED_SUMMARY = ".finished-records.json";

// The finished records and their summary, as FINISHED_SUMMARY keeps them.
interface Finished {
  // Per job id, the array tasks whose first record file is finished.
  readonly first: Map<string, TaskSet>;
  // Names of finished rerun files, `<job>.<task>.<N>`.
  readonly reruns: Set<string>;
  readonly summary: RecordsSummary;
  // The last listing of `records/`, when its modification time was old enough to trust: while
  // the directory keeps that time, no file came or went, and the listing is not needed.
  readonly listing?: Listing;
}

interface Listing {
  // records/'s modification time, in milliseconds.
  readonly mtime: number;
  // The record files that were not finished.
  readonly unfinished: readonly string[];
  // The other files (the fake's run journals).
  readonly otherFiles: readonly string[];
}

// A directory time this recent may share its tick with a change still to come (file systems
// keep times in ticks of up to 2 s), so a listing taken then is not trusted later.
const SETTLED_MS = 5000;

const NO_SUMMARY: RecordsSummary = {
  count: 0,
  done: NO_TASKS,
  failures: [],
  lost: NO_TASKS,
  started: NO_TASKS,
  endedRuns: { count: 0, seconds: 0 },
  ended: new Map(),
  open: new Map(),
};

/** What {@linkcode readRecords} read: the summary, and what reading it again needs. */
export interface RecordsRead extends RecordsSummary {
  /** The record files that are not finished (see {@linkcode readRecords}), by name. */
  readonly unfinished: readonly string[];
  /** The other files in `records/` (the fake's run journals, local_runs.ts), by name. */
  readonly otherFiles: readonly string[];
  /** The finished records, kept by name and not read again; opaque. */
  readonly finished: unknown;
}

/**
 * Reads a job's records (see {@linkcode parseRecord}) into their summary. A record that ends in
 * its `exit` line is finished and never changes again (a rerun of its array task writes a new
 * file), so its summary is kept in {@linkcode FINISHED_SUMMARY} and it is not read again; while
 * `records/` keeps the modification time of the last listing (taken at least 5 s after its last
 * change), it is not even listed: status over 10^5 finished array tasks reads one file. A kept
 * summary that does not match the records there (one was removed) is dropped, and every record is
 * read again.
 *
 * @param outputDir The job's output directory.
 * @param numTasks The number of tasks in the full list.
 * @param again A read to bring up to date without listing the directory again: its unfinished
 *   records are read again, and `names` that may have appeared since.
 * @param names Record names to read too if they exist (with `again`).
 * @returns The summary of every record.
 *
 * @example
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { readRecords } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 4, step: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.1`, "start\t0:2\t100.5\nend\t0\t103.5\nexit\t0\n");
 * await Deno.writeTextFile(`${dir}/records/7.2`, "start\t2:4\t101\ntask\t2\t1\t5\n");
 * const first = await readRecords(dir, 4);
 * assert.equal(String(first.done), "0:2");
 * assert.equal(first.failures[0]!.record, "7.2");
 * assert.equal(String(first.open.get("7")!.get(2)), "3");
 * assert.deepEqual(first.unfinished, ["7.2"]);
 * // 7.1 is finished: its summary is kept, and only 7.2 is read again.
 * await Deno.writeTextFile(`${dir}/records/7.2`, "end\t1\t103\nexit\t1\n", { append: true });
 * const second = await readRecords(dir, 4, first, ["7.3"]);
 * assert.equal(String(second.ended.get("7")), "1:3");
 * assert.equal(second.failures.length, 1);
 * assert.equal(second.count, 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readRecords(
  outputDir: string,
  numTasks: number,
  again?: RecordsRead,
  names: readonly string[] = [],
): Promise<RecordsRead> {
  const helpers: Worker[] = [];
  try {
    return await readRecordsWith(helpers, outputDir, numTasks, again, names);
  } finally {
    for (const helper of helpers) helper.terminate();
  }
}

async function readRecordsWith(
  helpers: Worker[],
  outputDir: string,
  numTasks: number,
  again: RecordsRead | undefined,
  names: readonly string[],
): Promise<RecordsRead> {
  const dir = `${outputDir}/${RECORDS_DIR}`;
  let kept: Finished | undefined, toRead: RecordFile[], otherFiles: readonly string[];
  let listing: Listing | undefined, rewrite = false;
  if (again !== undefined) {
    kept = again.finished as Finished | undefined;
    otherFiles = again.otherFiles;
    listing = kept?.listing;
    const known = new Set(again.unfinished);
    const asked = names.filter((name) => !known.has(name) && !(kept && keeps(kept, name)));
    toRead = [...again.unfinished, ...asked].map(recordFile);
  } else {
    kept = readFinished(outputDir, numTasks);
    const { mtime, size } = directoryStat(dir);
    // Without a kept summary every record is to be read: when the directory's size says they are
    // many (ext4: 64 KiB hold some 3000 names), helpers start loading now.
    if (kept === undefined && size >= 1 << 16) helpers.push(...startHelpers());
    if (kept?.listing !== undefined && kept.listing.mtime === mtime) {
      // No file came or went since a listing that matched the kept summary.
      listing = kept.listing;
      toRead = listing.unfinished.map(recordFile);
      otherFiles = listing.otherFiles;
    } else {
      const listed: string[] = [], others: string[] = [];
      try {
        // Deno.readDir lists 10^5 entries in 0.8 of readDirSync's time (bench/RESULTS.md).
        for await (const entry of Deno.readDir(dir)) {
          if (entry.isFile) (RECORD_NAME.test(entry.name) ? listed : others).push(entry.name);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      otherFiles = others;
      let keptFound = 0;
      toRead = [];
      for (const name of listed) {
        if (kept !== undefined && keeps(kept, name)) keptFound++;
        else toRead.push(recordFile(name));
      }
      // The kept summary must hold only records that are still there, or it is stale (one was
      // removed): then every record is read again and the summary written anew.
      if (kept !== undefined && keptFound !== finishedCount(kept)) {
        kept = undefined;
        toRead = listed.map(recordFile);
        rewrite = true;
      }
      if (mtime !== undefined && Date.now() - mtime >= SETTLED_MS) {
        listing = { mtime, unfinished: [], otherFiles: others };
      }
      rewrite ||= listing?.mtime !== kept?.listing?.mtime;
    }
  }
  // An array task run again has several files: only its newest one's latest run says whether
  // it ended.
  const newestFile = new Map<string, number>();
  for (const f of [...[...kept?.reruns ?? []].map(recordFile), ...toRead]) {
    if (f.file > (newestFile.get(f.key) ?? 1)) newestFile.set(f.key, f.file);
  }
  const open = new RecordsFold(), finishing = new RecordsFold();
  const first = new Map<string, (readonly [number, number])[]>(), reruns = new Set<string>();
  // The kept files: finished; ended, unless a newer file of the same array task is there.
  for (const [jobId, set] of kept?.first ?? []) {
    first.set(jobId, [...set.ranges]);
    const rerun = [...newestFile.keys()].filter((key) => key.startsWith(`${jobId}.`))
      .map((key) => Number(key.slice(jobId.length + 1)));
    open.endedRanges(jobId, set.without(TaskSet.of(rerun)).ranges);
  }
  for (const name of kept?.reruns ?? []) {
    const f = recordFile(name);
    reruns.add(name);
    if (newestFile.get(f.key) === f.file) open.latest(f.jobId, f.arrayTaskId, "finished");
  }
  // By job id, array task and file (numbers, compared as such: localeCompare costs seconds), so
  // that ranges arrive in order and each share of the work is a stretch of them.
  const jobs = new Float64Array(toRead.length), tasks = new Float64Array(toRead.length);
  toRead.forEach((f, i) => {
    jobs[i] = Number(f.jobId);
    tasks[i] = f.arrayTaskId + f.file / 1e6;
  });
  const order = Array.from(toRead.keys()).sort((i, j) =>
    jobs[i]! - jobs[j]! || tasks[i]! - tasks[j]!
  );
  const sorted = order.map((i) => toRead[i]!);
  const unfinished: string[] = [];
  if (sorted.length < SHARED_FROM) {
    for (const helper of helpers.splice(0)) helper.terminate();
  } else if (helpers.length === 0) helpers.push(...startHelpers());
  for (const part of await readShared(dir, numTasks, sorted, newestFile, helpers)) {
    open.absorb(part.open);
    finishing.absorb(part.finishing);
    for (const [jobId, ids] of part.first) for (const id of ids) pushRange(first, jobId, id);
    for (const name of part.reruns) reruns.add(name);
    pushAll(unfinished, part.unfinished);
  }
  const all = new RecordsFold();
  all.merge(kept?.summary ?? NO_SUMMARY);
  all.merge(finishing.summary(0));
  const finished: Finished = {
    first: new Map([...first].map(([jobId, ranges]) => [jobId, new TaskSet(ranges)])),
    reruns,
    summary: all.summary(0),
    ...(listing === undefined ? {} : { listing: { ...listing, unfinished } }),
  };
  if (finishing.files > 0 || rewrite) writeFinished(outputDir, numTasks, finished);
  open.merge(finished.summary);
  return {
    ...open.summary(arrayTaskCount(finished, unfinished)),
    unfinished,
    otherFiles,
    finished,
  };
}

// What reading some record files gave, as plain data (a worker's answer).
interface FilesRead {
  readonly open: FoldData;
  readonly finishing: FoldData;
  // Per job id, the array tasks whose first file is finished.
  readonly first: readonly (readonly [string, readonly number[]])[];
  readonly reruns: readonly string[];
  readonly unfinished: readonly string[];
}

// Reads and folds record files. Synchronous reads: 10^5 awaited ones take longer, and the
// fake's summary runs this after every job.
function readFiles(
  dir: string,
  numTasks: number,
  files: readonly RecordFile[],
  newestFile: ReadonlyMap<string, number>,
): FilesRead {
  const open = new RecordsFold(), finishing = new RecordsFold();
  const first = new Map<string, number[]>(), reruns: string[] = [], unfinished: string[] = [];
  const reader = new SmallFileReader();
  for (const f of files) {
    let text: string;
    try {
      text = reader.read(`${dir}/${f.name}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      continue; // asked about and not there, or removed since the listing
    }
    const { runs, exited } = parseRecordText(text, numTasks);
    const newest = f.file === (newestFile.get(f.key) ?? 1);
    if (exited) {
      finishing.add(f.jobId, f.arrayTaskId, f.file, runs);
      if (f.file > 1) reruns.push(f.name);
      else if (first.has(f.jobId)) first.get(f.jobId)!.push(f.arrayTaskId);
      else first.set(f.jobId, [f.arrayTaskId]);
    } else {
      open.add(f.jobId, f.arrayTaskId, f.file, runs);
      unfinished.push(f.name);
    }
    if (newest) open.latest(f.jobId, f.arrayTaskId, exited ? "finished" : runs.at(-1));
  }
  return { open: open.data(), finishing: finishing.data(), first: [...first], reruns, unfinished };
}

// Reads whole files into one reused buffer: open, read, close, where Deno.readTextFileSync also
// asks the size and reads until a read of nothing (10^5 records: 0.8 of its time).
class SmallFileReader {
  #buffer = new Uint8Array(1 << 16);
  #decoder = new TextDecoder();

  read(path: string): string {
    const file = Deno.openSync(path);
    try {
      let length = 0;
      for (;;) {
        if (length === this.#buffer.length) {
          const larger = new Uint8Array(this.#buffer.length * 2);
          larger.set(this.#buffer);
          this.#buffer = larger;
        }
        const space = this.#buffer.length - length;
        const read = file.readSync(this.#buffer.subarray(length)) ?? 0;
        length += read;
        // A regular file reads short only at its end: no second read to see the end.
        if (read < space) break;
      }
      return this.#decoder.decode(this.#buffer.subarray(0, length));
    } finally {
      file.close();
    }
  }
}

// Many files are read by this thread and helper workers together, each pulling stretches of
// them until none is left: reading is mostly the kernel's work, which runs on every core.
const SHARED_FROM = 5000;
const STRETCH = 2000;
const RECORDS_WORKER = "arrayjob-records";

// Helpers for a read of many records, started before the listing so that they load meanwhile.
function startHelpers(): Worker[] {
  const count = Math.min(3, (navigator.hardwareConcurrency ?? 1) - 1);
  return Array.from(
    { length: Math.max(count, 0) },
    () => new Worker(import.meta.url, { type: "module", name: RECORDS_WORKER }),
  );
}

async function readShared(
  dir: string,
  numTasks: number,
  files: readonly RecordFile[],
  newestFile: ReadonlyMap<string, number>,
  helpers: readonly Worker[],
): Promise<FilesRead[]> {
  if (files.length < SHARED_FROM || helpers.length === 0) {
    return [readFiles(dir, numTasks, files, newestFile)];
  }
  const stretches: RecordFile[][] = [];
  for (let i = 0; i < files.length; i += STRETCH) stretches.push(files.slice(i, i + STRETCH));
  const reads: (FilesRead | undefined)[] = new Array(stretches.length);
  const newest = [...newestFile];
  let next = 0;
  const serving = helpers.map((worker) =>
    new Promise<void>((resolve) => {
      let taken = -1;
      const give = () => {
        if (next >= stretches.length) return resolve();
        taken = next++;
        worker.postMessage({ dir, numTasks, newest, files: stretches[taken] });
      };
      worker.onmessage = ({ data }: MessageEvent<{ read?: FilesRead }>) => {
        if (data.read === undefined) return resolve(); // this thread reads it again, and says why
        reads[taken] = data.read;
        give();
      };
      worker.onerror = (event) => {
        event.preventDefault();
        resolve();
      };
      give();
    })
  );
  // This thread reads too, letting the helpers' answers in between its stretches.
  while (next < stretches.length) {
    const taken = next++;
    reads[taken] = readFiles(dir, numTasks, stretches[taken]!, newestFile);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  await Promise.all(serving);
  return reads.map((read, k) => read ?? readFiles(dir, numTasks, stretches[k]!, newestFile));
}

// A helper of readShared: reads each stretch it is given and posts what it read.
if ((globalThis as { name?: unknown }).name === RECORDS_WORKER) {
  const scope = globalThis as unknown as {
    postMessage(message: { read?: FilesRead }): void;
    onmessage: ((event: MessageEvent) => void) | null;
  };
  scope.onmessage = ({ data: { dir, numTasks, files, newest } }) => {
    try {
      scope.postMessage({ read: readFiles(dir, numTasks, files, new Map(newest)) });
    } catch {
      scope.postMessage({});
    }
  };
}

// A directory's modification time in milliseconds and its size, or nothing when it is not there.
function directoryStat(dir: string): { mtime?: number; size: number } {
  try {
    const stat = Deno.statSync(dir);
    return { mtime: stat.mtime?.getTime(), size: stat.size };
  } catch {
    return { size: 0 };
  }
}

// Whether the kept summary holds a record file, by its name.
function keeps(kept: Finished, name: string): boolean {
  const dot = name.indexOf("."), second = name.indexOf(".", dot + 1);
  if (second >= 0) return kept.reruns.has(name);
  return kept.first.get(name.slice(0, dot))?.has(Number(name.slice(dot + 1))) === true;
}

// A record file's name, `<job>.<task>` or `<job>.<task>.<N>` (a rerun), taken apart.
interface RecordFile {
  readonly name: string;
  readonly jobId: string;
  readonly arrayTaskId: number;
  /** 1 for `<job>.<task>`, N for `<job>.<task>.<N>`. */
  readonly file: number;
  /** `<job>.<task>`. */
  readonly key: string;
}

function recordFile(name: string): RecordFile {
  const dot = name.indexOf("."), second = name.indexOf(".", dot + 1);
  const key = second < 0 ? name : name.slice(0, second);
  return {
    name,
    jobId: name.slice(0, dot),
    arrayTaskId: Number(key.slice(dot + 1)),
    file: second < 0 ? 1 : Number(name.slice(second + 1)),
    key,
  };
}

// Array tasks with a record: a rerun's file counts only when its array task has no first file.
function arrayTaskCount(finished: Finished, unfinished: readonly string[]): number {
  let count = 0;
  for (const set of finished.first.values()) count += set.length;
  const firsts = new Set<string>(), rerunKeys = new Set<string>();
  for (const name of unfinished) {
    const f = recordFile(name);
    if (f.file === 1) firsts.add(f.key);
    else rerunKeys.add(f.key);
  }
  for (const name of finished.reruns) rerunKeys.add(recordFile(name).key);
  count += firsts.size;
  for (const key of rerunKeys) {
    if (!firsts.has(key) && !keeps(finished, key)) count++;
  }
  return count;
}

// push(...source) without the spread, whose arguments overflow the stack past ~10^5.
function pushAll<T>(target: T[], source: readonly T[]): void {
  for (const item of source) target.push(item);
}

function pushRange(
  map: Map<string, (readonly [number, number])[]>,
  key: string,
  index: number,
): void {
  let ranges = map.get(key);
  if (ranges === undefined) map.set(key, ranges = []);
  ranges.push([index, index + 1]);
}

function finishedCount(finished: Finished): number {
  let count = finished.reruns.size;
  for (const set of finished.first.values()) count += set.length;
  return count;
}

// The kept summary, as JSON: ranges as [start, stop] pairs, failures as arrays. Anything else
// (another numTasks, another format, a torn file) is no summary: every record is read.
function readFinished(outputDir: string, numTasks: number): Finished | undefined {
  let data;
  try {
    data = JSON.parse(Deno.readTextFileSync(`${outputDir}/${FINISHED_SUMMARY}`));
  } catch {
    return undefined;
  }
  if (data?.format !== 1 || data.numTasks !== numTasks) return undefined;
  try {
    const set = (ranges: [number, number][]) => new TaskSet(ranges);
    const [runs, seconds] = data.endedRuns as [number, number];
    return {
      first: new Map(
        Object.entries(data.first as Record<string, [number, number][]>).map((
          [jobId, ranges],
        ) => [jobId, set(ranges)]),
      ),
      reruns: new Set(data.reruns as string[]),
      summary: {
        ...NO_SUMMARY,
        done: set(data.done),
        failures: (data.failures as [number, number, number, string, ...number[]][]).map((
          [start, stop, status, record, ...order],
        ) => ({ start, stop, status, record, order })),
        lost: set(data.lost),
        started: set(data.started),
        endedRuns: { count: runs, seconds },
      },
      ...(data.listing === undefined ? {} : {
        listing: {
          mtime: data.listing.mtime as number,
          unfinished: data.listing.unfinished as string[],
          otherFiles: data.listing.otherFiles as string[],
        },
      }),
    };
  } catch {
    return undefined;
  }
}

// Written whole to a temporary file, then renamed over: a reader sees the old summary or the
// new one. A directory this user cannot write to keeps none: status reads every record.
function writeFinished(outputDir: string, numTasks: number, finished: Finished): void {
  const { summary } = finished;
  const data = {
    format: 1,
    numTasks,
    first: Object.fromEntries([...finished.first].map(([jobId, set]) => [jobId, set.ranges])),
    reruns: [...finished.reruns],
    done: summary.done.ranges,
    failures: summary.failures.map((f) => [f.start, f.stop, f.status, f.record, ...f.order]),
    lost: summary.lost.ranges,
    started: summary.started.ranges,
    endedRuns: [summary.endedRuns.count, summary.endedRuns.seconds],
    listing: finished.listing,
  };
  const temporary = `${outputDir}/${FINISHED_SUMMARY}.${Deno.pid}.tmp`;
  try {
    Deno.writeTextFileSync(temporary, JSON.stringify(data));
    Deno.renameSync(temporary, `${outputDir}/${FINISHED_SUMMARY}`);
  } catch {
    try {
      Deno.removeSync(temporary);
    } catch { /* never written */ }
  }
}

// A record's task spec as ranges, without listing its tasks; a spec for another list is not
// this job's record, and selects nothing.
function specRanges(spec: string, numTasks: number): TaskSet {
  // What rendered scripts write, one index or START:STOP, without the parser: 10^5 records.
  const plain = /^([0-9]{1,15})(?::([0-9]{1,15}))?$/.exec(spec);
  if (plain !== null) {
    const start = Math.min(Number(plain[1]), numTasks);
    const stop = plain[2] === undefined ? start + 1 : Math.min(Number(plain[2]), numTasks);
    return stop > start && start < numTasks ? new TaskSet([[start, stop]]) : NO_TASKS;
  }
  try {
    return selectTaskSet(spec, numTasks);
  } catch {
    return new TaskSet([]);
  }
}

/**
 * The tasks a `--tasks` spec selects, as ranges: {@linkcode selectIndices}'s selection (as a
 * set, without its order) at the cost of the spec's parts, never of the tasks, so `""` over
 * 10^9 tasks is one range. A slice with a step other than ±1 is listed (its tasks are its ranges).
 *
 * @param spec The spec, as given to `--tasks`.
 * @param numTasks The number of tasks in the full list.
 * @returns The selected tasks.
 * @throws {ArrayJobError} When the spec is malformed or an index is out of range.
 *
 * @example
 * ```ts
 * import { selectTaskSet } from "./records.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(String(selectTaskSet("", 1e9)), "0:1000000000");
 * assert.equal(String(selectTaskSet("-1,2:5,::-1", 10)), "0:10");
 * assert.equal(String(selectTaskSet("7:2:-1", 10)), "3:8");
 * assert.throws(() => selectTaskSet("12", 10), /out of range/);
 * ```
 */
export function selectTaskSet(spec: string, numTasks: number): TaskSet {
  const parsed = parseSlice(spec);
  selectIndices({ text: spec, parts: [] }, numTasks); // validates the count
  const ranges: [number, number][] = [];
  for (const part of parsed.parts) {
    const step = part.kind === "slice" ? part.step ?? 1 : 0;
    if (part.kind === "slice" && (step === 1 || step === -1)) {
      // CPython's clamping (PySlice_AdjustIndices), as selectIndices applies it.
      const lower = step < 0 ? -1 : 0, upper = step < 0 ? numTasks - 1 : numTasks;
      const clamp = (v: number | undefined, d: number) =>
        v === undefined ? d : v < 0 ? Math.max(v + numTasks, lower) : Math.min(v, upper);
      const start = clamp(part.start, step < 0 ? upper : lower);
      const stop = clamp(part.stop, step < 0 ? lower : upper);
      if (step > 0 && stop > start) ranges.push([start, stop]);
      if (step < 0 && start > stop) ranges.push([stop + 1, start + 1]);
    } else {
      for (const i of selectIndices({ text: spec, parts: [part] }, numTasks)) {
        ranges.push([i, i + 1]);
      }
    }
  }
  return new TaskSet(ranges);
}

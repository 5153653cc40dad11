/**
 * Slurm's query and control commands on the spool (`spool.ts`): `squeue`, `scontrol show job /
 * hold / release`, `scancel`, `sacct` and `srun`, with the options the peer clients use and the
 * output formats measured on Slurm 22.05 (tests/real/FACTS.md, "Query and control commands").
 * Each command is a function of its words and an environment returning the exit code; the files
 * `squeue.ts`, `scontrol.ts` ... are their entry points.
 *
 * @example squeue's elapsed time
 * ```ts
 * import { slurmElapsed } from "./slurm_queries.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(slurmElapsed(65_000), "1:05");
 * assert.equal(slurmElapsed(90_061_000), "1-01:01:01");
 * ```
 *
 * @module
 */

import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { userInfo } from "node:os";
import { consoleIO, type FaceIO } from "./io.ts";
import { formatArrayIds } from "./job.ts";
import { Findings } from "./diagnostics.ts";
import { applyWords, type OptionTable, type Parsed } from "./options.ts";
import { expandSlurmPattern } from "./slurm.ts";
import { cancelTasks, ended, Spool, type SpoolJob, type SpoolTask } from "./spool.ts";

/** Where a query command runs: its spool, output and environment. */
export interface QueryContext {
  /** The spool; default: this user's. */
  spool?: Spool;
  /** Output sinks; default: the console. */
  io?: FaceIO;
  /** The environment (srun reads `SLURM_JOB_ID` from it); default: the process's. */
  env?: Record<string, string>;
}

/** Finished jobs stay visible for this long (Slurm's MinJobAge, 300 s in scripts/slurm-up.sh). */
export const MIN_JOB_AGE_MS = 300_000;

const INVALID_JOB = "slurm_load_jobs error: Invalid job id specified";

const host = () => Deno.hostname().split(".")[0];

const COMPACT: Record<string, string> = {
  PENDING: "PD",
  RUNNING: "R",
  COMPLETED: "CD",
  FAILED: "F",
  CANCELLED: "CA",
  TIMEOUT: "TO",
};

/** Elapsed time as squeue's `%M` writes it: `M:SS`, `H:MM:SS`, `D-HH:MM:SS`. */
export function slurmElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [d, h, m, sec] = [
    Math.floor(s / 86400),
    Math.floor(s / 3600) % 24,
    Math.floor(s / 60) % 60,
    s % 60,
  ];
  const two = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return `${d}-${two(h)}:${two(m)}:${two(sec)}`;
  if (h > 0) return `${h}:${two(m)}:${two(sec)}`;
  return `${m}:${two(sec)}`;
}

function runTime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  const d = Math.floor(s / 86400);
  const hms = `${two(Math.floor(s / 3600) % 24)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

function isoLocal(ms: number | undefined): string {
  if (ms === undefined) return "Unknown";
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 19);
}

/** Why a pending task waits, or what ended a task, in Slurm's reason names. */
export function slurmReason(job: SpoolJob, task: SpoolTask, now = Date.now()): string {
  if (task.reason !== undefined) return task.reason;
  switch (task.state) {
    case "PENDING":
      if (task.hold === "user") return "JobHeldUser";
      if (task.hold === "admin") return "JobHeldAdmin";
      if (job.beginTime !== undefined && now < job.beginTime) return "BeginTime";
      if (
        job.throttle !== undefined &&
        job.tasks.filter((t) => t.state === "RUNNING").length >= job.throttle
      ) return "JobArrayTaskLimit";
      return "Resources";
    case "FAILED":
      return "NonZeroExitCode";
    case "TIMEOUT":
      return "TimeLimit";
    default:
      return "None";
  }
}

/** One row of squeue / record of scontrol: a task, or pending tasks not split off yet. */
interface Row {
  job: SpoolJob;
  tasks: SpoolTask[];
  /** `%i`: `ID`, `ID_N`, `ID_[SPEC]`. */
  id: string;
  /** `%K`: `N`, the spec, or `N/A`. */
  taskId: string;
  /** `%A`: the job id of the row (a task's own; the array's for a remainder). */
  ownId: string;
}

function visible(task: SpoolTask, now: number): boolean {
  return !ended(task) || now - (task.end ?? 0) < MIN_JOB_AGE_MS;
}

// Rows of a job: each started or ended task its own; pending tasks that share a reason one row
// `ID_[SPEC]` unless `split` (squeue -r).
function rowsOf(job: SpoolJob, tasks: SpoolTask[], split: boolean, now: number): Row[] {
  const rows: Row[] = [];
  const own = (t: SpoolTask): Row =>
    job.array
      ? { job, tasks: [t], id: `${job.id}_${t.index}`, taskId: String(t.index), ownId: t.jobId }
      : { job, tasks: [t], id: job.id, taskId: "N/A", ownId: job.id };
  const groups = new Map<string, SpoolTask[]>();
  for (const t of tasks) {
    if (t.state === "PENDING" && job.array && !split) {
      const key = slurmReason(job, t, now);
      groups.set(key, [...(groups.get(key) ?? []), t]);
    } else rows.push(own(t));
  }
  for (const group of groups.values()) {
    if (group.length === 1) {
      rows.push({ ...own(group[0]), ownId: job.id });
      continue;
    }
    const spec = formatArrayIds(group.map((t) => t.index)) +
      (job.throttle ? `%${job.throttle}` : "");
    rows.push({ job, tasks: group, id: `${job.id}_[${spec}]`, taskId: spec, ownId: job.id });
  }
  return rows;
}

function nodeOrReason(row: Row, now: number): string {
  const t = row.tasks[0];
  const reason = slurmReason(row.job, t, now);
  if (t.state === "PENDING" || t.state === "FAILED" || t.state === "TIMEOUT") return `(${reason})`;
  if (t.state === "CANCELLED" && t.start === undefined) return "";
  return host();
}

function elapsedMs(t: SpoolTask, now: number): number {
  if (t.start === undefined) return 0;
  return (t.end ?? now) - t.start;
}

function field(row: Row, letter: string, now: number): string {
  const t = row.tasks[0];
  const j = row.job;
  switch (letter) {
    case "i":
      return row.id;
    case "F":
      return j.id;
    case "K":
      return row.taskId;
    case "A":
      return row.ownId;
    case "T":
      return t.state;
    case "t":
      return COMPACT[t.state];
    case "r":
      return slurmReason(j, t, now);
    case "R":
      return nodeOrReason(row, now);
    case "M":
      return slurmElapsed(elapsedMs(t, now));
    case "N":
      return t.start !== undefined ? host() : "";
    case "D":
      return "1";
    case "C":
      return String(j.slots);
    case "P":
      return j.partition;
    case "j":
      return j.name;
    case "u":
      return j.user;
    case "a":
      return "(null)";
    case "l":
      return j.timeLimit === undefined ? "UNLIMITED" : slurmElapsed(j.timeLimit * 1000);
    case "V":
      return isoLocal(j.submitTime);
    case "S":
      return t.start === undefined ? "N/A" : isoLocal(t.start);
    case "e":
      return t.end === undefined ? "N/A" : isoLocal(t.end);
    case "Z":
      return j.workDir;
    case "o":
      return j.command;
    case "%":
      return "%";
    default:
      return "";
  }
}

const DEFAULT_FORMAT = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";

const HEADERS: Record<string, string> = {
  i: "JOBID",
  F: "ARRAY_JOB_ID",
  K: "ARRAY_TASK_ID",
  A: "JOBID",
  T: "STATE",
  t: "ST",
  r: "REASON",
  R: "NODELIST(REASON)",
  M: "TIME",
  N: "NODELIST",
  D: "NODES",
  C: "CPUS",
  P: "PARTITION",
  j: "NAME",
  u: "USER",
  a: "ACCOUNT",
  l: "TIME_LIMIT",
  V: "SUBMIT_TIME",
  S: "START_TIME",
  e: "END_TIME",
  Z: "WORK_DIR",
  o: "COMMAND",
};

// squeue's -o format: literal text and %[.][-][width]letter; '.' right-aligns, a width cuts.
function formatLine(format: string, value: (letter: string) => string): string {
  return format.replace(/%(\.?)(-?)(\d*)([a-zA-Z%])/g, (_m, dot, _minus, width, letter) => {
    let v = value(letter);
    if (width !== "") {
      const w = Number(width);
      v = v.slice(0, w);
      v = dot ? v.padStart(w) : v.padEnd(w);
    }
    return v;
  });
}

/** A parsed command line: options by name, and the other words. */
interface QueryReq extends Parsed {
  [key: string]: unknown;
  words: string[];
}

// A GNU-spelled option table whose options just record their values under their first name.
function table(command: string, withValue: string[], flags: string[]): OptionTable<QueryReq> {
  return {
    command,
    spelling: "gnu",
    options: [
      ...withValue.map((n) => ({
        names: n.split(" "),
        values: 1 as const,
        apply: (req: QueryReq, [v]: string[]) => req[n.split(" ")[0]] = v,
      })),
      ...flags.map((n) => ({
        names: n.split(" "),
        values: 0 as const,
        apply: (req: QueryReq) => req[n.split(" ")[0]] = true,
      })),
    ],
  };
}

// Parse words with `t`; a non-option word is kept in `words` (command arguments).
function parse(t: OptionTable<QueryReq>, args: string[], stopAtWord = false): QueryReq {
  const req: QueryReq = { lines: new Map(), words: [] };
  let rest = args;
  while (rest.length > 0) {
    const at = applyWords(t, rest, req, { findings: new Findings(), fake: {} });
    if (at >= rest.length) break;
    if (stopAtWord) {
      req.words.push(...rest.slice(at));
      break;
    }
    req.words.push(rest[at]);
    rest = rest.slice(at + 1);
  }
  return req;
}

// Run a command body, turning a usage error into `PREFIX: error: MESSAGE` and exit 1.
function guarded(io: FaceIO, prefix: string, body: () => number): number {
  try {
    return body();
  } catch (e) {
    io.stderr(`${prefix}: error: ${(e as Error).message}`);
    return 1;
  }
}

const SLURM_STATES: Record<string, string> = {
  PD: "PENDING",
  R: "RUNNING",
  CD: "COMPLETED",
  F: "FAILED",
  CA: "CANCELLED",
  TO: "TIMEOUT",
};

/** `squeue`: `-h -r -t STATES -j IDS -u USERS -n NAMES -p PARTS -o FORMAT --me`. */
export function squeue(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  return guarded(io, "squeue", () => {
    const req = parse(
      table(
        "squeue",
        ["--jobs -j", "--states -t", "--user -u", "--format -o", "--name -n", "--partition -p"],
        ["--noheader -h", "--array -r", "--me", "--all -a", "--long -l"],
      ),
      args,
    );
    const spool = ctx.spool ?? new Spool();
    const now = Date.now();
    const ids = req["--jobs"] === undefined ? undefined : String(req["--jobs"]).split(",");
    for (const id of ids ?? []) {
      if (!/^\d+(_\d+)?$/.test(id)) {
        io.stderr(`squeue: error: Invalid job id: ${id}`);
        return 1;
      }
    }
    const states = String(req["--states"] ?? "PENDING,RUNNING").toUpperCase().split(",")
      .map((s) => SLURM_STATES[s] ?? s);
    const all = states.includes("ALL");
    const users = req["--me"]
      ? [userName(ctx.env)]
      : req["--user"]
      ? String(req["--user"]).split(",")
      : undefined;
    const names = req["--name"] ? String(req["--name"]).split(",") : undefined;
    const jobs = spool.all().filter((j) => j.scheduler === "slurm");
    const rows: Row[] = [];
    let known = false;
    for (const job of jobs) {
      let tasks = job.tasks.filter((t) => visible(t, now));
      if (ids) {
        tasks = tasks.filter((t) =>
          ids.some((id) =>
            id === job.id || id === `${job.id}_${t.index}` ||
            (id === t.jobId && t.state !== "PENDING")
          )
        );
        if (tasks.length > 0) known = true;
      }
      if (users && !users.includes(job.user)) continue;
      if (names && !names.includes(job.name)) continue;
      tasks = tasks.filter((t) => all || states.includes(t.state));
      rows.push(...rowsOf(job, tasks, req["--array"] === true, now));
    }
    if (ids && !known) {
      io.stderr(INVALID_JOB);
      return 1;
    }
    // Pending rows first, then the others, as squeue sorts by state then priority.
    const rank = (r: Row) => (r.tasks[0].state === "PENDING" ? 0 : 1);
    rows.sort((a, b) =>
      rank(a) - rank(b) ||
      (rank(a) === 0 ? Number(b.job.id) - Number(a.job.id) : Number(a.job.id) - Number(b.job.id)) ||
      a.tasks[0].index - b.tasks[0].index
    );
    const format = String(req["--format"] ?? DEFAULT_FORMAT);
    if (req["--noheader"] !== true) {
      io.stdout(formatLine(format, (l) => HEADERS[l] ?? l.toUpperCase()));
    }
    for (const row of rows) io.stdout(formatLine(format, (l) => field(row, l, now)));
    return 0;
  });
}

/** The submitting user, as both faces show it: `$USER`, else the account's name. */
export function userName(env?: Record<string, string>): string {
  const e = env ?? Deno.env.toObject();
  if (e.USER) return e.USER;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

// The jobs and tasks `ids` name among the visible ones; unknown ids are returned separately.
function named(spool: Spool, ids: string[], now: number, expired = false) {
  const jobs = spool.all().filter((j) => j.scheduler === "slurm");
  const found: { job: SpoolJob; tasks: SpoolTask[] }[] = [];
  const unknown: string[] = [];
  for (const id of ids) {
    let hit = false;
    for (const job of jobs) {
      const tasks = job.tasks.filter((t) =>
        (expired || visible(t, now)) &&
        (id === job.id || id === `${job.id}_${t.index}` ||
          (id === t.jobId && t.state !== "PENDING"))
      );
      if (tasks.length) {
        found.push({ job, tasks });
        hit = true;
      }
    }
    if (!hit) unknown.push(id);
  }
  return { found, unknown };
}

function scontrolRecord(row: Row, now: number): string[] {
  const j = row.job;
  const t = row.tasks[0];
  const uid = Deno.uid() ?? 0;
  const gid = Deno.gid() ?? 0;
  const head = j.array
    ? `JobId=${row.ownId} ArrayJobId=${j.id} ArrayTaskId=${row.taskId}` +
      (j.throttle && row.tasks.length > 1 ? ` ArrayTaskThrottle=${j.throttle}` : "") +
      ` JobName=${j.name}`
    : `JobId=${j.id} JobName=${j.name}`;
  const held = t.hold !== undefined && t.state === "PENDING";
  const started = t.start !== undefined;
  const exit = `${t.exit ?? 0}:${t.signal ?? 0}`;
  const lines = [
    head,
    `UserId=${j.user}(${uid}) GroupId=${j.user}(${gid}) MCS_label=N/A`,
    `Priority=${held ? 0 : 4294901750} Nice=0 Account=(null) QOS=(null)`,
    `JobState=${t.state} Reason=${slurmReason(j, t, now)} Dependency=(null)`,
    `Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=${exit}`,
    `RunTime=${runTime(elapsedMs(t, now))} TimeLimit=${
      j.timeLimit === undefined ? "UNLIMITED" : runTime(j.timeLimit * 1000)
    } TimeMin=N/A`,
    `SubmitTime=${isoLocal(j.submitTime)} EligibleTime=${
      isoLocal(Math.max(j.submitTime, j.beginTime ?? 0))
    }`,
    `AccrueTime=${isoLocal(j.submitTime)}`,
    `StartTime=${started ? isoLocal(t.start) : "Unknown"} EndTime=${
      t.end !== undefined ? isoLocal(t.end) : "Unknown"
    } Deadline=N/A`,
    `Partition=${j.partition} AllocNode:Sid=${host()}:${Deno.pid}`,
    `NodeList=${started ? host() : ""}`,
    ...(started ? [`BatchHost=${host()}`] : []),
    `NumNodes=1 NumCPUs=${j.slots} NumTasks=1 CPUs/Task=${j.slots}`,
    `TRES=cpu=${j.slots},node=1`,
    `Command=${j.command}`,
    `WorkDir=${j.workDir}`,
    `StdErr=${t.stderr ?? t.stdout}`,
    `StdIn=/dev/null`,
    `StdOut=${t.stdout}`,
    `Power=`,
  ];
  return lines;
}

/** `scontrol [-o] show job [IDS]`, `scontrol hold|uhold|release IDS`. */
export function scontrol(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  return guarded(io, "scontrol", () => {
    const req = parse(table("scontrol", [], ["--oneliner -o", "--details -d"]), args, true);
    const [verb, ...rest] = req.words;
    const spool = ctx.spool ?? new Spool();
    const now = Date.now();
    if (verb === "show" && (rest[0] === "job" || rest[0] === "jobs")) {
      const ids = rest.slice(1).flatMap((w) => w.split(","));
      let rows: Row[];
      if (ids.length === 0) {
        rows = spool.all().filter((j) => j.scheduler === "slurm").flatMap((j) =>
          rowsOf(j, j.tasks.filter((t) => visible(t, now)), false, now)
        );
      } else {
        const { found, unknown } = named(spool, ids, now);
        if (unknown.length && found.length === 0) {
          io.stderr(INVALID_JOB);
          return 1;
        }
        rows = found.flatMap(({ job, tasks }) => rowsOf(job, tasks, false, now));
      }
      for (const row of rows) {
        const lines = scontrolRecord(row, now);
        if (req["--oneliner"]) io.stdout(lines.join(" "));
        else io.stdout(lines.map((l, i) => (i === 0 ? l : `   ${l}`)).join("\n") + "\n   \n");
      }
      return 0;
    }
    if (verb === "hold" || verb === "uhold" || verb === "release") {
      const ids = rest.flatMap((w) => w.split(","));
      const { found, unknown } = named(spool, ids, now);
      const who: "user" | "admin" = verb === "uhold" || (Deno.uid() ?? 1) !== 0 ? "user" : "admin";
      for (const { job, tasks } of found) {
        const indices = new Set(tasks.map((t) => t.index));
        spool.update(job.id, (j) => {
          for (const t of j.tasks) {
            if (!indices.has(t.index) || t.state !== "PENDING") continue;
            if (verb === "release") delete t.hold;
            else t.hold = who;
          }
        });
      }
      if (unknown.length) {
        for (const id of unknown) io.stderr(`Invalid job id specified for job ${id}`);
        io.stderr(`slurm_suspend error: Invalid job id specified`);
        return 1;
      }
      return 0;
    }
    io.stderr(`scontrol: error: the fake knows only 'show job', 'hold', 'uhold' and 'release'`);
    return 1;
  });
}

/** `scancel [IDS] [-n NAME] [-u USER] [-t STATE]`: silent, also for unknown ids (22.05). */
export function scancel(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  return guarded(io, "scancel", () => {
    const req = parse(
      table(
        "scancel",
        ["--name -n", "--user -u", "--state -t", "--signal -s", "--partition -p"],
        ["--quiet -Q", "--batch -b", "--full -f", "--verbose -v"],
      ),
      args,
    );
    const ids = req.words.flatMap((w) => w.split(","));
    if (ids.length === 0 && !req["--name"] && !req["--user"]) {
      io.stderr("scancel: error: No job identification provided");
      return 1;
    }
    const spool = ctx.spool ?? new Spool();
    const now = Date.now();
    let targets: { job: SpoolJob; tasks: SpoolTask[] }[];
    if (ids.length) targets = named(spool, ids, now).found;
    else {
      targets = spool.all().filter((j) =>
        j.scheduler === "slurm" &&
        (!req["--name"] || j.name === req["--name"]) &&
        (!req["--user"] || j.user === req["--user"])
      ).map((job) => ({ job, tasks: job.tasks }));
    }
    for (const { job, tasks } of targets) {
      const state = req["--state"]
        ? SLURM_STATES[String(req["--state"])] ?? req["--state"]
        : undefined;
      const live = tasks.filter((t) => !ended(t) && (!state || t.state === state));
      // A pending task keeps the reason it had (FACTS.md: "cancelled pending").
      const reasons = new Map(live.map((t) => [t.index, slurmReason(job, t, now)]));
      cancelTasks(spool, job, live);
      spool.update(job.id, (j) => {
        for (const t of j.tasks) {
          if (t.state === "CANCELLED" && t.start === undefined && reasons.has(t.index)) {
            t.reason = reasons.get(t.index);
          }
        }
      });
    }
    return 0;
  });
}

const SACCT_DEFAULT = "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode";

function sacctField(row: Row, name: string, step: boolean, now: number): string {
  const t = row.tasks[0];
  const j = row.job;
  switch (name.toLowerCase()) {
    case "jobid":
      return step ? `${row.id}.batch` : row.id;
    case "jobidraw":
      return step ? `${row.ownId}.batch` : row.ownId;
    case "jobname":
      return step ? "batch" : j.name;
    case "partition":
      return step ? "" : j.partition;
    case "account":
      return "";
    case "alloccpus":
    case "ncpus":
      return String(j.slots);
    case "state":
      return t.state;
    case "exitcode":
      return `${t.exit ?? 0}:${t.signal ?? 0}`;
    case "nodelist":
      return t.start !== undefined ? host() : "None assigned";
    case "start":
      return t.start !== undefined ? isoLocal(t.start) : "Unknown";
    case "end":
      return t.end !== undefined ? isoLocal(t.end) : "Unknown";
    case "submit":
      return isoLocal(j.submitTime);
    case "elapsed":
      return runTime(elapsedMs(t, now));
    case "user":
      return step ? "" : j.user;
    case "workdir":
      return j.workDir;
    default:
      return "";
  }
}

/**
 * `sacct -j IDS [-o FIELDS] [--parsable2|-p] [-n] [-X]`. Real accounting is disabled where the
 * fake was measured, so the layout follows what submitit parses (a `|`-separated header, then
 * `ID_N`, `ID_[SPEC]` and `ID_N.batch` rows) and sacct(1) for the fixed-width form.
 */
export function sacct(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  return guarded(io, "sacct", () => {
    const req = parse(
      table(
        "sacct",
        [
          "--jobs -j",
          "--format -o",
          "--user -u",
          "--starttime -S",
          "--endtime -E",
          "--state -s",
          "--name",
        ],
        [
          "--parsable2 -P",
          "--parsable -p",
          "--noheader -n",
          "--allocations -X",
          "--allusers -a",
          "--brief -b",
        ],
      ),
      args,
    );
    const spool = ctx.spool ?? new Spool();
    const now = Date.now();
    const fields = String(
      req["--format"] ?? (req["--brief"] ? "JobID,State,ExitCode" : SACCT_DEFAULT),
    )
      .split(",").map((f) => f.split("%")[0]).filter((f) => f !== "");
    let found: { job: SpoolJob; tasks: SpoolTask[] }[];
    if (req["--jobs"]) found = named(spool, String(req["--jobs"]).split(","), now, true).found;
    else {
      found = spool.all().filter((j) => j.scheduler === "slurm").map((job) => ({
        job,
        tasks: job.tasks,
      }));
    }
    const lines: string[][] = [];
    for (const { job, tasks } of found) {
      for (const row of rowsOf(job, tasks, false, now)) {
        lines.push(fields.map((f) => sacctField(row, f, false, now)));
        if (!req["--allocations"] && row.tasks[0].start !== undefined) {
          lines.push(fields.map((f) => sacctField(row, f, true, now)));
        }
      }
    }
    const parsable = req["--parsable2"] === true || req["--parsable"] === true;
    const end = req["--parsable"] === true ? "|" : "";
    const header = fields;
    if (parsable) {
      if (!req["--noheader"]) io.stdout(header.join("|") + end);
      for (const l of lines) io.stdout(l.join("|") + end);
      return 0;
    }
    const width = (f: string) => (/^jobid/i.test(f) ? 12 : 10);
    const cell = (f: string, v: string) => {
      const w = width(f);
      return (v.length > w ? v.slice(0, w - 1) + "+" : v).padStart(w);
    };
    if (!req["--noheader"]) {
      io.stdout(header.map((f) => f.padStart(width(f)).slice(-width(f))).join(" "));
      io.stdout(header.map((f) => "-".repeat(width(f))).join(" "));
    }
    for (const l of lines) io.stdout(l.map((v, i) => cell(header[i], v)).join(" "));
    return 0;
  });
}

/**
 * `srun [OPTIONS] COMMAND...`: inside a job (`SLURM_JOB_ID` set) one step of it, step id 0,
 * with `--output`/`--error` patterns expanded (`%A %a %j %s %t %x %N %u`); outside one, a new
 * one-task job of its own in the spool, running in the foreground. Exits with the command's
 * status, saying so on stderr when it failed, as srun does.
 */
export async function srun(args: string[], ctx: QueryContext = {}): Promise<number> {
  const io = ctx.io ?? consoleIO();
  const env = { ...(ctx.env ?? Deno.env.toObject()) };
  let req: QueryReq;
  try {
    req = parse(
      table(
        "srun",
        [
          "--output -o",
          "--error -e",
          "--ntasks -n",
          "--nodes -N",
          "--cpus-per-task -c",
          "--job-name -J",
          "--time -t",
          "--mem",
          "--partition -p",
          "--open-mode",
          "--export",
          "--chdir -D",
          "--mpi",
          "--cpu-bind",
          "--gres",
          "--input -i",
        ],
        ["--unbuffered -u", "--exclusive", "--overlap", "--quiet -Q", "--label -l", "--wait"],
      ),
      args,
      true,
    );
  } catch (e) {
    io.stderr(`srun: error: ${(e as Error).message}`);
    return 1;
  }
  const command = req.words;
  if (command.length === 0) {
    io.stderr("srun: fatal: No command given to execute.");
    return 1;
  }
  let spool: Spool | undefined;
  let ownJob: string | undefined;
  if (env.SLURM_JOB_ID === undefined) {
    // Outside an allocation srun makes a job of its own (FACTS.md: `43 0 0`).
    spool = ctx.spool ?? new Spool();
    const id = String(spool.nextIds(1));
    ownJob = id;
    const name = String(req["--job-name"] ?? command[0].split("/").at(-1));
    spool.create({
      id,
      scheduler: "slurm",
      name,
      user: userName(env),
      submitDir: Deno.cwd(),
      workDir: Deno.cwd(),
      command: command.join(" "),
      submitTime: Date.now(),
      array: false,
      slots: Number(req["--cpus-per-task"] ?? 1),
      cancelSignal: "SIGTERM",
      partition: String(req["--partition"] ?? "debug"),
      queue: String(req["--partition"] ?? "debug"),
      runner: Deno.pid,
      tasks: [{ index: 0, jobId: id, state: "RUNNING", start: Date.now(), stdout: "" }],
    });
    Object.assign(env, {
      SLURM_JOB_ID: id,
      SLURM_JOBID: id,
      SLURM_JOB_NAME: name,
      SLURM_JOB_NODELIST: host(),
      SLURM_NODELIST: host(),
      SLURM_NNODES: "1",
      SLURM_JOB_NUM_NODES: "1",
      SLURM_JOB_PARTITION: String(req["--partition"] ?? "debug"),
      SLURM_SUBMIT_DIR: Deno.cwd(),
      SLURM_CLUSTER_NAME: "fake",
    });
  }
  Object.assign(env, {
    SLURM_STEP_ID: "0",
    SLURM_STEPID: "0",
    SLURM_PROCID: "0",
    SLURM_LOCALID: "0",
    SLURM_NODEID: "0",
    SLURM_NTASKS: "1",
    SLURM_NPROCS: "1",
    SLURM_STEP_NUM_TASKS: "1",
    SLURM_STEP_NUM_NODES: "1",
    SLURM_STEP_NODELIST: host(),
  });
  const vars = {
    A: env.SLURM_ARRAY_JOB_ID ?? env.SLURM_JOB_ID,
    a: env.SLURM_ARRAY_TASK_ID ?? "4294967294",
    j: env.SLURM_JOB_ID,
    x: env.SLURM_JOB_NAME ?? "",
    N: host(),
    u: userName(env),
  };
  const open = (pattern: unknown): number | "inherit" => {
    if (pattern === undefined) return "inherit";
    const path = expandSlurmPattern(String(pattern).replace(/%(\d*)s/g, "%$1t"), vars);
    const append = req["--open-mode"] === "append";
    return openSync(path, append ? "a" : "w");
  };
  let stdout: number | "inherit", stderr: number | "inherit";
  try {
    stdout = open(req["--output"]);
    stderr = req["--error"] === undefined ? stdout : open(req["--error"]);
  } catch (e) {
    io.stderr(`srun: error: cannot open output: ${(e as Error).message}`);
    return 1;
  }
  const child = spawn(command[0], command.slice(1), {
    env,
    cwd: req["--chdir"] === undefined ? undefined : String(req["--chdir"]),
    stdio: ["inherit", stdout, stderr],
  });
  const status = await new Promise<{ code: number; signal: number | null }>((resolve) => {
    child.once(
      "exit",
      (code, signal) =>
        resolve({
          code: code ?? 0,
          signal: signal ? (Deno.build.os === "linux" ? signalNumber(signal) : 9) : null,
        }),
    );
    child.once("error", () => resolve({ code: 2, signal: null }));
  });
  for (const fd of [stdout, stderr]) {
    if (typeof fd === "number") {
      try {
        closeSync(fd);
      } catch {
        // Closed already (stdout and stderr the same file).
      }
    }
  }
  if (spool && ownJob) {
    spool.update(ownJob, (j) => {
      const t = j.tasks[0];
      t.end = Date.now();
      if (status.signal !== null) t.signal = status.signal;
      else t.exit = status.code;
      t.state = status.code === 0 && status.signal === null ? "COMPLETED" : "FAILED";
      delete j.runner;
    });
  }
  if (status.signal !== null) {
    io.stderr(`srun: error: ${host()}: task 0: Killed`);
    return 128 + status.signal;
  }
  if (status.code !== 0) {
    io.stderr(`srun: error: ${host()}: task 0: Exited with exit code ${status.code}`);
  }
  return status.code;
}

function signalNumber(name: string): number {
  const table: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGUSR1: 10,
    SIGUSR2: 12,
  };
  return table[name] ?? 9;
}

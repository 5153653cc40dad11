/**
 * The fake Slurm `squeue` on the fake's job spool (`spool.ts`): the jobs and tasks still visible,
 * one row each (pending tasks that share a reason in one `ID_[SPEC]` row), in squeue's `-o`
 * format. `squeue(words, context)` returns the exit code; run as a program (`bin/squeue`), it is
 * the command. Formats as measured on Slurm 22.05 (tests/real/FACTS.md).
 *
 * @module
 */

import { type QueryContext, queryTable, runQuery, userName } from "./query_command.ts";
import { Spool } from "./spool.ts";
import {
  elapsedMs,
  host,
  INVALID_JOB,
  isoLocal,
  type Row,
  rowsOf,
  SLURM_STATES,
  slurmElapsed,
  slurmReason,
  visible,
} from "./slurm_view.ts";

const COMPACT: Record<string, string> = {
  PENDING: "PD",
  RUNNING: "R",
  COMPLETED: "CD",
  FAILED: "F",
  CANCELLED: "CA",
  TIMEOUT: "TO",
};

function nodeOrReason(row: Row, now: number): string {
  const t = row.tasks[0];
  const reason = slurmReason(row.job, t, now);
  if (t.state === "PENDING" || t.state === "FAILED" || t.state === "TIMEOUT") return `(${reason})`;
  if (t.state === "CANCELLED" && t.start === undefined) return "";
  return host();
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

const SQUEUE_OPTIONS = queryTable(
  "squeue",
  ["--jobs -j", "--states -t", "--user -u", "--format -o", "--name -n", "--partition -p"],
  ["--noheader -h", "--array -r", "--me", "--all -a", "--long -l"],
);

/** `squeue`: `-h -r -t STATES -j IDS -u USERS -n NAMES -p PARTS -o FORMAT --me`. */
export function squeue(args: string[], ctx: QueryContext = {}): number {
  return runQuery(SQUEUE_OPTIONS, args, ctx, (req, io) => {
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

if (import.meta.main) Deno.exit(await squeue(Deno.args));

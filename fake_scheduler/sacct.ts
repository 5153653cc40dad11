/**
 * The fake Slurm `sacct` on the fake's job spool (`spool.ts`): accounting rows of jobs, also of
 * those past MinJobAge. `sacct(words, context)` returns the exit code; run as a program
 * (`bin/sacct`), it is the command.
 *
 * @module
 */

import { type QueryContext, queryTable, runQuery } from "./query_command.ts";
import { Spool, type SpoolJob, type SpoolTask } from "./spool.ts";
import { elapsedMs, host, isoLocal, type Row, rowsOf, runTime, tasksNamed } from "./slurm_view.ts";

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

const SACCT_OPTIONS = queryTable(
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
);

/**
 * `sacct -j IDS [-o FIELDS] [--parsable2|-p] [-n] [-X]`. Real accounting is disabled where the
 * fake was measured, so the layout follows what submitit parses (a `|`-separated header, then
 * `ID_N`, `ID_[SPEC]` and `ID_N.batch` rows) and sacct(1) for the fixed-width form.
 */
export function sacct(args: string[], ctx: QueryContext = {}): number {
  return runQuery(SACCT_OPTIONS, args, ctx, (req, io) => {
    const spool = ctx.spool ?? new Spool();
    const now = Date.now();
    const fields = String(
      req["--format"] ?? (req["--brief"] ? "JobID,State,ExitCode" : SACCT_DEFAULT),
    )
      .split(",").map((f) => f.split("%")[0]).filter((f) => f !== "");
    let found: { job: SpoolJob; tasks: SpoolTask[] }[];
    if (req["--jobs"]) found = tasksNamed(spool, String(req["--jobs"]).split(","), now, true).found;
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

if (import.meta.main) Deno.exit(await sacct(Deno.args));

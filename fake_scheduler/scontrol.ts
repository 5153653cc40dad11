/**
 * The fake Slurm `scontrol` on the fake's job spool (`spool.ts`): `show job` records, and `hold`,
 * `uhold` and `release` of pending tasks. `scontrol(words, context)` returns the exit code; run
 * as a program (`bin/scontrol`), it is the command. Formats as measured on Slurm 22.05
 * (tests/real/FACTS.md).
 *
 * @module
 */

import { type QueryContext, queryTable, runQuery } from "./query_command.ts";
import { Spool } from "./spool.ts";
import {
  elapsedMs,
  host,
  INVALID_JOB,
  isoLocal,
  type Row,
  rowsOf,
  runTime,
  slurmReason,
  tasksNamed,
  visible,
} from "./slurm_view.ts";

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

const SCONTROL_OPTIONS = queryTable("scontrol", [], ["--oneliner -o", "--details -d"]);

/** `scontrol [-o] show job [IDS]`, `scontrol hold|uhold|release IDS`. */
export function scontrol(args: string[], ctx: QueryContext = {}): number {
  return runQuery(SCONTROL_OPTIONS, args, ctx, (req, io) => {
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
        const { found, unknown } = tasksNamed(spool, ids, now);
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
      const { found, unknown } = tasksNamed(spool, ids, now);
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
  }, true);
}

if (import.meta.main) Deno.exit(await scontrol(Deno.args));

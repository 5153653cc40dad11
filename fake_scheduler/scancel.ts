/**
 * The fake Slurm `scancel` on the fake's job spool (`spool.ts`): cancels tasks by id, name, user
 * or state. `scancel(words, context)` returns the exit code; run as a program (`bin/scancel`), it
 * is the command. Behaviour as measured on Slurm 22.05 (tests/real/FACTS.md).
 *
 * @module
 */

import { type QueryContext, queryTable, runQuery } from "./query_command.ts";
import { cancelTasks, ended, Spool, type SpoolJob, type SpoolTask } from "./spool.ts";
import { SLURM_STATES, slurmReason, tasksNamed } from "./slurm_view.ts";

const SCANCEL_OPTIONS = queryTable(
  "scancel",
  ["--name -n", "--user -u", "--state -t", "--signal -s", "--partition -p"],
  ["--quiet -Q", "--batch -b", "--full -f", "--verbose -v"],
);

/** `scancel [IDS] [-n NAME] [-u USER] [-t STATE]`: silent, also for unknown ids (22.05). */
export function scancel(args: string[], ctx: QueryContext = {}): number {
  return runQuery(SCANCEL_OPTIONS, args, ctx, (req, io) => {
    const ids = req.words.flatMap((w) => w.split(","));
    if (ids.length === 0 && !req["--name"] && !req["--user"]) {
      io.stderr("scancel: error: No job identification provided");
      return 1;
    }
    const spool = ctx.spool ?? new Spool();
    const now = Date.now();
    let targets: { job: SpoolJob; tasks: SpoolTask[] }[];
    if (ids.length) targets = tasksNamed(spool, ids, now).found;
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

if (import.meta.main) Deno.exit(await scancel(Deno.args));

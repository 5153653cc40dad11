/**
 * The spool as Slurm's query commands see it: which tasks are still visible, the rows they show
 * (a task, or pending tasks not split off yet), reasons, and times in Slurm's spellings, as
 * measured on Slurm 22.05 (tests/real/FACTS.md, "Query and control commands").
 *
 * @example squeue's elapsed time
 * ```ts
 * import { slurmElapsed } from "./slurm_view.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(slurmElapsed(65_000), "1:05");
 * assert.equal(slurmElapsed(90_061_000), "1-01:01:01");
 * ```
 *
 * @module
 */

import { formatArrayIds } from "./job.ts";
import { ended, type Spool, type SpoolJob, type SpoolTask } from "./spool.ts";

/** Finished jobs stay visible for this long (Slurm's MinJobAge, 300 s in scripts/slurm-up.sh). */
export const MIN_JOB_AGE_MS = 300_000;

/** What Slurm says of a job id it does not know. */
export const INVALID_JOB = "slurm_load_jobs error: Invalid job id specified";

/** This host's short name: the node every task of the fake runs on. */
export const host = () => Deno.hostname().split(".")[0];

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

/** Elapsed time as scontrol and sacct write it: `HH:MM:SS`, `D-HH:MM:SS`. */
export function runTime(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  const d = Math.floor(s / 86400);
  const hms = `${two(Math.floor(s / 3600) % 24)}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

/** A time as Slurm writes it: local, ISO 8601 to the second; `Unknown` when not yet. */
export function isoLocal(ms: number | undefined): string {
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
export interface Row {
  job: SpoolJob;
  tasks: SpoolTask[];
  /** `%i`: `ID`, `ID_N`, `ID_[SPEC]`. */
  id: string;
  /** `%K`: `N`, the spec, or `N/A`. */
  taskId: string;
  /** `%A`: the job id of the row (a task's own; the array's for a remainder). */
  ownId: string;
}

/** Whether a task is still shown: not ended, or ended less than MinJobAge ago. */
export function visible(task: SpoolTask, now: number): boolean {
  return !ended(task) || now - (task.end ?? 0) < MIN_JOB_AGE_MS;
}

/**
 * The rows of a job: each started or ended task its own; pending tasks that share a reason one
 * row `ID_[SPEC]` unless `split` (squeue -r).
 */
export function rowsOf(job: SpoolJob, tasks: SpoolTask[], split: boolean, now: number): Row[] {
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

/** How long a task has run, or ran. */
export function elapsedMs(t: SpoolTask, now: number): number {
  if (t.start === undefined) return 0;
  return (t.end ?? now) - t.start;
}

/** The compact state names (`PD`, `R`, …) and the states they stand for. */
export const SLURM_STATES: Record<string, string> = {
  PD: "PENDING",
  R: "RUNNING",
  CD: "COMPLETED",
  F: "FAILED",
  CA: "CANCELLED",
  TO: "TIMEOUT",
};

/** The jobs and tasks `ids` name among the visible ones (all with `expired`); unknown ids apart. */
export function tasksNamed(spool: Spool, ids: string[], now: number, expired = false) {
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

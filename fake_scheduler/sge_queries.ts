/**
 * Grid Engine's query and control commands on the spool (`spool.ts`): `qstat` (with `-j`,
 * `-xml`, `-u`, `-s`, `-g d`), `qacct -j`, `qdel` (with `-t`), `qhold`/`qrls`, with the output
 * formats measured on Son of Grid Engine 8.1.9 (tests/real/FACTS.md, "Query and control
 * commands"). The files `qstat.ts`, `qdel.ts` ... are their entry points.
 *
 * @example Pending array tasks as qstat groups them
 * ```ts
 * import { sgeTaskRanges } from "./sge_queries.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sgeTaskRanges([1, 2, 3, 4], 1), "1-4:1");
 * assert.equal(sgeTaskRanges([4, 7, 10], 3), "4-10:3");
 * assert.equal(sgeTaskRanges([3], 1), "3");
 * ```
 *
 * @module
 */

import { consoleIO } from "./io.ts";
import { type QueryContext, userName } from "./query_command.ts";
import { cancelTasks, ended, Spool, type SpoolJob, type SpoolTask } from "./spool.ts";

const host = () => Deno.hostname().split(".")[0];

/** Array-task ids as qstat writes a group of them: `FIRST-LAST:STEP` runs, joined by commas. */
export function sgeTaskRanges(indices: number[], step: number): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + step) j++;
    parts.push(j === i ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}:${step}`);
    i = j + 1;
  }
  return parts.join(",");
}

// Finished tasks (qstat -s z): a list, or a range once three or more follow each other.
function finishedList(indices: number[], step: number): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + step) j++;
    if (j - i >= 2) parts.push(`${sorted[i]}-${sorted[j]}:${step}`);
    else for (let k = i; k <= j; k++) parts.push(String(sorted[k]));
    i = j + 1;
  }
  return parts.join(",");
}

function usDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getMonth() + 1)}/${two(d.getDate())}/${d.getFullYear()} ${two(d.getHours())}:${
    two(d.getMinutes())
  }:${two(d.getSeconds())}`;
}

function isoLocal(ms: number): string {
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

function ctimeDate(ms: number): string {
  const d = new Date(ms);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
  ];
  const two = (n: number) => String(n).padStart(2, "0");
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2)} ${
    two(d.getHours())
  }:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`;
}

/** One qstat line: a running task, or pending tasks of one state. */
interface Line {
  job: SpoolJob;
  tasks: SpoolTask[];
  state: string;
  /** The ja-task-ID column ("" for a plain job). */
  taskSpec: string;
  running: boolean;
  date: number;
}

function stateOf(t: SpoolTask): string {
  if (t.state === "RUNNING") return t.hold ? "hr" : "r";
  if (t.state === "PENDING") return t.hold ? "hqw" : "qw";
  return "z";
}

function linesOf(job: SpoolJob, tasks: SpoolTask[], expand: boolean, zombies: boolean): Line[] {
  const lines: Line[] = [];
  const step = job.step ?? 1;
  if (zombies) {
    const done = tasks.filter((t) => ended(t));
    if (done.length && job.tasks.every(ended)) {
      lines.push({
        job,
        tasks: done,
        state: "z",
        taskSpec: job.array ? finishedList(done.map((t) => t.index), step) : "",
        running: false,
        date: Math.max(...done.map((t) => t.start ?? job.submitTime)),
      });
    }
    return lines;
  }
  const pending = new Map<string, SpoolTask[]>();
  for (const t of tasks) {
    if (t.state === "RUNNING") {
      lines.push({
        job,
        tasks: [t],
        state: stateOf(t),
        taskSpec: job.array ? String(t.index) : "",
        running: true,
        date: t.start ?? job.submitTime,
      });
    } else if (t.state === "PENDING") {
      if (expand || !job.array) {
        lines.push({
          job,
          tasks: [t],
          state: stateOf(t),
          taskSpec: job.array ? String(t.index) : "",
          running: false,
          date: job.submitTime,
        });
      } else pending.set(stateOf(t), [...(pending.get(stateOf(t)) ?? []), t]);
    }
  }
  for (const [state, group] of pending) {
    lines.push({
      job,
      tasks: group,
      state,
      taskSpec: sgeTaskRanges(group.map((t) => t.index), step),
      running: false,
      date: job.submitTime,
    });
  }
  return lines;
}

function prior(line: Line): string {
  return line.state.startsWith("h") && !line.running ? "0.00000" : "0.50000";
}

/** qstat's two header lines. */
export const QSTAT_HEADER = "job-ID  prior   name       user         state submit/start at     " +
  "queue                          slots ja-task-ID \n" + "-".repeat(113);

function qstatLine(l: Line): string {
  const queue = l.running ? `${l.job.queue}@${host()}` : "";
  return `${l.job.id.padStart(7)} ${prior(l)} ${l.job.name.slice(0, 10).padEnd(10)} ${
    l.job.user.slice(0, 12).padEnd(12)
  } ${l.state.padEnd(5)} ${usDate(l.date)} ${queue.padEnd(30)} ${String(l.job.slots).padStart(5)}${
    l.job.array ? ` ${l.taskSpec}` : " ".repeat(8)
  }`;
}

function xmlEntry(l: Line): string {
  const queue = l.running ? `${l.job.queue}@${host()}` : "";
  const time = l.running
    ? `      <JAT_start_time>${isoLocal(l.date)}</JAT_start_time>`
    : `      <JB_submission_time>${isoLocal(l.date)}</JB_submission_time>`;
  return [
    `    <job_list state="${l.running ? "running" : "pending"}">`,
    `      <JB_job_number>${l.job.id}</JB_job_number>`,
    `      <JAT_prio>${prior(l)}</JAT_prio>`,
    `      <JB_name>${escapeXml(l.job.name)}</JB_name>`,
    `      <JB_owner>${escapeXml(l.job.user)}</JB_owner>`,
    `      <state>${l.state}</state>`,
    time,
    `      <queue_name>${queue}</queue_name>`,
    `      <slots>${l.job.slots}</slots>`,
    ...(l.job.array ? [`      <tasks>${l.taskSpec}</tasks>`] : []),
    `    </job_list>`,
  ].join("\n");
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// qstat-style words: every option one word, values the next words.
function options(
  args: string[],
  withValue: string[],
): { opts: Map<string, string | true>; words: string[] } {
  const opts = new Map<string, string | true>();
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (withValue.includes(args[i]) && i + 1 < args.length) opts.set(args[i], args[++i]);
    else if (args[i].startsWith("-")) opts.set(args[i], true);
    else words.push(args[i]);
  }
  return { opts, words };
}

// The job a word names (an id or, as qacct and qdel accept, a name), live or all.
function jobsNamed(spool: Spool, word: string): SpoolJob[] {
  return spool.all().filter((j) => j.scheduler === "sge" && (j.id === word || j.name === word));
}

// `-t 2-4` / `-t 3`: the indices it names.
function taskFilter(spec: string | true | undefined): ((i: number) => boolean) | undefined {
  if (typeof spec !== "string") return undefined;
  const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(spec);
  if (!m) return () => false;
  const [a, b, s] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3] ?? 1)];
  return (i) => i >= a && i <= b && (i - a) % s === 0;
}

/** `qstat [-u USER] [-s p|r|z] [-g d] [-xml] [-j IDS]`. */
export function qstat(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  const spool = ctx.spool ?? new Spool();
  const { opts } = options(args, ["-u", "-s", "-g", "-j", "-q", "-l"]);
  const xml = opts.has("-xml");
  const detail = opts.get("-j");
  if (typeof detail === "string") return qstatJob(spool, detail.split(","), xml, ctx);
  const users = typeof opts.get("-u") === "string"
    ? String(opts.get("-u")).split(",")
    : [userName(ctx.env)];
  const select = String(opts.get("-s") ?? "pr");
  const zombies = select.includes("z");
  const expand = opts.get("-g") === "d";
  const lines: Line[] = [];
  for (const job of spool.all()) {
    if (job.scheduler !== "sge" || !(users.includes("*") || users.includes(job.user))) continue;
    lines.push(
      ...linesOf(job, job.tasks, expand, zombies).filter((l) =>
        zombies || (l.running ? select.includes("r") : select.includes("p"))
      ),
    );
  }
  const rank = (l: Line) => (l.running ? 0 : l.state.startsWith("h") ? 2 : 1);
  lines.sort((a, b) =>
    rank(a) - rank(b) || Number(a.job.id) - Number(b.job.id) ||
    a.tasks[0].index - b.tasks[0].index
  );
  if (xml) {
    const running = lines.filter((l) => l.running).map(xmlEntry);
    const pending = lines.filter((l) => !l.running).map(xmlEntry);
    io.stdout(
      [
        "<?xml version='1.0'?>",
        `<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">`,
        "  <queue_info>",
        ...running,
        "  </queue_info>",
        "  <job_info>",
        ...pending,
        "  </job_info>",
        "</job_info>",
      ].join("\n"),
    );
    return 0;
  }
  if (lines.length === 0) return 0;
  io.stdout(QSTAT_HEADER);
  for (const l of lines) io.stdout(qstatLine(l));
  return 0;
}

function qstatJob(spool: Spool, ids: string[], xml: boolean, ctx: QueryContext): number {
  const io = ctx.io ?? consoleIO();
  const found = ids.map((id) => ({
    id,
    job: jobsNamed(spool, id).find((j) => !j.tasks.every(ended)),
  }));
  const missing = found.filter((f) => !f.job).map((f) => f.id);
  if (xml) {
    if (missing.length) {
      io.stdout(
        `<?xml version='1.0'?>\n<unknown_jobs >\n${
          missing.map((id) => `    <ST_name>${id}</ST_name>`).join("\n")
        }\n</unknown_jobs>`,
      );
      return 0;
    }
  } else if (missing.length) {
    io.stderr(`Following jobs do not exist: \n${missing.join("\n")}`);
    return 1;
  }
  const key = (k: string, v: string) => `${(k + ":").padEnd(28)}${v}`;
  for (const { job } of found) {
    const j = job!;
    const lines = [
      "=".repeat(62),
      key("job_number", j.id),
      key("exec_file", `job_scripts/${j.id}`),
      key("submission_time", ctimeDate(j.submitTime)),
      key("owner", j.user),
      key("uid", String(Deno.uid() ?? 0)),
      key("group", j.user),
      key("gid", String(Deno.gid() ?? 0)),
      key("sge_o_workdir", j.submitDir),
      key("sge_o_host", host()),
      key("account", "sge"),
      key("cwd", j.workDir),
      key("stdout_path_list", `NONE:NONE:${j.tasks[0].stdout}`),
      key("job_name", j.name),
      key("jobshare", "0"),
      key("script_file", j.command),
      ...(j.array
        ? [key("job-array tasks", sgeTaskRanges(j.tasks.map((t) => t.index), j.step ?? 1))]
        : []),
      ...j.tasks.filter((t) => t.state === "RUNNING").map((t) =>
        `${"usage".padEnd(14)}${j.array ? t.index : 1}:`.padEnd(28) +
        "cpu=00:00:00, mem=0.00000 GBs, io=0.00000, vmem=N/A, maxvmem=N/A"
      ),
      key(
        "scheduling info",
        j.tasks.some((t) => t.hold && t.state === "PENDING")
          ? "Job is in hold state"
          : "(Collecting of scheduler job information is turned off)",
      ),
    ];
    io.stdout(lines.join("\n"));
  }
  return 0;
}

/** `qacct -j ID|NAME`: one record per ended task that ran. */
export function qacct(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  const spool = ctx.spool ?? new Spool();
  const { opts } = options(args, ["-j", "-t", "-o"]);
  const id = opts.get("-j");
  if (typeof id !== "string") {
    io.stderr("qacct: the fake knows only 'qacct -j ID|NAME [-t TASKS]'");
    return 1;
  }
  const only = taskFilter(opts.get("-t"));
  const records: string[] = [];
  const kv = (k: string, v: string) => `${k.padEnd(13)}${v}`;
  for (const job of jobsNamed(spool, id)) {
    for (const t of job.tasks) {
      if (!ended(t) || t.start === undefined || (only && !only(t.index))) continue;
      const killed = t.signal !== undefined;
      const exit = killed
        ? `${128 + t.signal!}${t.signal === 9 ? "                  (Killed)" : ""}`
        : String(t.exit ?? 0);
      const failed = t.cancelled
        ? "100 : assumedly after job"
        : t.state === "TIMEOUT"
        ? "37  : qmaster enforced h_rt, h_cpu, or h_vmem limit"
        : "0";
      records.push(
        [
          "=".repeat(62),
          kv("qname", job.queue),
          kv("hostname", host()),
          kv("group", job.user),
          kv("owner", job.user),
          kv("project", "NONE"),
          kv("department", "defaultdepartment"),
          kv("jobname", job.name),
          kv("jobnumber", job.id),
          kv("taskid", job.array ? String(t.index) : "undefined"),
          kv("account", "sge"),
          kv("priority", "0"),
          kv("qsub_time", ctimeDate(job.submitTime)),
          kv("start_time", ctimeDate(t.start)),
          kv("end_time", ctimeDate(t.end ?? t.start)),
          kv("granted_pe", "NONE"),
          kv("slots", String(job.slots)),
          kv("failed", failed),
          kv("exit_status", exit),
          kv("ru_wallclock", `${Math.round(((t.end ?? t.start) - t.start) / 1000)}s`),
        ].join("\n"),
      );
    }
  }
  if (records.length === 0) {
    io.stderr(`error: job id ${id} not found`);
    return 1;
  }
  io.stdout(records.join("\n"));
  return 0;
}

/** `qdel IDS [-t TASKS]`: deletes pending tasks, kills running ones (their whole process group). */
export function qdel(args: string[], ctx: QueryContext = {}): number {
  const io = ctx.io ?? consoleIO();
  const spool = ctx.spool ?? new Spool();
  const { opts, words } = options(args, ["-t", "-u"]);
  const only = taskFilter(opts.get("-t"));
  const me = userName(ctx.env);
  let code = 0;
  const ids = words.flatMap((w) => w.split(","));
  if (typeof opts.get("-u") === "string") {
    ids.push(
      ...spool.all().filter((j) =>
        j.scheduler === "sge" && j.user === opts.get("-u") && !j.tasks.every(ended)
      )
        .map((j) => j.id),
    );
  }
  for (const id of ids) {
    const job = jobsNamed(spool, id).find((j) => !j.tasks.every(ended));
    const tasks = job?.tasks.filter((t) => !ended(t) && (!only || only(t.index))) ?? [];
    if (!job || tasks.length === 0) {
      io.stdout(`denied: job "${id}" does not exist`);
      code = 1;
      continue;
    }
    const wasPending = tasks.filter((t) => t.state === "PENDING").map((t) => t.index);
    const allPending = tasks.every((t) => t.state === "PENDING");
    const done = cancelTasks(spool, job, tasks);
    for (const t of tasks) {
      if (done.get(t.index) !== "signalled") continue;
      io.stdout(
        job.array
          ? `${me} has registered the job-array task ${job.id}.${t.index} for deletion`
          : `${me} has registered the job ${job.id} for deletion`,
      );
    }
    if (wasPending.length) {
      if (only && job.array) {
        for (const i of wasPending) io.stdout(`${me} has deleted job-array task ${job.id}.${i}`);
      } else if (allPending || !job.array) io.stdout(`${me} has deleted job ${job.id}`);
      else {io.stdout(
          `${me} has deleted job-array task ${job.id}.${sgeTaskRanges(wasPending, job.step ?? 1)}`,
        );}
    }
  }
  return code;
}

function holdCommand(hold: boolean) {
  return (args: string[], ctx: QueryContext = {}): number => {
    const io = ctx.io ?? consoleIO();
    const spool = ctx.spool ?? new Spool();
    const { opts, words } = options(args, ["-t", "-h"]);
    const only = taskFilter(opts.get("-t"));
    let code = 0;
    for (const id of words.flatMap((w) => w.split(","))) {
      const job = jobsNamed(spool, id).find((j) => !j.tasks.every(ended));
      if (!job) {
        io.stdout(`denied: job "${id}" does not exist`);
        code = 3;
        continue;
      }
      const changed: SpoolTask[] = [];
      spool.update(job.id, (j) => {
        for (const t of j.tasks) {
          if (ended(t) || (only && !only(t.index)) || (t.hold !== undefined) === hold) continue;
          if (hold) t.hold = "user";
          else delete t.hold;
          changed.push(t);
        }
      });
      changed.sort((a, b) => (a.state === "PENDING" ? 0 : 1) - (b.state === "PENDING" ? 0 : 1));
      for (const t of changed) {
        io.stdout(
          job.array
            ? `modified hold of job-array task ${job.id}.${t.index}`
            : `modified hold of job ${job.id}`,
        );
      }
    }
    return code;
  };
}

/** `qhold IDS [-t TASKS]`: holds pending tasks; prints one line per task whose hold changed. */
export const qhold: (args: string[], ctx?: QueryContext) => number = holdCommand(true);

/** `qrls IDS [-t TASKS]`: releases held tasks; prints one line per task whose hold changed. */
export const qrls: (args: string[], ctx?: QueryContext) => number = holdCommand(false);

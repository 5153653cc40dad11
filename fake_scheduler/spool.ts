/**
 * The fake scheduler's job state, shared by every submission and every query or control command
 * of one user: a directory (`ARRAYJOB_FAKE_SPOOL`, default `$XDG_RUNTIME_DIR/arrayjob-fake` or
 * `/tmp/arrayjob-fake-UID`) holding
 *
 * - `lock`: taken (flock) around every read-modify-write, so concurrent commands see one state;
 * - `next-id`: the next job id, as one qmaster / slurmctld hands them out;
 * - `slots.json`: the array tasks running now (task id → the pid of the process that runs it),
 *   the slot count concurrent jobs share; entries of dead processes are dropped when read;
 * - `ID.job.json`: the {@link Job} to run (written once, read by the process that runs it);
 * - `ID.state.json`: the {@link SpoolJob}, what squeue, qstat, scancel, qdel ... read and change.
 *
 * Everything here is synchronous: the lock is held only around small file reads and writes.
 *
 * @example A job's state, held, then released
 * ```ts
 * import { Spool } from "./spool.ts";
 * import assert from "node:assert/strict";
 *
 * const spool = new Spool(Deno.makeTempDirSync());
 * const id = spool.nextIds(1);
 * spool.create({
 *   id: String(id), scheduler: "slurm", name: "demo", user: "ada", submitDir: "/tmp",
 *   workDir: "/tmp", command: "/tmp/run.sh", submitTime: Date.now(), array: false,
 *   slots: 1, cancelSignal: "SIGTERM", partition: "debug", queue: "all.q",
 *   tasks: [{ index: 0, jobId: String(id), state: "PENDING", hold: "user", stdout: "/tmp/o" }],
 * });
 * spool.update(String(id), (job) => { delete job.tasks[0].hold; });
 * assert.equal(spool.read(String(id))?.tasks[0].hold, undefined);
 * Deno.removeSync(spool.dir, { recursive: true });
 * ```
 *
 * @module
 */

import type { Job } from "./job.ts";

/** The state of one array task, in Slurm's long names (both faces map them to their own). */
export type TaskState = "PENDING" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED" | "TIMEOUT";

/** One array task as the query commands see it. */
export interface SpoolTask {
  /** The array index (0 for a job that is not an array). */
  index: number;
  /** The task's own job id (Slurm gives each array task one). */
  jobId: string;
  /** Where it is now. */
  state: TaskState;
  /** Held: by its user (`--hold`, `-h`, `qhold`) or by an administrator (`scontrol hold` as root). */
  hold?: "user" | "admin";
  /** Pid of the task's process (it leads its own process group) while it runs. */
  pid?: number;
  /** Epoch ms it started, and ended. */
  start?: number;
  /** Epoch ms it ended. */
  end?: number;
  /** Exit status (0..255) when it exited. */
  exit?: number;
  /** Signal number when a signal ended it. */
  signal?: number;
  /** The reason it had when cancelled before it started (Slurm keeps showing it). */
  reason?: string;
  /** A cancel was asked for while it ran: its end is CANCELLED whatever the exit. */
  cancelled?: boolean;
  /** The stdout log path, and the stderr one when separate. */
  stdout: string;
  /** The stderr log path, when separate. */
  stderr?: string;
}

/** A job as the query commands see it: plain JSON in `ID.state.json`. */
export interface SpoolJob {
  /** The (array) job id. */
  id: string;
  /** Which face submitted it. */
  scheduler: "sge" | "slurm";
  /** The job name. */
  name: string;
  /** The submitting user. */
  user: string;
  /** The submit directory. */
  submitDir: string;
  /** The working directory of its tasks. */
  workDir: string;
  /** The script (or `-b y` command) it runs. */
  command: string;
  /** Epoch ms of the submission. */
  submitTime: number;
  /** Epoch ms before which no task starts (`--begin`, `-a`). */
  beginTime?: number;
  /** Whether it is an array job. */
  array: boolean;
  /** SGE's `-t` step (ranges are shown with it). */
  step?: number;
  /** At most this many of its tasks run at once (`%N`, `-tc`). */
  throttle?: number;
  /** CPUs (Slurm `-c`) or slots (SGE `-pe`) per task. */
  slots: number;
  /** What a cancel sends a running task (Slurm: SIGTERM; SGE: SIGKILL). */
  cancelSignal: "SIGTERM" | "SIGKILL";
  /** The Slurm partition / SGE queue its tasks run in. */
  partition: string;
  /** The SGE queue. */
  queue: string;
  /** Run-time limit in seconds, when there is one. */
  timeLimit?: number;
  /** Pid of the process that runs the job's tasks (the detached runner or a waiting qsub). */
  runner?: number;
  /** One entry per array task, in dispatch order. */
  tasks: SpoolTask[];
}

/** Whether a task has ended (it will never run again). */
export function ended(task: SpoolTask): boolean {
  return task.state !== "PENDING" && task.state !== "RUNNING";
}

/** Whether the process `pid` exists. */
export function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    Deno.kill(pid, "SIGCONT"); // harmless to a running process; throws when there is none
    return true;
  } catch (e) {
    return e instanceof Deno.errors.PermissionDenied;
  }
}

/** The spool directory of this user: `ARRAYJOB_FAKE_SPOOL`, else under the runtime dir or /tmp. */
export function spoolDir(env: Record<string, string | undefined> = Deno.env.toObject()): string {
  if (env.ARRAYJOB_FAKE_SPOOL) return env.ARRAYJOB_FAKE_SPOOL;
  if (env.XDG_RUNTIME_DIR) return `${env.XDG_RUNTIME_DIR}/arrayjob-fake`;
  return `/tmp/arrayjob-fake-${Deno.uid() ?? "user"}`;
}

/** One user's spool: the state every fake command shares (see the module doc). */
export class Spool {
  /** Open (and create) the spool at `dir`. */
  constructor(readonly dir: string = spoolDir()) {
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Run `fn` holding the spool's lock. */
  locked<T>(fn: () => T): T {
    const file = Deno.openSync(`${this.dir}/lock`, { create: true, write: true });
    try {
      file.lockSync(true);
      return fn();
    } finally {
      file.close(); // closing releases the lock
    }
  }

  /** Reserve `count` consecutive job ids and return the first. */
  nextIds(count: number, first?: number): number {
    return this.locked(() => {
      const path = `${this.dir}/next-id`;
      let next: number;
      try {
        next = Number(Deno.readTextFileSync(path));
      } catch {
        next = NaN;
      }
      if (!Number.isInteger(next) || next < 1) {
        next = first ?? 1000 + Math.floor(Math.random() * 9000);
      }
      Deno.writeTextFileSync(path, String(next + count));
      return next;
    });
  }

  #statePath(id: string): string {
    return `${this.dir}/${id}.state.json`;
  }

  /** Record a new job, and the Job its runner will run. */
  create(state: SpoolJob, job?: Job): void {
    if (job) Deno.writeTextFileSync(`${this.dir}/${state.id}.job.json`, JSON.stringify(job));
    this.locked(() => writeAtomic(this.#statePath(state.id), state));
  }

  /** The Job stored for `id`. */
  job(id: string): Job {
    return JSON.parse(Deno.readTextFileSync(`${this.dir}/${id}.job.json`));
  }

  /** The state of job `id` (its array job id), or undefined when the spool does not know it. */
  read(id: string): SpoolJob | undefined {
    let base: SpoolJob;
    try {
      base = JSON.parse(Deno.readTextFileSync(this.#statePath(id)));
    } catch {
      return undefined;
    }
    let events = "";
    try {
      events = Deno.readTextFileSync(this.#eventsPath(id));
    } catch {
      // No change since the submission.
    }
    return fold(base, events);
  }

  #eventsPath(id: string): string {
    return `${this.dir}/${id}.events`;
  }

  // The state as of the last event, reading only the events appended since the last call: a
  // task's start and end cost O(1), not a rewrite of the whole job (1000 tasks: 120 KB each).
  #cache = new Map<string, { job: SpoolJob; offset: number }>();
  #readCached(id: string): SpoolJob | undefined {
    let entry = this.#cache.get(id);
    if (!entry) {
      try {
        entry = { job: JSON.parse(Deno.readTextFileSync(this.#statePath(id))), offset: 0 };
      } catch {
        return undefined;
      }
      this.#cache.set(id, entry);
    }
    try {
      const file = Deno.openSync(this.#eventsPath(id), { read: true });
      try {
        const size = file.statSync().size;
        if (size > entry.offset) {
          const buf = new Uint8Array(size - entry.offset);
          file.seekSync(entry.offset, Deno.SeekMode.Start);
          let got = 0;
          while (got < buf.length) {
            const n = file.readSync(buf.subarray(got));
            if (n === null) break;
            got += n;
          }
          entry.job = fold(entry.job, new TextDecoder().decode(buf.subarray(0, got)));
          entry.offset += got;
        }
      } finally {
        file.close();
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return entry.job;
  }

  // Append what changed: whole tasks by index, and the job's own fields.
  #append(id: string, tasks: SpoolTask[], jobFields?: Partial<SpoolJob>): void {
    const lines = tasks.map((t) => JSON.stringify({ t }));
    if (jobFields) lines.push(JSON.stringify({ j: jobFields }));
    if (lines.length) {
      Deno.writeTextFileSync(this.#eventsPath(id), lines.join("\n") + "\n", { append: true });
    }
  }

  /** Every job the spool knows, in submission order. */
  all(): SpoolJob[] {
    const jobs: SpoolJob[] = [];
    for (const entry of Deno.readDirSync(this.dir)) {
      const m = /^(\d+)\.state\.json$/.exec(entry.name);
      if (!m) continue;
      const job = this.read(m[1]);
      if (job) jobs.push(job);
    }
    return jobs.sort((a, b) => Number(a.id) - Number(b.id));
  }

  /** Change job `id` under the lock; `fn` returns false to write nothing. */
  update(id: string, fn: (job: SpoolJob) => boolean | void): SpoolJob | undefined {
    return this.locked(() => this.#updateLocked(id, fn));
  }

  #updateLocked(id: string, fn: (job: SpoolJob) => boolean | void): SpoolJob | undefined {
    const job = this.#readCached(id);
    if (!job) return undefined;
    const before = job.tasks.map((t) => JSON.stringify(t));
    const { tasks: _, ...fields } = job;
    const beforeJob = JSON.stringify(fields);
    if (fn(job) === false) return job;
    const changed = job.tasks.filter((t, i) => JSON.stringify(t) !== before[i]);
    const { tasks: __, ...after } = job;
    this.#append(id, changed, JSON.stringify(after) !== beforeJob ? after : undefined);
    return job;
  }

  /** Change one task of job `id` under the lock (cheaper than {@link update}: O(1)). */
  updateTask(id: string, index: number, fn: (task: SpoolTask) => void): SpoolJob | undefined {
    return this.locked(() => this.#taskLocked(id, index, fn));
  }

  #taskLocked(id: string, index: number, fn: (task: SpoolTask) => void): SpoolJob | undefined {
    const job = this.#readCached(id);
    const task = job?.tasks.find((t) => t.index === index);
    if (!job || !task) return job;
    fn(task);
    this.#append(id, [task]);
    return job;
  }

  /**
   * Under the lock: start what may start now. `pick` gets the job and the number of free slots
   * (of `slots` shared by every job of the spool) and returns the tasks it starts; they are
   * marked RUNNING and take a slot each.
   */
  claim(id: string, slots: number, pick: (job: SpoolJob, free: number) => SpoolTask[]): {
    job?: SpoolJob;
    started: SpoolTask[];
  } {
    return this.locked(() => {
      const taken = this.#slots();
      const free = slots - Object.keys(taken).length;
      const job = this.#readCached(id);
      const started = job && free > 0 ? pick(job, free) : [];
      for (const t of started) {
        t.state = "RUNNING";
        t.start = Date.now();
        taken[`${id}.${t.index}`] = Deno.pid;
      }
      if (started.length > 0) {
        this.#append(id, started);
        writeAtomic(`${this.dir}/slots.json`, taken);
      }
      return { job, started };
    });
  }

  /** Under the lock: give back the slot of task `index` of job `id` and record its end. */
  finish(id: string, index: number, fn: (task: SpoolTask) => void): void {
    this.locked(() => {
      const taken = this.#slots();
      delete taken[`${id}.${index}`];
      writeAtomic(`${this.dir}/slots.json`, taken);
      this.#taskLocked(id, index, fn);
    });
  }

  // The running tasks' slots, without those whose runner died.
  #slots(): Record<string, number> {
    let taken: Record<string, number> = {};
    try {
      taken = JSON.parse(Deno.readTextFileSync(`${this.dir}/slots.json`));
    } catch {
      // No task has run yet.
    }
    for (const [k, pid] of Object.entries(taken)) if (!alive(pid)) delete taken[k];
    return taken;
  }

  /** Forget jobs that ended more than `maxAgeMs` ago. */
  prune(maxAgeMs: number): void {
    const now = Date.now();
    for (const job of this.all()) {
      if (!job.tasks.every(ended)) continue;
      const last = Math.max(job.submitTime, ...job.tasks.map((t) => t.end ?? 0));
      if (now - last < maxAgeMs) continue;
      const paths = [`${job.id}.state.json`, `${job.id}.events`, `${job.id}.job.json`];
      for (const path of [...paths, `job_scripts/${job.id}`]) {
        try {
          Deno.removeSync(`${this.dir}/${path}`);
        } catch {
          // Removed by another command meanwhile.
        }
      }
    }
  }
}

/**
 * Send `signal` to a task's process group, or to its process when it leads none (a job waited
 * for with `-sync y`/`--wait` runs its tasks without groups of their own, see queue.ts).
 */
export function killTask(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch {
    try {
      Deno.kill(pid, signal);
    } catch {
      // The task ended meanwhile.
    }
  }
}

// The state after the events (JSON lines: `{"t": task}` replaces a task, `{"j": fields}` job fields).
function fold(job: SpoolJob, events: string): SpoolJob {
  if (events === "") return job;
  const at = new Map(job.tasks.map((t, i) => [t.index, i]));
  for (const line of events.split("\n")) {
    if (line === "") continue;
    let e: { t?: SpoolTask; j?: Partial<SpoolJob> };
    try {
      e = JSON.parse(line);
    } catch {
      continue; // a line being written right now; the lock makes this rare
    }
    if (e.t) {
      const i = at.get(e.t.index);
      if (i !== undefined) job.tasks[i] = e.t;
    }
    if (e.j) Object.assign(job, e.j, { tasks: job.tasks });
  }
  return job;
}

// Write through a temporary file and rename, so that a reader never sees half a file.
function writeAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${Deno.pid}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(value));
  Deno.renameSync(tmp, path);
}

/**
 * The jobs and tasks a list of ids names: `ID` (a whole job: its array id, or a task's own id for
 * Slurm) or `ID_N` / `ID.N` (one array task). Unknown ids are left out.
 */
export function select(jobs: SpoolJob[], ids: string[]): { job: SpoolJob; tasks: SpoolTask[] }[] {
  const out: { job: SpoolJob; tasks: SpoolTask[] }[] = [];
  for (const word of ids) {
    const m = /^(\d+)(?:[_.](\d+))?$/.exec(word);
    if (!m) continue;
    for (const job of jobs) {
      let tasks: SpoolTask[] = [];
      if (job.id === m[1]) {
        tasks = m[2] === undefined ? job.tasks : job.tasks.filter((t) => t.index === Number(m[2]));
      } else if (m[2] === undefined && job.scheduler === "slurm") {
        tasks = job.tasks.filter((t) => t.jobId === m[1] && t.state !== "PENDING");
      }
      if (tasks.length) out.push({ job, tasks });
    }
  }
  return out;
}

/**
 * Cancel tasks: a pending one ends CANCELLED at once; a running one gets the job's cancel signal
 * sent to its whole process group, and its runner records it CANCELLED when it exits.
 * Returns what was done to each task: "deleted" (was pending) or "signalled" (was running).
 */
export function cancelTasks(
  spool: Spool,
  job: SpoolJob,
  tasks: SpoolTask[],
): Map<number, "deleted" | "signalled"> {
  const done = new Map<number, "deleted" | "signalled">();
  const indices = new Set(tasks.map((t) => t.index));
  const kill: number[] = [];
  spool.update(job.id, (j) => {
    for (const t of j.tasks) {
      if (!indices.has(t.index)) continue;
      if (t.state === "PENDING") {
        t.state = "CANCELLED";
        t.end = Date.now();
        delete t.hold;
        done.set(t.index, "deleted");
      } else if (t.state === "RUNNING") {
        t.cancelled = true;
        if (t.pid !== undefined) kill.push(t.pid);
        done.set(t.index, "signalled");
      }
    }
  });
  for (const pid of kill) killTask(pid, job.cancelSignal);
  return done;
}

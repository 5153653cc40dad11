/**
 * What an interrupted fake must undo: the array-task processes it started and the TMP directories
 * it made. A {@link Cleanup} records both while jobs run; {@link exitOnSignal} makes Ctrl-C or
 * SIGTERM of a command-line fake kill those tasks and remove those directories before it exits,
 * as Grid Engine's execd does for a deleted job. Library callers keep their own signals.
 *
 * @example A registry that forgets what has ended
 * ```ts
 * import { Cleanup } from "./cleanup.ts";
 * import assert from "node:assert/strict";
 *
 * const cleanup = new Cleanup();
 * cleanup.started(12345, false);
 * cleanup.ended(12345);
 * cleanup.killTasks(); // nothing left to kill
 * assert.equal(cleanup.running, 0);
 * ```
 *
 * @module
 */

/** The processes and directories of running jobs, so that they can be taken down together. */
export class Cleanup {
  // pid → whether the task leads its own process group (then the whole group is killed).
  #tasks = new Map<number, boolean>();
  #tmpDirs = new Set<string>();
  #whenInterrupted = new Set<() => void | Promise<void>>();
  #interrupted = false;
  #interruption: Promise<void> | undefined;

  /** Whether {@link interrupt} was called: no task may start any more. */
  get interrupted(): boolean {
    return this.#interrupted;
  }

  /** Once interrupted: settles when {@link interrupt} has killed, summarised and removed. */
  get interruption(): Promise<void> | undefined {
    return this.#interruption;
  }

  /** Run `fn` when interrupted, after the tasks are killed; returns what forgets it again. */
  whenInterrupted(fn: () => void | Promise<void>): () => void {
    this.#whenInterrupted.add(fn);
    return () => this.#whenInterrupted.delete(fn);
  }

  /**
   * Stop every job: no task starts any more, every running one is killed with all it started,
   * then what {@link whenInterrupted} registered runs (the summaries), then the TMP directories go.
   */
  interrupt(): Promise<void> {
    return this.#interruption ??= this.#interrupt();
  }

  async #interrupt(): Promise<void> {
    this.#interrupted = true;
    this.killTasks("SIGKILL");
    for (const fn of [...this.#whenInterrupted]) {
      try {
        await fn();
      } catch (e) {
        console.error(`fake: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    for (const dir of [...this.#tmpDirs]) this.removeDir(dir);
  }

  /** A task process started; `group` when it leads a process group of its own. */
  started(pid: number, group: boolean): void {
    this.#tasks.set(pid, group);
  }

  /** A task process ended. */
  ended(pid: number): void {
    this.#tasks.delete(pid);
  }

  /** Number of task processes running now. */
  get running(): number {
    return this.#tasks.size;
  }

  /** A TMP directory was made (or renamed into place) and is not removed yet. */
  madeDir(path: string): void {
    this.#tmpDirs.add(path);
  }

  /** Remove a TMP directory with what is in it, and forget it. Never throws. */
  removeDir(path: string): void {
    this.#tmpDirs.delete(path);
    try {
      Deno.removeSync(path); // the common case: the task left its TMP empty
    } catch {
      try {
        Deno.removeSync(path, { recursive: true });
      } catch {
        // Gone already, or not ours to remove: a leftover scratch directory harms nothing.
      }
    }
  }

  /** A recorded directory was renamed: `to` is the same directory, `from` no longer exists. */
  renamedDir(from: string, to: string): void {
    this.#tmpDirs.delete(from);
    this.#tmpDirs.add(to);
  }

  /**
   * Send `signal` to every running task (its process group where it has one) and, with SIGKILL,
   * to everything the tasks started: their descendants, and the processes they left behind in
   * the fake's process group (a `(sleep 9; touch f) &` whose shell has exited is re-parented, but
   * keeps its group). Each is stopped first, until a scan finds no new one, so that none can fork
   * past the kill. Read from `/proc` (Linux) at this moment only, because a process group per task
   * doubles the cost of every start (bench/RESULTS.md); elsewhere only the tasks themselves.
   */
  killTasks(signal: Deno.Signal = "SIGKILL"): void {
    const send = (pid: number, sig: Deno.Signal) => {
      try {
        Deno.kill(pid, sig);
      } catch {
        // Already gone.
      }
    };
    if (signal === "SIGKILL" && this.#tasks.size > 0) {
      const roots = [...this.#tasks.keys()];
      const stopped = new Set<number>();
      for (const pid of roots) send(pid, "SIGSTOP");
      roots.forEach((pid) => stopped.add(pid));
      for (let round = 0; round < 20; round++) {
        const fresh = [...leftBehind(roots)].filter((pid) => !stopped.has(pid));
        if (fresh.length === 0) break;
        for (const pid of fresh) {
          send(pid, "SIGSTOP");
          stopped.add(pid);
        }
      }
      for (const pid of stopped) send(pid, "SIGKILL");
    }
    for (const [pid, group] of this.#tasks) send(group ? -pid : pid, signal);
  }

  /** Kill every running task and remove every TMP directory still there. */
  undo(): void {
    this.killTasks("SIGKILL");
    for (const dir of [...this.#tmpDirs]) this.removeDir(dir);
  }
}

/**
 * On SIGINT/SIGTERM, {@link Cleanup.interrupt} (kill, summarise, remove) and exit 130/143, as a
 * shell would; a second signal meanwhile exits at once. Command-line entry points call this;
 * library callers keep control of their own signals.
 */
export function exitOnSignal(cleanup: Cleanup): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(signal, () => {
      if (cleanup.interrupted) {
        cleanup.undo();
        Deno.exit(code);
      }
      cleanup.interrupt().finally(() => Deno.exit(code));
    });
  }
}

/**
 * A command-line entry point's frame: {@link exitOnSignal}, then `run` with the Cleanup it
 * installed; an unexpected failure is one line on stderr, `PREFIX: error: ...`, and exit code 1.
 */
export async function consoleMain(
  prefix: string,
  run: (cleanup: Cleanup) => Promise<number>,
): Promise<number> {
  const cleanup = new Cleanup();
  exitOnSignal(cleanup);
  try {
    return await run(cleanup);
  } catch (e) {
    console.error(`${prefix}: error: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

/** One process as `/proc/PID/stat` tells it. */
interface Proc {
  ppid: number;
  pgid: number;
  /** Clock ticks after boot at which it started. */
  start: number;
}

/** Every process of this machine, from `/proc`; empty where there is none. */
export function processTable(): Map<number, Proc> {
  const table = new Map<number, Proc>();
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return table;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry.name)) continue;
    const proc = readProc(Number(entry.name));
    if (proc) table.set(Number(entry.name), proc);
  }
  return table;
}

/** One process's parent, group and start, or undefined when it is gone (or no `/proc`). */
export function readProc(pid: number): Proc | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name is in parentheses and may hold spaces: the fields follow its last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined; // a zombie has done all it will do
    return { ppid: Number(fields[1]), pgid: Number(fields[2]), start: Number(fields[19]) };
  } catch {
    return undefined;
  }
}

// What the tasks `roots` started and may still be running: their descendants, and the processes
// of the fake's own process group that started after the fake and were re-parented to init (pid
// 1): what a task left behind when the shell that started it exited. Not other processes of the
// group: a pipeline partner such as the `tee` of `qsub ... | tee log`, or the caller's other
// commands, are the user's. (An orphan adopted by a sub-reaper other than init is not found.)
function leftBehind(roots: number[]): Set<number> {
  const table = processTable();
  const found = new Set<number>();
  const children = new Map<number, number[]>();
  for (const [pid, proc] of table) {
    const list = children.get(proc.ppid);
    if (list) list.push(pid);
    else children.set(proc.ppid, [pid]);
  }
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (!found.has(child)) {
        found.add(child);
        walk(child);
      }
    }
  };
  roots.forEach(walk);
  const self = table.get(Deno.pid);
  if (self === undefined) return found;
  for (const [pid, proc] of table) {
    if (
      pid !== Deno.pid && proc.ppid === 1 && proc.pgid === self.pgid && proc.start >= self.start
    ) {
      found.add(pid);
      walk(pid);
    }
  }
  return found;
}

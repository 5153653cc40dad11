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

  /** Send `signal` to every running task (its process group where it has one). */
  killTasks(signal: Deno.Signal = "SIGKILL"): void {
    for (const [pid, group] of this.#tasks) {
      try {
        Deno.kill(group ? -pid : pid, signal);
      } catch {
        // Already gone.
      }
    }
  }

  /** Kill every running task and remove every TMP directory still there. */
  undo(): void {
    this.killTasks("SIGKILL");
    for (const dir of [...this.#tmpDirs]) this.removeDir(dir);
  }
}

/**
 * On SIGINT/SIGTERM, undo `cleanup` and exit 130/143, as a shell would. Command-line entry points
 * call this; library callers keep control of their own signals.
 */
export function exitOnSignal(cleanup: Cleanup): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(signal, () => {
      cleanup.undo();
      Deno.exit(code);
    });
  }
}

/**
 * The scratch directories (Grid Engine's `TMP`) of one job's array tasks: each task starts with
 * an empty directory of its own, and none remain when the job ends.
 *
 * A finished task's directory, when it is left empty and as it was made, is renamed to the next
 * task's name instead of being removed and another made: on ext4 a mkdir and rmdir pair costs
 * five times a rename, and every inode freed makes each later file creation on the disk search
 * further for a free one. Synchronous on purpose: the async calls cost twice the CPU, which shows
 * at 10^4 tasks.
 *
 * @example
 * ```ts
 * import { Cleanup } from "./cleanup.ts";
 * import { TmpDirs } from "./tmp.ts";
 * import assert from "node:assert/strict";
 *
 * const root = Deno.makeTempDirSync();
 * const dirs = new TmpDirs(new Cleanup());
 * dirs.take(`${root}/1.1.all.q`);
 * dirs.give(`${root}/1.1.all.q`);
 * dirs.take(`${root}/1.2.all.q`); // the first one, renamed
 * assert.deepEqual([...Deno.readDirSync(root)].map((e) => e.name), ["1.2.all.q"]);
 * dirs.give(`${root}/1.2.all.q`);
 * dirs.clear();
 * assert.deepEqual([...Deno.readDirSync(root)], []);
 * Deno.removeSync(root);
 * ```
 *
 * @module
 */

import type { Cleanup } from "./cleanup.ts";

/** The TMP directories of one job's array tasks. */
export class TmpDirs {
  #free: string[] = [];
  #made?: { mode: number | null; uid: number | null };

  /** Directories made are recorded in `cleanup`, so that an interrupted fake removes them. */
  constructor(readonly cleanup: Cleanup) {}

  /** Make `path` an empty directory for a task about to start. */
  take(path: string): void {
    const free = this.#free.pop();
    if (free !== undefined) {
      try {
        Deno.renameSync(free, path);
        this.cleanup.renamedDir(free, path);
        return;
      } catch {
        // The name is taken by a non-empty directory: make a fresh one below.
        this.cleanup.removeDir(free);
      }
    }
    Deno.mkdirSync(path, { recursive: true });
    this.cleanup.madeDir(path);
    if (this.#made === undefined) {
      const made = Deno.lstatSync(path);
      this.#made = { mode: made.mode, uid: made.uid };
    }
  }

  /** The task that had `path` has ended: keep the directory for the next task, or remove it. */
  give(path: string): void {
    try {
      const info = Deno.lstatSync(path);
      if (
        info.isDirectory && info.mode === this.#made?.mode && info.uid === this.#made?.uid &&
        Deno.readDirSync(path)[Symbol.iterator]().next().done
      ) {
        this.#free.push(path);
        return;
      }
    } catch {
      // Gone or unreadable: removeDir below does what can be done.
    }
    this.cleanup.removeDir(path);
  }

  /** Remove the directories kept for tasks that never came: call when the job has ended. */
  clear(): void {
    for (const path of this.#free.splice(0)) this.cleanup.removeDir(path);
  }
}

/**
 * The fake Grid Engine `qsub` command: runs a job script's array tasks on this machine as qsub
 * would have them run on a cluster. Run it as `fake_scheduler/bin/qsub`, by URL, or in-process
 * via {@link qsub}. The face itself (options, environment, output) is `sge.ts`.
 *
 * @example In-process, with captured output
 * ```ts
 * import { captureIO } from "./io.ts";
 * import { qsub } from "./qsub.ts";
 * import assert from "node:assert/strict";
 *
 * const io = captureIO();
 * const result = await qsub(["-t", "0-3", "run.sh"], { io });
 * assert.equal(result.exitCode, 1);
 * assert.match(io.err.join("\n"), /0 is an invalid task id/);
 * ```
 *
 * @module
 */

import { SGE } from "./sge.ts";
import { queueMain } from "./queue.ts";
import { commandOf, type FaceOptions } from "./submit.ts";

export { QSUB_HELP } from "./sge.ts";

/** Options for an in-process `qsub` call. */
export type QsubOptions = FaceOptions;

/**
 * `qsub` in-process (`qsub(args, options)`: the exit code the real qsub would give, with the
 * report) and on the command line (`qsubMain(args)`).
 */
export const { submit: qsub } = commandOf(SGE);

/**
 * `qsub` on the command line: the job goes to the spool (`queue.ts`) and runs in the background,
 * or here with -sync y; returns the exit code the real qsub gives.
 */
export const qsubMain = (args: string[]): Promise<number> => queueMain(SGE, args);

if (import.meta.main) Deno.exit(await qsubMain(Deno.args));

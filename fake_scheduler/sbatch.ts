/**
 * The fake Slurm `sbatch` command: runs a job script's array tasks on this machine as sbatch
 * would have them run on a cluster. Run it as `fake_scheduler/bin/sbatch`, by URL, or in-process
 * via {@link sbatch}. The face itself (options, environment, output) is `slurm.ts`.
 *
 * @example In-process, with captured output
 * ```ts
 * import { captureIO } from "./io.ts";
 * import { sbatch } from "./sbatch.ts";
 * import assert from "node:assert/strict";
 *
 * const io = captureIO();
 * const result = await sbatch(["--array=3-1", "run.sh"], { io });
 * assert.equal(result.exitCode, 1);
 * assert.match(io.err.join("\n"), /inverted range/);
 * ```
 *
 * @module
 */

import { SLURM } from "./slurm.ts";
import { queueMain } from "./queue.ts";
import { commandOf, type FaceOptions } from "./submit.ts";

export { SBATCH_HELP } from "./slurm.ts";

/** Options for an in-process `sbatch` call. */
export type SbatchOptions = FaceOptions;

/**
 * `sbatch` in-process (`sbatch(args, options)`: the exit code the real sbatch would give, with the
 * report) and on the command line (`sbatchMain(args)`).
 */
export const { submit: sbatch } = commandOf(SLURM);

/**
 * `sbatch` on the command line: the job goes to the spool (`queue.ts`) and runs in the background,
 * or here with --wait; returns the exit code the real sbatch gives.
 */
export const sbatchMain = (args: string[]): Promise<number> => queueMain(SLURM, args);

if (import.meta.main) Deno.exit(await sbatchMain(Deno.args));

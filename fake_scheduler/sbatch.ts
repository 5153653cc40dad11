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
import { faceMain, type FaceOptions, submit, type SubmitResult } from "./submit.ts";

export { SBATCH_HELP } from "./slurm.ts";

/** Options for an in-process {@link sbatch} call. */
export type SbatchOptions = FaceOptions;

/**
 * Run `sbatch ARGS` in-process: parse, validate, print the submission line, run every array task
 * and return the exit code the real sbatch would give, with the report.
 */
export function sbatch(args: string[], options: SbatchOptions = {}): Promise<SubmitResult> {
  return submit(SLURM, args, options);
}

/** Command-line entry point: run sbatch with `args` on the console and return the exit code. */
export function sbatchMain(args: string[]): Promise<number> {
  return faceMain(SLURM, args);
}

if (import.meta.main) Deno.exit(await sbatchMain(Deno.args));

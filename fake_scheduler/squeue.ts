/**
 * The fake Slurm `squeue` command on the fake's job spool; see `slurm_queries.ts`.
 *
 * @module
 */

import { squeue } from "./slurm_queries.ts";

if (import.meta.main) Deno.exit(await squeue(Deno.args));

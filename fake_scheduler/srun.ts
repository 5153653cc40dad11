/**
 * The fake Slurm `srun` command on the fake's job spool; see `slurm_queries.ts`.
 *
 * @module
 */

import { srun } from "./slurm_queries.ts";

if (import.meta.main) Deno.exit(await srun(Deno.args));

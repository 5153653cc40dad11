/**
 * The fake Slurm `sacct` command on the fake's job spool; see `slurm_queries.ts`.
 *
 * @module
 */

import { sacct } from "./slurm_queries.ts";

if (import.meta.main) Deno.exit(await sacct(Deno.args));

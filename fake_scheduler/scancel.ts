/**
 * The fake Slurm `scancel` command on the fake's job spool; see `slurm_queries.ts`.
 *
 * @module
 */

import { scancel } from "./slurm_queries.ts";

if (import.meta.main) Deno.exit(await scancel(Deno.args));

/**
 * The fake Slurm `scontrol` command on the fake's job spool; see `slurm_queries.ts`.
 *
 * @module
 */

import { scontrol } from "./slurm_queries.ts";

if (import.meta.main) Deno.exit(await scontrol(Deno.args));

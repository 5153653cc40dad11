/**
 * The fake Grid Engine `qstat` command on the fake's job spool; see `sge_queries.ts`.
 *
 * @module
 */

import { qstat } from "./sge_queries.ts";

if (import.meta.main) Deno.exit(await qstat(Deno.args));

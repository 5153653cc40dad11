/**
 * The fake Grid Engine `qdel` command on the fake's job spool; see `sge_queries.ts`.
 *
 * @module
 */

import { qdel } from "./sge_queries.ts";

if (import.meta.main) Deno.exit(await qdel(Deno.args));

/**
 * The fake Grid Engine `qhold` command on the fake's job spool; see `sge_queries.ts`.
 *
 * @module
 */

import { qhold } from "./sge_queries.ts";

if (import.meta.main) Deno.exit(await qhold(Deno.args));

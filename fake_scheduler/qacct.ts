/**
 * The fake Grid Engine `qacct` command on the fake's job spool; see `sge_queries.ts`.
 *
 * @module
 */

import { qacct } from "./sge_queries.ts";

if (import.meta.main) Deno.exit(await qacct(Deno.args));

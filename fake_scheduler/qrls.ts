/**
 * The fake Grid Engine `qrls` command on the fake's job spool; see `sge_queries.ts`.
 *
 * @module
 */

import { qrls } from "./sge_queries.ts";

if (import.meta.main) Deno.exit(await qrls(Deno.args));

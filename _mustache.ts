/**
 * The one place arrayjob imports Mustache. mod.ts loads this file with a dynamic `import()` only
 * when a script is rendered, so the per-task path never pays for it.
 *
 * @module
 */

// A full specifier, not an import-map name: arrayjob runs by URL, where import maps do not apply.
// @ts-types="npm:@types/mustache@^4"
// deno-lint-ignore no-import-prefix
import Mustache from "npm:mustache@^4.2.0";

export default Mustache;

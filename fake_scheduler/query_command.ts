/**
 * What the fake's query commands share (`squeue` … `srun`, `qstat` … `qrls`): where one runs
 * ({@linkcode QueryContext}) and the submitting user; for Slurm's GNU-spelled commands, an option
 * table that records values, parsing words with it, and usage errors as `PREFIX: error: ...`.
 *
 * @module
 */

import { userInfo } from "node:os";
import { consoleIO, type FaceIO } from "./io.ts";
import { Findings } from "./diagnostics.ts";
import { applyWords, type OptionTable, type Parsed } from "./options.ts";
import type { Spool } from "./spool.ts";

/** Where a query command runs: its spool, output and environment. */
export interface QueryContext {
  /** The spool; default: this user's. */
  spool?: Spool;
  /** Output sinks; default: the console. */
  io?: FaceIO;
  /** The environment (srun reads `SLURM_JOB_ID` from it); default: the process's. */
  env?: Record<string, string>;
}

/** The submitting user, as both faces show it: `$USER`, else the account's name. */
export function userName(env?: Record<string, string>): string {
  const e = env ?? Deno.env.toObject();
  if (e.USER) return e.USER;
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** A parsed command line: options by name, and the other words. */
export interface QueryReq extends Parsed {
  [key: string]: unknown;
  words: string[];
}

/** A GNU-spelled option table whose options just record their values under their first name. */
export function queryTable(
  command: string,
  withValue: string[],
  flags: string[],
): OptionTable<QueryReq> {
  return {
    command,
    spelling: "gnu",
    options: [
      ...withValue.map((n) => ({
        names: n.split(" "),
        values: 1 as const,
        apply: (req: QueryReq, [v]: string[]) => req[n.split(" ")[0]] = v,
      })),
      ...flags.map((n) => ({
        names: n.split(" "),
        values: 0 as const,
        apply: (req: QueryReq) => req[n.split(" ")[0]] = true,
      })),
    ],
  };
}

/** Parses words with `t`; a non-option word is kept in `words` (command arguments). */
export function parseQuery(t: OptionTable<QueryReq>, args: string[], stopAtWord = false): QueryReq {
  const req: QueryReq = { lines: new Map(), words: [] };
  let rest = args;
  while (rest.length > 0) {
    const at = applyWords(t, rest, req, { findings: new Findings(), fake: {} });
    if (at >= rest.length) break;
    if (stopAtWord) {
      req.words.push(...rest.slice(at));
      break;
    }
    req.words.push(rest[at]);
    rest = rest.slice(at + 1);
  }
  return req;
}

// Runs a command body, turning a usage error into `PREFIX: error: MESSAGE` and exit 1.
function guarded(io: FaceIO, prefix: string, body: () => number): number {
  try {
    return body();
  } catch (e) {
    io.stderr(`${prefix}: error: ${(e as Error).message}`);
    return 1;
  }
}

/**
 * Runs a query command: its words parsed with `table` (with `stopAtWord`, the words from the first
 * non-option on are the command's arguments), then `body`; a usage error is `COMMAND: error: ...`
 * on stderr and exit 1.
 */
export function runQuery(
  table: OptionTable<QueryReq>,
  args: string[],
  ctx: QueryContext,
  body: (req: QueryReq, io: FaceIO) => number,
  stopAtWord = false,
): number {
  const io = ctx.io ?? consoleIO();
  return guarded(io, table.command, () => body(parseQuery(table, args, stopAtWord), io));
}

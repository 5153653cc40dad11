/**
 * What every arrayjob command is made of: its option table ({@linkcode CliOption}) and its entry in
 * the command table ({@linkcode Command}), strict parsing of its options, the version, and how a
 * list of tasks is shown to a person.
 *
 * @example Parsing a command's options
 * ```ts
 * import { parseOptions } from "./cli_command.ts";
 * import assert from "node:assert/strict";
 *
 * const { values } = parseOptions(["--json"], [{ flag: "json", type: "boolean", help: [] }]);
 * assert.equal(values.json, true);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ArrayJobError } from "./mod.ts";
import { type FlagUse, unknownOption } from "./script_flags.ts";
import type { TaskSet } from "./task_set.ts";
import denoJson from "./deno.json" with { type: "json" };

/** The version printed by `--version`, from deno.json. */
export const VERSION: string = denoJson.version;

/** One option of a command: how it parses, and its line in the command's `--help`. */
export interface CliOption {
  /** The flag without its dashes: `dir` for `--dir`. */
  readonly flag: string;
  /** Whether it takes a value (`string`) or is a switch (`boolean`). */
  readonly type: "string" | "boolean";
  /** The value's name in `--help`: `--dir DIR`. */
  readonly value?: string;
  /** Its lines in `--help`. */
  readonly help: readonly string[];
}

/** A command: its synopsis and summary for `arrayjob --help`, its own help, options, and run. */
export interface Command {
  /** Its line in `arrayjob --help`: `status DIR`. */
  readonly synopsis: string;
  /** What it does, in lines of `arrayjob --help`. */
  readonly summary: readonly string[];
  /** What `arrayjob <command> --help` prints above the options. */
  readonly about?: string;
  /** The command's options; `--help` lists them, and {@linkcode parseOptions} reads them. */
  readonly options?: readonly CliOption[];
  /** Its use of {@linkcode SCRIPT_FLAGS}, which says the flags it takes, and their heading. */
  readonly scriptFlags?: { readonly use: FlagUse; readonly heading: string };
  /** Runs it on its words (without the command's name); returns the exit code. */
  readonly run: (args: string[]) => number | Promise<number>;
}

/**
 * Parses a command's own option table strictly, leaving the rest as positionals.
 *
 * @param args The command's words.
 * @param options Its option table.
 * @param hint What a usage error ends with.
 * @returns The values by flag, and the positionals.
 * @throws {ArrayJobError} On an unknown option or a missing value.
 *
 * @example
 * ```ts
 * import { parseOptions } from "./cli_command.ts";
 * import assert from "node:assert/strict";
 *
 * const options = [{ flag: "dir", type: "string" as const, value: "DIR", help: [] }];
 * assert.deepEqual(parseOptions(["--dir", "x", "a.sh"], options).positionals, ["a.sh"]);
 * assert.throws(() => parseOptions(["--dri", "x"], options), /unknown option "--dri"/);
 * ```
 */
export function parseOptions(
  args: string[],
  options: readonly CliOption[],
  hint = "see --help",
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({
      args,
      options: Object.fromEntries(options.map(({ flag, type }) => [flag, { type }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message);
    if (unknown) throw unknownOption(unknown[1]!, options.map(({ flag }) => `--${flag}`));
    throw new ArrayJobError(`${(error as Error).message.split("\n")[0]}; ${hint}`);
  }
}

/**
 * Past this many ranges a list line for a person is cut (the rest: `--json`), as the fake's
 * summary does.
 */
export const MOST_RANGES_SHOWN = 20;

/**
 * A list of tasks for a person: at most {@linkcode MOST_RANGES_SHOWN} ranges (`--json` gives them
 * all).
 *
 * @param tasks The tasks.
 * @returns The list, as a --tasks spec.
 *
 * @example
 * ```ts
 * import { shortList } from "./cli_command.ts";
 * import { TaskSet } from "./task_set.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shortList(TaskSet.of([1, 2, 3, 7])), "1:4,7");
 * ```
 */
export function shortList(tasks: TaskSet): string {
  return tasks.toString(MOST_RANGES_SHOWN);
}

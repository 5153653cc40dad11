/**
 * The command line's spelling of the script options: one table, {@linkcode SCRIPT_FLAGS}, that
 * parses the flags of `arrayjob script`, `arrayjob resubmit` and a program's own
 * `--cluster-script` (so all three accept exactly the same ones) and writes their `--help`.
 *
 * @example
 * ```ts
 * import { parseScriptFlags } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseScriptFlags(["--job-name=fit", "x"]), {
 *   options: { jobName: "fit" },
 *   positionals: ["x"],
 * });
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ArrayJobError } from "./mod.ts";
import type { WriteClusterScriptsOptions } from "./script.ts";

/** One command-line flag of a cluster script: how it parses, which option it sets, its help. */
export interface ScriptFlag {
  /** The flag without its dashes: `job-name`. */
  readonly flag: string;
  /** The option it sets. */
  readonly option: keyof WriteClusterScriptsOptions;
  /** How its value is read: a word, a whole number, a repeatable word, a file's text, or none. */
  readonly kind: "string" | "whole" | "strings" | "file" | "boolean";
  /** The value's placeholder in `--help`, absent for a boolean flag. */
  readonly value?: string;
  /** Its help, one line or more. */
  readonly help: readonly string[];
}

/**
 * The flags of `arrayjob script`, `arrayjob resubmit` and a program's `--cluster-script`: one
 * table that both parses ({@linkcode parseScriptFlags}) and writes their help
 * ({@linkcode scriptFlagsHelp}).
 */
export const SCRIPT_FLAGS: readonly ScriptFlag[] = [
  {
    flag: "num-tasks",
    option: "numTasks",
    kind: "whole",
    value: "N",
    help: ["how many tasks the command's list has (required)"],
  },
  {
    flag: "scheduler",
    option: "scheduler",
    kind: "string",
    value: "sge|slurm",
    help: ["which scheduler's script (default: sge)"],
  },
  {
    flag: "step",
    option: "step",
    kind: "whole",
    value: "N",
    help: ["tasks per array task (default: 1); array size = ceil(tasks/N)"],
  },
  {
    flag: "cpus",
    option: "cpus",
    kind: "whole",
    value: "N",
    help: ["CPUs per array task (default: 1; Grid Engine: -pe PE N when N > 1)"],
  },
  {
    flag: "memory",
    option: "memory",
    kind: "string",
    value: "SIZE",
    help: ["memory per array task, e.g. 4G or 500M (Grid Engine: per slot)"],
  },
  {
    flag: "memory-per-cpu",
    option: "memoryPerCpu",
    kind: "string",
    value: "SIZE",
    help: ["memory per CPU instead (Slurm --mem-per-cpu)"],
  },
  {
    flag: "memory-resource",
    option: "memoryResource",
    kind: "string",
    value: "NAME",
    help: [
      "Grid Engine memory complex (default: mem_free; m_mem_free on",
      "Univa/Altair, h_vmem for a hard limit)",
    ],
  },
  {
    flag: "time",
    option: "time",
    kind: "string",
    value: "T",
    help: ["runtime limit: seconds, H:MM:SS or D-HH:MM:SS"],
  },
  {
    flag: "queue",
    option: "queue",
    kind: "string",
    value: "NAME",
    help: ["Grid Engine queue or Slurm partition"],
  },
  {
    flag: "pe",
    option: "pe",
    kind: "string",
    value: "NAME",
    help: ["Grid Engine parallel environment for --cpus > 1 (default: smp)"],
  },
  {
    flag: "job-name",
    option: "jobName",
    kind: "string",
    value: "NAME",
    help: ["job name (default: the script's stem)"],
  },
  {
    flag: "output-dir",
    option: "outputDir",
    kind: "string",
    value: "DIR",
    help: ["logs and run.sh go here (default: the job name)"],
  },
  {
    flag: "work-dir",
    option: "workDir",
    kind: "string",
    value: "DIR",
    help: ["the command runs here (default: the current directory)"],
  },
  {
    flag: "wait",
    option: "wait",
    kind: "boolean",
    help: ["submit blocks until all tasks end (qsub -sync y, sbatch --wait)"],
  },
  {
    flag: "throttle",
    option: "throttle",
    kind: "whole",
    value: "N",
    help: ["at most N array tasks at once (qsub -tc N, sbatch --array=...%N)"],
  },
  {
    flag: "directive",
    option: "extraDirectives",
    kind: "strings",
    value: "LINE",
    help: ['an extra directive line without its prefix, e.g. "-l gpu=1";', "repeatable"],
  },
  {
    flag: "template",
    option: "template",
    kind: "file",
    value: "FILE",
    help: ["a Mustache template to use instead of the built-in one"],
  },
  {
    flag: "max-array-size",
    option: "maxArraySize",
    kind: "whole",
    value: "N",
    help: [
      "the scheduler's array limit (default: 1001 Slurm, 75000 Grid",
      "Engine); a larger array gets a larger step, or with --split",
      "several scripts",
    ],
  },
  {
    flag: "split",
    option: "split",
    kind: "boolean",
    help: [
      "keep the step and write one script per part of an array larger",
      "than --max-array-size (run-1.sh, run-2.sh, ...)",
    ],
  },
  {
    flag: "out",
    option: "out",
    kind: "string",
    value: "FILE|-",
    help: ["where to write the script (default: OUTPUT_DIR/run.sh); - prints it"],
  },
];

/**
 * The help of some {@linkcode SCRIPT_FLAGS}, one flag a line (or more).
 *
 * @param omit The flags to leave out, without dashes.
 * @returns The lines, joined.
 *
 * @example
 * ```ts
 * import { scriptFlagsHelp } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(scriptFlagsHelp(), /^  --job-name NAME          job name/m);
 * assert.doesNotMatch(scriptFlagsHelp(["split"]), /^  --split/m);
 * ```
 */
export function scriptFlagsHelp(omit: readonly string[] = []): string {
  return flagHelp(SCRIPT_FLAGS.filter(({ flag }) => !omit.includes(flag)));
}

/**
 * The `--help` lines of flags: the flag and its value's placeholder, then its help, aligned.
 *
 * @param flags The flags.
 * @returns The lines, joined.
 *
 * @example
 * ```ts
 * import { flagHelp } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(flagHelp([{ flag: "json", help: ["print JSON"] }]), `  --json${" ".repeat(19)}print JSON`);
 * ```
 */
export function flagHelp(
  flags: readonly { flag: string; value?: string; help: readonly string[] }[],
): string {
  const lines: string[] = [];
  for (const { flag, value, help } of flags) {
    const label = `--${flag}${value === undefined ? "" : ` ${value}`}`;
    lines.push(`  ${label.padEnd(24)} ${help[0]}`);
    for (const more of help.slice(1)) lines.push(`${" ".repeat(27)}${more}`);
  }
  return lines.join("\n");
}

/** The result of {@linkcode parseScriptFlags}. */
export interface ParsedScriptFlags {
  /** The options the flags set; absent flags are absent here. */
  options: Partial<WriteClusterScriptsOptions>;
  /** Arguments that are not flags. */
  positionals: string[];
}

/**
 * Parses {@linkcode SCRIPT_FLAGS} strictly: an unknown flag or a malformed number is an error.
 *
 * @param args The arguments, without the command that follows `--`.
 * @param omit Flags this command does not take, without dashes.
 * @returns The options and the positional arguments.
 * @throws {ArrayJobError} On an unknown flag, a missing value, a bad number or an unreadable
 *   template file.
 *
 * @example
 * ```ts
 * import { parseScriptFlags } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { options } = parseScriptFlags(["--scheduler", "slurm", "--step=4", "--wait"]);
 * assert.deepEqual(options, { scheduler: "slurm", step: 4, wait: true });
 * ```
 */
export function parseScriptFlags(
  args: readonly string[],
  omit: readonly string[] = [],
): ParsedScriptFlags {
  const flags = SCRIPT_FLAGS.filter(({ flag }) => !omit.includes(flag));
  let parsed;
  try {
    parsed = parseArgs({
      args: attachValues(args, flags.filter(({ kind }) => kind !== "boolean")),
      options: Object.fromEntries(flags.map(({ flag, kind }) => [flag, {
        type: kind === "boolean" ? "boolean" as const : "string" as const,
        multiple: kind === "strings",
      }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new ArrayJobError(`${(error as Error).message}; see --help for the options`);
  }
  const options: Record<string, unknown> = {};
  for (const { flag, option, kind } of flags) {
    const value = parsed.values[flag];
    if (value === undefined) continue;
    if (kind === "whole") {
      if (!/^[0-9]+$/.test(value as string)) {
        throw new ArrayJobError(`--${flag} ${JSON.stringify(value)}: expected a whole number`);
      }
      options[option] = Number(value);
    } else if (kind === "file") {
      options[option] = readFlagFile(flag, value as string);
    } else {
      options[option] = value;
    }
  }
  return {
    options: options as Partial<WriteClusterScriptsOptions>,
    positionals: parsed.positionals,
  };
}

/**
 * Joins `--flag VALUE` into `--flag=VALUE` for flags that take a value, so that a value that
 * starts with "-" (`--directive "-l gpu=1"`, the form --help shows; `--num-tasks -1`, which is
 * then refused for its value) is the flag's value, not taken for another flag.
 *
 * @param args The arguments.
 * @param valued The flags that take a value, without dashes.
 * @returns The arguments, joined where needed.
 *
 * @example
 * ```ts
 * import { attachValues } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(attachValues(["--directive", "-l gpu=1", "x"], [{ flag: "directive" }]), ["--directive=-l gpu=1", "x"]);
 * ```
 */
export function attachValues(
  args: readonly string[],
  valued: readonly { readonly flag: string }[],
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return [...out, ...args.slice(i)];
    const next = args[i + 1];
    if (valued.some(({ flag }) => arg === `--${flag}`) && next !== undefined) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function readFlagFile(flag: string, file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    throw new ArrayJobError(
      `--${flag} ${JSON.stringify(file)} cannot be read: ${(error as Error).message}`,
    );
  }
}

/**
 * The error a command line shows: one about an option names the flag a user typed
 * (`--job-name`), from {@linkcode SCRIPT_FLAGS}, instead of the library's option (`jobName`).
 *
 * @param error An error from this module.
 * @returns The same error, or one that names the flag.
 *
 * @example
 * ```ts
 * import { ArrayJobError } from "./mod.ts";
 * import { withFlagName } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const error = withFlagName(new ArrayJobError('"a b" cannot go into a directive line', "jobName"));
 * assert.equal(error.message, '--job-name "a b" cannot go into a directive line');
 * ```
 */
export function withFlagName(error: ArrayJobError): ArrayJobError {
  const flag = SCRIPT_FLAGS.find(({ option }) => option === error.option)?.flag;
  return flag === undefined ? error : new ArrayJobError(error.reason, `--${flag}`);
}

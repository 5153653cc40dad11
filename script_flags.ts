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
 * assert.deepEqual(parseScriptFlags(["--job-name=fit", "x"], "script"), {
 *   options: { jobName: "fit" },
 *   positionals: ["x"],
 * });
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ArrayJobError } from "./mod.ts";
import type { WriteClusterScriptsOptions } from "./script_options.ts";

/**
 * Where script flags are given: `arrayjob script`, `arrayjob resubmit`, or a program's own
 * `--cluster-script` (runTasks).
 */
export type FlagUse = "script" | "resubmit" | "cluster-script";

/** One command-line flag of a cluster script: how it parses, which option it sets, its help. */
export interface ScriptFlag {
  /** The flag without its dashes: `job-name`. */
  readonly flag: string;
  /** The option it sets. */
  readonly option: keyof WriteClusterScriptsOptions;
  /**
   * How its value is read: a word, a whole number, a repeatable word, a repeatable NAME=VALUE,
   * a file's text, or none.
   */
  readonly kind: "string" | "whole" | "strings" | "assignments" | "file" | "boolean";
  /** The value's placeholder in `--help`, absent for a boolean flag. */
  readonly value?: string;
  /**
   * Its help, one line or more. A line that names a flag the use does not take is left out
   * of that use's help.
   */
  readonly help: readonly string[];
  /** Its default, shown in the help where the flag starts from nothing (not in resubmit). */
  readonly default?: string;
  /** The uses that refuse it, each with the reason the refusal gives. */
  readonly notFor?: Partial<Record<FlagUse, string>>;
}

const KEPT = "a resubmission keeps the job's own";

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
    notFor: {
      "cluster-script": "the script's own task list sets the number of tasks",
      resubmit: KEPT,
    },
  },
  {
    flag: "scheduler",
    option: "scheduler",
    kind: "string",
    value: "sge|slurm",
    help: ["which scheduler's script"],
    default: "sge",
  },
  {
    flag: "step",
    option: "step",
    kind: "whole",
    value: "N",
    help: ["tasks per array task; array size = ceil(tasks/N)"],
    default: "1",
  },
  {
    flag: "cpus",
    option: "cpus",
    kind: "whole",
    value: "N",
    help: ["CPUs per array task (Grid Engine: -pe PE N when N > 1)"],
    default: "1",
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
    help: ["Grid Engine memory complex (m_mem_free on Univa/Altair,", "h_vmem for a hard limit)"],
    default: "mem_free",
  },
  {
    flag: "time",
    option: "time",
    kind: "string",
    value: "T",
    help: [
      "runtime limit: H:MM:SS, D-HH:MM:SS or a bare number of seconds",
      "(Slurm's own --time reads a bare number as minutes; MM:SS is",
      "refused as ambiguous)",
    ],
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
    help: ["Grid Engine parallel environment for --cpus > 1"],
    default: "smp",
  },
  {
    flag: "job-name",
    option: "jobName",
    kind: "string",
    value: "NAME",
    help: ["job name"],
    default: "the script's stem",
  },
  {
    flag: "output-dir",
    option: "outputDir",
    kind: "string",
    value: "DIR",
    help: ["logs and run.sh go here"],
    default: "the job name",
  },
  {
    flag: "work-dir",
    option: "workDir",
    kind: "string",
    value: "DIR",
    help: ["the command runs here"],
    default: "the current directory",
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
    flag: "set",
    option: "values",
    kind: "assignments",
    value: "NAME=VALUE",
    help: [
      "an extra template value, like the seed's **kwargs; repeatable",
      "('arrayjob templates --values' lists the ones arrayjob gives)",
    ],
  },
  {
    flag: "template",
    option: "template",
    kind: "file",
    value: "FILE",
    help: ["a Mustache template to use instead of the built-in one"],
    notFor: { resubmit: KEPT },
  },
  {
    flag: "max-array-size",
    option: "maxArraySize",
    kind: "whole",
    value: "N",
    help: [
      "the scheduler's array limit; a larger array gets a larger step",
      "(with --split: several scripts)",
    ],
    default: "1001 Slurm, 75000 Grid Engine",
  },
  {
    flag: "split",
    option: "split",
    kind: "boolean",
    help: [
      "keep the step and write one script per part of an array larger",
      "than --max-array-size (run-1.sh, run-2.sh, ...)",
    ],
    notFor: { resubmit: KEPT },
  },
  {
    flag: "out",
    option: "out",
    kind: "string",
    value: "FILE|-",
    help: ["where to write the script; - prints it"],
    default: "OUTPUT_DIR/run.sh",
    notFor: { resubmit: KEPT },
  },
  {
    flag: "deno",
    option: "deno",
    kind: "string",
    value: "PATH",
    help: ["the deno that array tasks run, as the compute nodes see it"],
    default: "this Deno, or deno from PATH when this one is in npx's cache",
    notFor: {
      script: "the command after -- is run as written: name the program there",
      resubmit: "a resubmission keeps the job's command",
    },
  },
];

/**
 * The flags a use takes: all of {@linkcode SCRIPT_FLAGS} but those it refuses.
 *
 * @param use Where the flags are given.
 * @returns The flags, in the table's order.
 *
 * @example
 * ```ts
 * import { flagsFor } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(!flagsFor("cluster-script").some(({ flag }) => flag === "num-tasks"));
 * assert.ok(flagsFor("script").some(({ flag }) => flag === "num-tasks"));
 * ```
 */
export function flagsFor(use: FlagUse): ScriptFlag[] {
  return SCRIPT_FLAGS.filter(({ notFor }) => notFor?.[use] === undefined);
}

/**
 * The help of the {@linkcode SCRIPT_FLAGS} a use takes, one flag a line (or more), with the
 * defaults where the flags start from nothing: a resubmission starts from the job's own.
 *
 * @param use Where the flags are given.
 * @returns The lines, joined.
 *
 * @example
 * ```ts
 * import { scriptFlagsHelp } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(scriptFlagsHelp("script"), /^  --job-name NAME          job name \(default: the script's stem\)$/m);
 * assert.doesNotMatch(scriptFlagsHelp("resubmit"), /^  --split|default: sge/m);
 * ```
 */
export function scriptFlagsHelp(use: FlagUse): string {
  const refused = SCRIPT_FLAGS.filter(({ notFor }) => notFor?.[use] !== undefined);
  return flagHelp(
    flagsFor(use).map((entry) => {
      const help = entry.help.filter((line) =>
        !refused.some(({ flag }) => new RegExp(`--${flag}(?![\\w-])`).test(line))
      );
      if (entry.default !== undefined && use !== "resubmit") {
        const last = `${help.at(-1)} (default: ${entry.default})`;
        if (last.length <= 64) help.splice(-1, 1, last);
        else help.push(`(default: ${entry.default})`);
      }
      return { ...entry, help };
    }),
  );
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
 * Parses the {@linkcode SCRIPT_FLAGS} a use takes, strictly: a flag the use refuses, an unknown
 * flag (named with the nearest known one) or a malformed number is a one-line error.
 *
 * @param args The arguments, without the command that follows `--`.
 * @param use Where the flags are given.
 * @returns The options and the positional arguments.
 * @throws {ArrayJobError} On a refused or unknown flag, a missing value, a bad number or an
 *   unreadable template file.
 *
 * @example
 * ```ts
 * import { parseScriptFlags } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const { options } = parseScriptFlags(["--scheduler", "slurm", "--step=4", "--wait"], "script");
 * assert.deepEqual(options, { scheduler: "slurm", step: 4, wait: true });
 * assert.throws(() => parseScriptFlags(["--stepp", "4"], "script"), /"--stepp": did you mean --step\?/);
 * ```
 */
export function parseScriptFlags(args: readonly string[], use: FlagUse): ParsedScriptFlags {
  const flags = flagsFor(use);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") break;
    if (!arg.startsWith("-") || arg === "-") continue;
    const name = arg.replace(/^--?/, "").replace(/=.*$/s, "");
    const known = flags.find(({ flag }) => flag === name);
    if (known !== undefined) {
      if (known.kind !== "boolean" && !arg.includes("=")) i++; // its value
      continue;
    }
    const refused = SCRIPT_FLAGS.find(({ flag }) => flag === name)?.notFor?.[use];
    if (refused !== undefined) {
      throw new ArrayJobError(`--${name} does not apply to ${USE_NAMES[use]}: ${refused}`);
    }
    throw unknownOption(arg, flags.map(({ flag }) => `--${flag}`));
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: attachValues(args, flags.filter(({ kind }) => kind !== "boolean")),
      options: Object.fromEntries(flags.map(({ flag, kind }) => [flag, {
        type: kind === "boolean" ? "boolean" as const : "string" as const,
        multiple: kind === "strings" || kind === "assignments",
      }])),
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    // What is left for parseArgs to refuse: a missing value, or a value given to a switch.
    const message = (error as Error).message.split("\n")[0]!.replace(/\.$/, "");
    throw new ArrayJobError(`${message}; see --help for the options`);
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
    } else if (kind === "assignments") {
      // Entries, not assignments: a name like __proto__ must arrive to be refused, not vanish.
      const values: [string, string][] = [];
      for (const assignment of value as string[]) {
        const equals = assignment.indexOf("=");
        if (equals < 1) {
          throw new ArrayJobError(
            `--${flag} ${JSON.stringify(assignment)}: expected NAME=VALUE, like gpus=2`,
          );
        }
        values.push([assignment.slice(0, equals), assignment.slice(equals + 1)]);
      }
      options[option] = Object.fromEntries(values);
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

const USE_NAMES: Record<FlagUse, string> = {
  script: "arrayjob script",
  resubmit: "arrayjob resubmit",
  "cluster-script": "--cluster-script",
};

/**
 * The error for an option nobody takes: one line naming it and, when one is close, the known
 * option it most likely meant (by edit distance).
 *
 * @param arg The argument as given (`--stepp=4`).
 * @param known The known options, with their dashes.
 * @returns The error, to throw.
 *
 * @example
 * ```ts
 * import { unknownOption } from "./script_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   unknownOption("--stepp", ["--step", "--tasks"]).message,
 *   'unknown option "--stepp": did you mean --step? (see --help)',
 * );
 * assert.equal(unknownOption("--xyz", ["--step"]).message, 'unknown option "--xyz" (see --help)');
 * ```
 */
export function unknownOption(arg: string, known: readonly string[]): ArrayJobError {
  const name = arg.replace(/=.*$/s, "");
  // A prefix of it (--mem for --memory), else a typo or two (more in a longer name).
  let best = name.length >= 5 ? known.find((candidate) => candidate.startsWith(name)) : undefined;
  if (best === undefined) {
    let bestDistance = Math.max(1, Math.floor((name.length - 2) / 3)) + 1;
    for (const candidate of known) {
      const distance = editDistance(name, candidate);
      if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
    }
  }
  const hint = best === undefined ? "" : `: did you mean ${best}?`;
  return new ArrayJobError(`unknown option ${JSON.stringify(name)}${hint} (see --help)`);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        previous[j]! + 1,
        row[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = row;
  }
  return previous[b.length]!;
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

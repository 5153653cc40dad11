/**
 * The options an array job is described by ({@linkcode ClusterScriptOptions} and the options of
 * writing it), and the checks their values pass before they reach a script: whole numbers,
 * memory sizes, runtimes, and values that go into a directive line, which the scheduler parses.
 *
 * @example Checking values as rendering does
 * ```ts
 * import { mebibytes, seconds, wholeNumber } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(wholeNumber("step", 4, 1), 4);
 * assert.equal(mebibytes("memory", "1.5G"), 1536);
 * assert.equal(seconds("1:30:00"), 5400);
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError } from "./mod.ts";
import type { Scheduler } from "./dialects.ts";

/** The directory, inside a job's output directory, where its array tasks write their records. */
export const RECORDS_DIR = "records";

/** Options of {@linkcode clusterScript} and {@linkcode renderJob}: what to run, with which resources. */
export interface ClusterScriptOptions {
  /**
   * Which scheduler's script to render.
   * @default {DEFAULT_SCHEDULER}
   */
  scheduler?: Scheduler;
  /** The number of tasks in the full list: a whole number ≥ 1. */
  numTasks: number;
  /**
   * Tasks per array task: array task k runs tasks `k*step` to `k*step + step - 1`, so the array
   * has `ceil(numTasks / step)` array tasks.
   * @default {1}
   */
  step?: number;
  /**
   * The command each array task runs, as separate words; each word is shell-quoted and
   * `--tasks=START:STOP` is appended. Relative paths are resolved from {@linkcode workDir}.
   */
  command: readonly string[];
  /**
   * CPUs per array task. Grid Engine requests them as a parallel environment ({@linkcode pe}),
   * only when more than one; Slurm as `--cpus-per-task`.
   * @default {1}
   */
  cpus?: number;
  /**
   * Memory for one array task, all CPUs together: `500M`, `4G`, `1.5G` (K, M, G, T; binary
   * units). Grid Engine takes memory per slot, so it is divided by `cpus` there.
   */
  memory?: string;
  /** Memory per CPU instead of {@linkcode memory} (Slurm `--mem-per-cpu`). */
  memoryPerCpu?: string;
  /**
   * Grid Engine's memory complex. Univa/Altair Grid Engine knows `m_mem_free`; Son of Grid
   * Engine 8.1.9 rejects it and knows `mem_free` and `h_vmem` (a hard limit on virtual memory,
   * which kills runtimes that reserve much of it: Deno 2.9 aborts under `h_vmem` up to 32G, as
   * measured on 8.1.9, so arrayjob warns when a Deno command gets less than 36G).
   * @default {"mem_free"}
   */
  memoryResource?: string;
  /** Runtime limit per array task: seconds (`3600`) or `[D-]H:MM:SS` (`1:30:00`, `2-00:00:00`). */
  time?: string | number;
  /** Grid Engine queue (`-q`) or Slurm partition (`--partition`). */
  queue?: string;
  /**
   * Grid Engine parallel environment for `cpus > 1` (`-pe NAME cpus`); it must exist on the
   * cluster (`qconf -spl` lists them).
   * @default {"smp"}
   */
  pe?: string;
  /** The job's name. Defaults to the stem of the script in {@linkcode command} (`fit.py` → `fit`). */
  jobName?: string;
  /**
   * Where the logs (and the script, for {@linkcode writeClusterScript}) go; relative to
   * {@linkcode workDir}. Defaults to the job name, as the seed's `script_file.with_suffix('')`.
   */
  outputDir?: string;
  /**
   * The directory the command runs in; the script changes into it, so it can be submitted from
   * anywhere. `null` leaves the directory to the scheduler (`-cwd`: the submit directory).
   * @default {Deno.cwd()}
   */
  workDir?: string | null;
  /**
   * Make the submit command block until every array task has finished (`-sync y`, `--wait`).
   * @default {false}
   */
  wait?: boolean;
  /** At most this many array tasks at once (Grid Engine `-tc`, Slurm `%N`). */
  throttle?: number;
  /** Further directive lines, without their prefix: `["-l gpu=1"]`, `["--gres=gpu:1"]`. */
  extraDirectives?: readonly string[];
  /**
   * A Mustache template to use instead of the built-in one: {@linkcode TEMPLATE_VALUES} lists
   * the values it can use, {@linkcode builtinTemplate} the built-in ones to start from.
   */
  template?: string;
  /**
   * Further template values, as the seed's `**kwargs` (`--set NAME=VALUE`): each name a plain
   * identifier that is not one of {@linkcode TEMPLATE_VALUES}, each value one line of text. A
   * value is data: inserted as written where the template puts it, never rendered or run by
   * arrayjob (a template that puts one into a shell line quotes it there).
   */
  values?: Readonly<Record<string, string>>;
  /**
   * The script file a template's `script_file` names (the seed's `python {{{script_file}}}`).
   * @default {the command's words, shell-quoted; runTasks --cluster-script: the program's path}
   */
  scriptFile?: string;
  /**
   * Whether the command reads a comma list of task specs in one `--tasks` (runTasks does). When
   * false, every `--tasks` value the command gets is one `START:STOP` range, and a chunk of
   * several ranges (a resubmission's) runs the command once per range, in order.
   * @default {false; true for runTasks --cluster-script}
   */
  taskLists?: boolean;
  /**
   * Keep a record of every array task in `<outputDir>/records/`: which tasks it ran and how
   * each ended, for {@linkcode jobStatus} and {@linkcode writeResubmitScript}. One small file
   * per array task, written by that array task alone.
   * @default {true}
   */
  records?: boolean;
  /**
   * The largest array the scheduler accepts. When ceil(numTasks / step) is larger, the step is
   * raised until the array fits, and the script says so in a comment (or, with
   * {@linkcode writeClusterScripts} and `split`, the array is split into several scripts).
   * @default {75000 for Grid Engine (max_aj_tasks), 1001 for Slurm (MaxArraySize: indices 0 to 1000)}
   */
  maxArraySize?: number;
  /**
   * Explicit chunks instead of {@linkcode step}: array task k runs the task spec `chunks[k]`
   * (such as `3,17:20`), read from a chunk map file beside the script, whose line k holds it.
   * This is how a resubmission runs exactly the tasks that failed, on every scheduler (Grid
   * Engine's `-t` takes only one range).
   */
  chunks?: readonly string[];
  /**
   * The file-mode mask the array tasks run with, in octal (`"027"`); the logs, records and
   * results they write get it.
   * @default {the umask of the process that renders, so a script never widens it}
   */
  umask?: string;
  /** Notices to write into the script as comments, beside those rendering finds. */
  notices?: readonly string[];
  /**
   * Called with each notice about the script, such as a step raised to fit the array-size
   * limit. The notice is also written into the script as a comment.
   * @default {a line on stderr}
   */
  onNotice?: (message: string) => void;
}

/** Options of {@linkcode clusterScript} and {@linkcode writeClusterScript}: also where to write. */
export interface WriteClusterScriptOptions extends ClusterScriptOptions {
  /**
   * Where to write the script.
   * @default {"<outputDir>/run.sh"}
   */
  out?: string;
}

/** Options of {@linkcode writeClusterScripts}. */
export interface WriteClusterScriptsOptions extends WriteClusterScriptOptions {
  /**
   * When the array exceeds {@linkcode ClusterScriptOptions.maxArraySize}, keep the step and
   * write several scripts (`run-1.sh`, `run-2.sh`, …), each an array within the limit that
   * covers its own range of tasks, instead of raising the step.
   * @default {false}
   */
  split?: boolean;
  /**
   * For {@linkcode programOptions}: the `deno` that a program's array tasks run, as the compute
   * nodes see it. Default: this process's Deno, or `deno` from `PATH` when this one lives where
   * a compute node is unlikely to find it (npx's cache, a temporary directory).
   */
  deno?: string;
}

// ---------------------------------------------------------------------------------------------
// Checking values

/**
 * Checks that an option is a whole number of at least `minimum`.
 *
 * @param name The option's name, for the error.
 * @param value Its value.
 * @param minimum The least value allowed.
 * @returns The value.
 * @throws {ArrayJobError} When it is not, with `option` set to `name`.
 *
 * @example
 * ```ts
 * import { wholeNumber } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(wholeNumber("step", 4, 1), 4);
 * assert.throws(() => wholeNumber("step", 0, 1), /^ArrayJobError: step is 0: expected a whole number ≥ 1$/);
 * ```
 */
export function wholeNumber(name: string, value: unknown, minimum: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) {
    throw new ArrayJobError(
      `is ${JSON.stringify(value)}: expected a whole number ≥ ${minimum}`,
      name,
    );
  }
  return value;
}

/**
 * Checks that a value can be one word of a directive line: non-empty, without spaces, quotes,
 * backslashes or control characters. Directive lines are parsed by the scheduler, not by a
 * shell, and neither scheduler's quoting is portable across versions.
 *
 * @param name The option's name, for the error.
 * @param value Its value.
 * @throws {ArrayJobError} When it cannot, with `option` set to `name`.
 *
 * @example
 * ```ts
 * import { directiveWord } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * directiveWord("jobName", "fit");
 * assert.throws(() => directiveWord("jobName", "a b"), /^ArrayJobError: jobName "a b" cannot go into a directive line/);
 * ```
 */
export function directiveWord(name: string, value: string): void {
  if (value === "" || /[\s"'\\]/.test(value) || hasControlCharacter(value)) {
    throw new ArrayJobError(
      `${JSON.stringify(value)} cannot go into a directive line: it must be non-empty, ` +
        `without spaces, quotes, backslashes or control characters`,
      name,
    );
  }
}

/**
 * Checks that a path can go into a directive line: spaces are fine (the path is then
 * double-quoted), quotes, backslashes, `$`, backticks and control characters are not, since SGE
 * expands `$VARIABLE` in paths and neither scheduler escapes quotes portably.
 *
 * @param name The option's name, for the error.
 * @param value The path.
 * @throws {ArrayJobError} When it cannot, with `option` set to `name`.
 *
 * @example
 * ```ts
 * import { directivePath } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * directivePath("outputDir", "/home/me/my runs");
 * assert.throws(() => directivePath("outputDir", "/home/$USER"), /^ArrayJobError: outputDir/);
 * ```
 */
export function directivePath(name: string, value: string): void {
  if (/["'\\$`]/.test(value) || hasControlCharacter(value)) {
    throw new ArrayJobError(
      `${JSON.stringify(value)} cannot go into a directive line: it must not contain ` +
        `quotes, backslashes, "$", backticks or control characters (spaces are fine)`,
      name,
    );
  }
}

/**
 * Whether a text holds a control character (below U+0020, or DEL): such a value would not stay
 * on its line.
 *
 * @param text The text.
 * @returns Whether it has one.
 *
 * @example
 * ```ts
 * import { hasControlCharacter } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(hasControlCharacter("a\nb"));
 * assert.ok(!hasControlCharacter("a b"));
 * ```
 */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Checks an extra directive line (without its prefix): one non-empty line.
 *
 * @param line The line, as given.
 * @returns The line, trimmed.
 * @throws {ArrayJobError} When it is empty or holds a control character.
 *
 * @example
 * ```ts
 * import { directiveLine } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(directiveLine(" -l gpu=1 "), "-l gpu=1");
 * assert.throws(() => directiveLine("-l a\n#$ -b"), /must be one non-empty line/);
 * ```
 */
export function directiveLine(line: string): string {
  if (line.trim() === "" || hasControlCharacter(line)) {
    throw new ArrayJobError(
      `extra directive ${JSON.stringify(line)} must be one non-empty line without control ` +
        `characters, like "-l gpu=1" or "--gres=gpu:1"`,
    );
  }
  return line.trim();
}

/**
 * Reads a memory size (`500M`, `4G`, `1.5G`; K, M, G, T in binary units) as whole mebibytes,
 * rounded up.
 *
 * @param name The option's name, for the error.
 * @param text The size.
 * @returns Mebibytes, at least 1.
 * @throws {ArrayJobError} When it is not a memory size, with `option` set to `name`.
 *
 * @example
 * ```ts
 * import { mebibytes } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(mebibytes("memory", "4G"), 4096);
 * assert.throws(() => mebibytes("memory", "lots"), /^ArrayJobError: memory "lots" is not a memory size/);
 * ```
 */
export function mebibytes(name: string, text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const factor = { "": 1 / 1048576, K: 1 / 1024, M: 1, G: 1024, T: 1048576 }[
    match?.[2]?.toUpperCase() ?? ""
  ];
  const value = match ? Math.ceil(Number(match[1]) * factor!) : NaN;
  if (!match || !(value >= 1) || !Number.isSafeInteger(value)) {
    throw new ArrayJobError(
      `${JSON.stringify(text)} is not a memory size: expected a number with K, M, G ` +
        `or T, like 500M, 4G or 1.5G`,
      name,
    );
  }
  return value;
}

/**
 * Reads a runtime limit as seconds: `H:MM:SS`, `D-HH:MM:SS` or a bare number of seconds. One
 * colon (`30:00`) is refused as ambiguous, since Slurm reads it as MM:SS and others as H:MM.
 *
 * @param time The limit.
 * @returns Seconds, at least 1.
 * @throws {ArrayJobError} When it is not a runtime, with `option` set to `time`.
 *
 * @example
 * ```ts
 * import { seconds } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(seconds("2-00:00:00"), 172800);
 * assert.equal(seconds(3600), 3600);
 * assert.throws(() => seconds("30:00"), /is ambiguous/);
 * ```
 */
export function seconds(time: string | number): number {
  const text = String(time).trim();
  const match = /^(?:(?:([0-9]+)-)?([0-9]+):([0-5]?[0-9]):([0-5]?[0-9])|([0-9]+))$/.exec(text);
  const total = !match
    ? NaN
    : match[5] !== undefined
    ? Number(match[5])
    : Number(match[1] ?? 0) * 86400 + Number(match[2]) * 3600 + Number(match[3]) * 60 +
      Number(match[4]);
  if (/^[0-9]+:[0-5]?[0-9]$/.test(text)) {
    // Slurm reads MM:SS, Grid Engine's h_rt reads it otherwise: one spelling, no guessing.
    const [a, b] = text.split(":").map(Number) as [number, number];
    throw new ArrayJobError(
      `${JSON.stringify(time)} is ambiguous: Slurm reads one colon as MM:SS (${a} min ${b} s), ` +
        `other tools as H:MM; write H:MM:SS (0:${String(a).padStart(2, "0")}:` +
        `${String(b).padStart(2, "0")}) or seconds (${a * 60 + b})`,
      "time",
    );
  }
  if (!(total >= 1) || !Number.isSafeInteger(total)) {
    throw new ArrayJobError(
      `${JSON.stringify(time)} is not a runtime: expected H:MM:SS (1:30:00), D-HH:MM:SS ` +
        `(2-00:00:00) or a bare number of seconds (3600; Slurm's own --time would read it as ` +
        `minutes, arrayjob writes H:MM:SS for it), at least one second`,
      "time",
    );
  }
  return total;
}

/**
 * The job name a command gets when none is given: the stem of its script (the first argument
 * that looks like a file), else of the program, made a name both schedulers accept.
 *
 * @param command The command's words.
 * @returns The name.
 *
 * @example
 * ```ts
 * import { defaultJobName } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(defaultJobName(["python3", "-u", "fit.py"]), "fit");
 * assert.equal(defaultJobName(["./2024-run"]), "job_2024-run");
 * ```
 */
export function defaultJobName(command: readonly string[]): string {
  // The script is the first argument that looks like a file; else the program itself.
  const script = command.slice(1).find((word) => !word.startsWith("-") && /[./]/.test(word)) ??
    command[0]!;
  const base = script.replace(/\/+$/, "").split("/").pop()!;
  const stem = base.includes(".") ? base.slice(0, base.lastIndexOf(".")) : base;
  const name = stem.replace(/[^A-Za-z0-9_.-]/g, "_") || "arrayjob";
  return /^[0-9]/.test(name) ? `job_${name}` : name;
}

/**
 * The job's output directory, absolute: {@linkcode ClusterScriptOptions.outputDir} (by default
 * the job name) relative to the work directory, which defaults to the current one.
 *
 * @param options The work and output directories as given.
 * @param jobName The job's name.
 * @returns The absolute path.
 *
 * @example
 * ```ts
 * import { resolveOutputDir } from "./script_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(resolveOutputDir({ workDir: "/home/me" }, "fit"), "/home/me/fit");
 * assert.equal(resolveOutputDir({ workDir: "/home/me", outputDir: "/scratch/x" }, "fit"), "/scratch/x");
 * ```
 */
export function resolveOutputDir(
  options: Pick<ClusterScriptOptions, "workDir" | "outputDir">,
  jobName: string,
): string {
  const workDir = path.resolve(options.workDir ?? Deno.cwd());
  return path.resolve(workDir, options.outputDir ?? jobName);
}

/**
 * What a notice does when no {@linkcode ClusterScriptOptions.onNotice} is given: one line on
 * stderr.
 *
 * @param message The notice.
 *
 * @example
 * ```ts
 * import { printNotice } from "./script_options.ts";
 *
 * printNotice("step raised from 1 to 2"); // stderr: arrayjob: step raised from 1 to 2
 * ```
 */
export function printNotice(message: string): void {
  console.error(`arrayjob: ${message}`);
}

/**
 * arrayjob turns a script with a list of independent tasks into a cluster array job.
 *
 * A script gathers its tasks, then lets {@linkcode runTasks} run the slice of them that the
 * command line asks for (`--tasks 0:10`, Python slice notation). The same script, called with
 * `--cluster-script`, writes a Grid Engine or Slurm array-job script in which array task k runs
 * the script again with `--tasks=START:STOP` for its chunk of the list.
 *
 * This module is what an array task loads, and it loads nothing else: parsing `--tasks`,
 * running the selection and writing the record import no other module. The rest of the API is
 * one entry per concern, as Deno std does: `@arrayjob/arrayjob/dialects` (the scheduler table),
 * `/script` (rendering), `/job` (a job's directory: writing scripts, manifest, status),
 * `/resubmit` and `/cli`. Their option and result types are re-exported here.
 *
 * @example A sweep that runs locally, in slices, or as an array job
 * ```ts ignore
 * import { product, runTasks } from "./mod.ts";
 *
 * const grid = product([0.1, 0.01, 0.001], [16, 32, 64], ["adam", "sgd"]);
 * await runTasks(grid, async ([lr, batch, optimiser], index) => {
 *   await Deno.writeTextFile(`result-${index}.json`, JSON.stringify({ lr, batch, optimiser }));
 * });
 * // deno run -A sweep.ts                      runs all 18 tasks
 * // deno run -A sweep.ts --tasks 3:5          runs tasks 3 and 4
 * // deno run -A sweep.ts --cluster-script --scheduler slurm --step 4
 * //                                           writes sweep/run.sh: an array of 5 array tasks
 * ```
 *
 * @module
 */

import type { WriteClusterScriptOptions } from "./script.ts";

export type { RenderDialect, Scheduler } from "./dialects.ts";
export type {
  ClusterScriptOptions,
  WriteClusterScriptOptions,
  WriteClusterScriptsOptions,
} from "./script.ts";
export type { JobManifest } from "./manifest.ts";
export type { JobStatus, TaskFailure } from "./status.ts";
export type { Resubmission, ResubmitOptions } from "./resubmit.ts";

// Every array task starts this file, so whatever its start-up graph holds is paid thousands of
// times (bench/RESULTS.md: one more small module costs 0.26 ms, any node: module 13 ms). A
// literal import() would put its module into that graph even when never taken, so the one module
// that --cluster-script needs is named by a computed specifier and loaded on first use.
const JOB_DIR_MODULE = "./job_dir.ts";

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * The error arrayjob throws for bad input: a malformed task spec, an out-of-range index, an
 * option value that a scheduler would refuse or that cannot be put into a shell script safely.
 * Its message is one line that names the bad value and what is allowed.
 *
 * @example Catching a bad spec
 * ```ts
 * import { ArrayJobError, parseSlice } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => parseSlice("1.5"), ArrayJobError);
 * ```
 */
export class ArrayJobError extends Error {
  /**
   * The option the error is about (`jobName`, `memory`), when it is about one: a command line
   * names its flag (`--job-name`) instead, from its own option table.
   */
  readonly option?: string;
  /** What is wrong, without the option's name: the message is `option reason` when both exist. */
  readonly reason: string;
  /**
   * The exit code a command line gives for it: 2, a usage error, unless a subclass says the
   * environment is at fault (1), as job_dir's JobDirError does for a directory it cannot use.
   */
  readonly exitCode: number = 2;

  /**
   * Creates an error with a one-line message.
   *
   * @param reason What is wrong, naming the bad value and what is allowed.
   * @param option The option it is about; the message then starts with its name.
   *
   * @example An error about an option
   * ```ts
   * import { ArrayJobError } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * const error = new ArrayJobError('"a b" has a space', "jobName");
   * assert.equal(error.message, 'jobName "a b" has a space');
   * assert.equal(error.option, "jobName");
   * ```
   */
  constructor(reason: string, option?: string) {
    super(option === undefined ? reason : `${option} ${reason}`);
    this.name = "ArrayJobError";
    this.reason = reason;
    if (option !== undefined) this.option = option;
  }
}

// ---------------------------------------------------------------------------------------------
// Task specs: Python's list[i] and list[a:b:c], and comma lists of them

/** One part of a task spec: a single index (`-1`) or a slice (`0:10:2`, `::-1`). */
export type SlicePart =
  | { readonly kind: "index"; readonly index: number }
  | {
    readonly kind: "slice";
    readonly start?: number;
    readonly stop?: number;
    readonly step?: number;
  };

/** A parsed task spec: the text it came from and its comma-separated parts, in order. */
export interface ParsedTaskSpec {
  /** The spec as written, for error messages. */
  readonly text: string;
  /** The parts; the selection is their union in order of first appearance. */
  readonly parts: readonly SlicePart[];
}

const SPEC_FORMS =
  'expected "" (all tasks), an index like 3 or -1, a slice like 0:10, 0:10:2, :5, 3:, ::-1, ' +
  "or a comma list of those like 1,5,7:9";

/**
 * Parses a task spec in Python's index and slice notation, extended with comma lists.
 *
 * - `""` (empty) selects all tasks, like `list[:]`.
 * - `"3"` selects task 3, `"-1"` the last one (an index out of range is an error on selection).
 * - `"a:b"`, `"a:b:c"` select like `list[a:b:c]`; any part may be omitted or negative.
 * - `"1,5,7:9"` selects the union of its parts, in order of first appearance.
 *
 * Surrounding white space of a part is ignored; anything else that is not an integer is an error.
 *
 * @param spec The spec, as given to `--tasks`.
 * @returns The parsed spec, to be resolved against a list length by {@linkcode selectIndices}.
 * @throws {ArrayJobError} When the spec is malformed, naming the spec and the accepted forms.
 *
 * @example Parsing slices and lists
 * ```ts
 * import { parseSlice } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseSlice("-1").parts, [{ kind: "index", index: -1 }]);
 * assert.deepEqual(parseSlice("::2").parts, [{ kind: "slice", start: undefined, stop: undefined, step: 2 }]);
 * assert.equal(parseSlice("1,5,7:9").parts.length, 3);
 * assert.throws(() => parseSlice("1:2:3:4"), /invalid task spec "1:2:3:4"/);
 * ```
 */
export function parseSlice(spec: string): ParsedTaskSpec {
  if (spec === "") return { text: spec, parts: [{ kind: "slice" }] };
  const parts: SlicePart[] = [];
  for (const rawPart of spec.split(",")) {
    const part = rawPart.trim();
    if (part === "") throw badSpec(spec, "it has an empty part");
    const fields = part.split(":");
    if (fields.length > 3) throw badSpec(spec, `${JSON.stringify(part)} has more than two colons`);
    const start = parseSpecInteger(fields[0]!, spec);
    if (fields.length === 1) {
      parts.push({ kind: "index", index: start! });
    } else {
      const stop = parseSpecInteger(fields[1]!, spec);
      const step = parseSpecInteger(fields[2] ?? "", spec);
      if (step === 0) throw badSpec(spec, "a slice step cannot be zero");
      parts.push({ kind: "slice", start, stop, step });
    }
  }
  return { text: spec, parts };
}

function parseSpecInteger(field: string, spec: string): number | undefined {
  if (field === "") return undefined;
  // /^-?[0-9]+$/ by hand: every array task parses its --tasks once, and compiling the pattern
  // made that first parse cost half again as much (bench/RESULTS.md).
  const first = field.charCodeAt(0) === 45 ? 1 : 0; // "-"
  let valid = field.length > first;
  for (let i = first; valid && i < field.length; i++) {
    const code = field.charCodeAt(i);
    valid = code >= 48 && code <= 57; // "0" to "9"
  }
  // JSON quoting: a newline or other control character in the spec stays on the error's one line.
  if (!valid) throw badSpec(spec, `${JSON.stringify(field)} is not an integer`);
  const value = Number(field);
  if (!Number.isSafeInteger(value)) {
    throw badSpec(spec, `${field} is beyond ±${Number.MAX_SAFE_INTEGER}`);
  }
  return value;
}

function badSpec(spec: string, why: string): ArrayJobError {
  return new ArrayJobError(`invalid task spec ${JSON.stringify(spec)}: ${why}; ${SPEC_FORMS}`);
}

/**
 * Resolves a task spec against a list of `count` tasks, with exactly Python's semantics of
 * `list[i]` and `list[a:b:c]`: slices clamp to the list, negative values count from the end, an
 * index outside the list is an error. A comma list selects the union of its parts in order of
 * first appearance, without duplicates.
 *
 * @param spec A spec string or the result of {@linkcode parseSlice}.
 * @param count The number of tasks in the full list.
 * @returns The selected 0-based indices, in selection order.
 * @throws {ArrayJobError} When the spec is malformed or an index is out of range.
 *
 * @example Python's semantics
 * ```ts
 * import { selectIndices } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(selectIndices("", 4), [0, 1, 2, 3]);
 * assert.deepEqual(selectIndices("-1", 4), [3]);
 * assert.deepEqual(selectIndices("::-2", 5), [4, 2, 0]);
 * assert.deepEqual(selectIndices("2:100", 4), [2, 3]);
 * assert.deepEqual(selectIndices("3,0:2,1", 5), [3, 0, 1]);
 * assert.throws(() => selectIndices("7", 4), /index 7 is out of range for 4 tasks/);
 * ```
 */
export function selectIndices(spec: string | ParsedTaskSpec, count: number): number[] {
  checkCount(count);
  const parsed = typeof spec === "string" ? parseSlice(spec) : spec;
  if (parsed.parts.length === 1) return partIndices(parsed.parts[0]!, count, parsed.text);
  const selections = parsed.parts.map((part) => partIndices(part, count, parsed.text));
  const selected = selections.reduce((sum, list) => sum + list.length, 0);
  // A bitmap of all tasks is fastest for big unions, but a short list over a product of 10^12
  // tasks must not allocate 10^12 bytes: a Set then.
  const seen = count <= 8 * selected ? new Uint8Array(count) : undefined;
  const seenSet = seen ? undefined : new Set<number>();
  const indices: number[] = [];
  for (const list of selections) {
    for (const index of list) {
      if (seen ? seen[index] === 0 : !seenSet!.has(index)) {
        if (seen) seen[index] = 1;
        else seenSet!.add(index);
        indices.push(index);
      }
    }
  }
  return indices;
}

function checkCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new ArrayJobError(`invalid task count ${count}: expected a whole number ≥ 0`);
  }
}

function partIndices(part: SlicePart, count: number, spec: string): number[] {
  const { start, stop, step } = resolvePart(part, count, spec);
  const indices: number[] = [];
  if (step > 0) { for (let i = start; i < stop; i += step) indices.push(i); }
  else for (let i = start; i > stop; i += step) indices.push(i);
  return indices;
}

// A part as the arithmetic progression it selects: from start, by step, until stop (excluded).
interface Progression {
  readonly start: number;
  readonly stop: number;
  readonly step: number;
}

function resolvePart(part: SlicePart, count: number, spec: string): Progression {
  if (part.kind === "index") {
    const index = part.index < 0 ? part.index + count : part.index;
    if (index < 0 || index >= count) {
      const allowed = count === 0 ? "the list is empty" : `allowed: ${-count} to ${count - 1}`;
      throw new ArrayJobError(
        `invalid task spec ${JSON.stringify(spec)}: index ${part.index} is out of range for ` +
          `${count} tasks (${allowed})`,
      );
    }
    return { start: index, stop: index + 1, step: 1 };
  }
  // The clamping rules of CPython's PySlice_AdjustIndices.
  const step = part.step ?? 1;
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? count - 1 : count;
  const start = clampBound(part.start, count, lower, upper) ?? (step < 0 ? upper : lower);
  const stop = clampBound(part.stop, count, lower, upper) ?? (step < 0 ? lower : upper);
  return { start, stop, step };
}

function progressionSize({ start, stop, step }: Progression): number {
  return step > 0
    ? Math.max(Math.ceil((stop - start) / step), 0)
    : Math.max(Math.ceil((start - stop) / -step), 0);
}

function inProgression(index: number, { start, stop, step }: Progression): boolean {
  return step > 0
    ? index >= start && index < stop && (index - start) % step === 0
    : index <= start && index > stop && (start - index) % -step === 0;
}

// Past this many selected tasks, runTasks walks its selection instead of listing it.
const MOST_LISTED = 1 << 20;

// What runTasks runs: the selection of selectIndices, walked lazily when it is long (a product
// of 10^9 tasks without --tasks must not become an array of 10^9 indices). `size` is exact,
// except for a long comma list, where it counts a task selected by two parts twice.
function selection(
  spec: string | ParsedTaskSpec,
  count: number,
): { size: number; indices: Iterable<number> } {
  const parsed = typeof spec === "string" ? parseSlice(spec) : spec;
  checkCount(count);
  // Every part is checked before the first task runs: a bad index is a usage error, not a
  // failure after hours of work.
  const parts = parsed.parts.map((part) => resolvePart(part, count, parsed.text));
  const size = parts.reduce((sum, part) => sum + progressionSize(part), 0);
  if (size <= MOST_LISTED) return { size, indices: selectIndices(parsed, count) };
  return { size, indices: walk(parts) };
}

function* walk(parts: readonly Progression[]): Generator<number> {
  for (let k = 0; k < parts.length; k++) {
    const { start, stop, step } = parts[k]!;
    const earlier = parts.slice(0, k);
    // A comma list is a union in order of first appearance: skip what an earlier part took.
    const fresh = (i: number) => !earlier.some((part) => inProgression(i, part));
    if (step > 0) {
      for (let i = start; i < stop; i += step) if (fresh(i)) yield i;
    } else {
      for (let i = start; i > stop; i += step) if (fresh(i)) yield i;
    }
  }
}

function clampBound(
  value: number | undefined,
  count: number,
  lower: number,
  upper: number,
): number | undefined {
  if (value === undefined) return undefined;
  return value < 0 ? Math.max(value + count, lower) : Math.min(value, upper);
}

/**
 * Writes indices as the shortest comma list of ranges that {@linkcode parseSlice} reads back:
 * runs of consecutive indices become `a:b`, single ones stay alone. Used for failed and missing
 * tasks, so that they can be passed straight to `--tasks`.
 *
 * @param indices 0-based indices in any order; duplicates are ignored.
 * @returns A spec such as `3,17:20,41`, or `""` for no indices (which `--tasks` reads as all,
 *   so check for emptiness first).
 *
 * @example Compact form
 * ```ts
 * import { formatIndices, selectIndices } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatIndices([41, 3, 17, 18, 19]), "3,17:20,41");
 * assert.deepEqual(selectIndices(formatIndices([5, 1, 2]), 10), [1, 2, 5]);
 * ```
 */
export function formatIndices(indices: Iterable<number>): string {
  return joinRanges(indices, false);
}

/**
 * Formats task indices as a comma list of `START:STOP` ranges (STOP excluded, step 1), ascending:
 * the one form of `--tasks` a command that is not a runTasks script gets, one range per run.
 *
 * @param indices The indices, in any order; duplicates are ignored.
 * @returns A spec such as `3:4,17:20,41:42`, or `""` for no indices.
 *
 * @example
 * ```ts
 * import { formatRanges } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatRanges([41, 3, 17, 18, 19]), "3:4,17:20,41:42");
 * ```
 */
export function formatRanges(indices: Iterable<number>): string {
  return joinRanges(indices, true);
}

function joinRanges(indices: Iterable<number>, alwaysRange: boolean): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(j === i && !alwaysRange ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]! + 1}`);
    i = j + 1;
  }
  return ranges.join(",");
}

// ---------------------------------------------------------------------------------------------
// Task lists: arrays, and Python's itertools.product without materialising it

/** What {@linkcode runTasks} accepts as a task list: an array or a {@linkcode product}. */
export interface TaskList<T> {
  /** The number of tasks. */
  readonly length: number;
  /** The task at a 0-based index, like `Array.prototype.at`. */
  at(index: number): T | undefined;
}

/** The cartesian product of lists, indexable without materialising it. */
export interface Product<T extends readonly unknown[]> extends TaskList<T>, Iterable<T> {
  /** The number of combinations: the product of the lists' lengths. */
  readonly length: number;
  /**
   * The combination at `index`, computed in O(number of lists); negative indices count from
   * the end, out of range gives `undefined`, like `Array.prototype.at`.
   */
  at(index: number): T | undefined;
}

/** The tuple type of one combination of {@linkcode product}'s lists. */
export type ProductItem<L extends readonly (readonly unknown[])[]> = {
  -readonly [K in keyof L]: L[K][number];
};

/**
 * Python's `itertools.product(*lists)` as a lazily indexable object: `.length`, `.at(i)` in
 * O(number of lists), and iteration in the same order as Python (the last list varies fastest).
 * A grid of 10^12 combinations costs no more memory than its lists.
 *
 * @param lists The lists to combine; each is kept by reference, not copied.
 * @returns The product. With no lists it has one empty combination, as in Python.
 * @throws {ArrayJobError} When the number of combinations exceeds `Number.MAX_SAFE_INTEGER`.
 *
 * @example A hyper-parameter grid
 * ```ts
 * import { product } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const grid = product([1, 2], ["a", "b", "c"]);
 * assert.equal(grid.length, 6);
 * assert.deepEqual(grid.at(4), [2, "b"]);
 * assert.deepEqual([...grid].slice(0, 2), [[1, "a"], [1, "b"]]);
 *
 * const huge = product(...Array.from({ length: 12 }, () => [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
 * assert.equal(huge.length, 1e12);
 * assert.deepEqual(huge.at(-1), Array(12).fill(9));
 * ```
 */
export function product<const L extends readonly (readonly unknown[])[]>(
  ...lists: L
): Product<ProductItem<L>> {
  let length = 1;
  for (const list of lists) length *= list.length;
  if (!Number.isSafeInteger(length)) {
    throw new ArrayJobError(
      `product of ${lists.length} lists has ${length} combinations: more than ` +
        `${Number.MAX_SAFE_INTEGER} cannot be indexed exactly`,
    );
  }
  const at = (index: number): ProductItem<L> | undefined => {
    let i = Math.trunc(index);
    if (i < 0) i += length;
    if (!(i >= 0 && i < length)) return undefined;
    const item = new Array(lists.length);
    for (let k = lists.length - 1; k >= 0; k--) {
      const list = lists[k]!;
      item[k] = list[i % list.length];
      i = Math.floor(i / list.length);
    }
    return item as ProductItem<L>;
  };
  return {
    length,
    at,
    *[Symbol.iterator](): Iterator<ProductItem<L>> {
      for (let i = 0; i < length; i++) yield at(i)!;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Shell words

/**
 * Quotes a word for POSIX `sh` so that it reaches the program literally: `$(...)`, backticks,
 * `;`, quotes and spaces lose their meaning. Words made only of safe characters stay bare.
 *
 * @param word Any string without NUL characters.
 * @returns The quoted word.
 * @throws {ArrayJobError} When the word contains a NUL character, which no shell can pass on.
 *
 * @example Hostile values become data
 * ```ts
 * import { shellQuote } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(shellQuote("run.py"), "run.py");
 * assert.equal(shellQuote("it's $(rm -rf ~)"), `'it'\\''s $(rm -rf ~)'`);
 * assert.equal(shellQuote(""), "''");
 * ```
 */
export function shellQuote(word: string): string {
  if (word.includes("\0")) {
    throw new ArrayJobError(`${JSON.stringify(word)} contains a NUL character: no shell passes it`);
  }
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The schedulers arrayjob renders scripts for. */

// ---------------------------------------------------------------------------------------------
// runTasks: the few added lines of a script

/** What a task function may return; its value is ignored, a rejection or throw is a failure. */
export type TaskResult = unknown;

/** Options of {@linkcode runTasks}. */
export interface RunTasksOptions {
  /**
   * The command-line arguments to parse.
   * @default {Deno.args}
   */
  args?: readonly string[];
  /**
   * Defaults for `--cluster-script`, overridden by its command-line flags. `numTasks` and
   * `command` are filled in by runTasks.
   */
  cluster?: Partial<Omit<WriteClusterScriptOptions, "numTasks" | "command">>;
  /**
   * The script that calls runTasks, whose path goes into the cluster script's command.
   * @default {Deno.mainModule}
   */
  script?: string | URL;
  /**
   * What to do with a usage error (a bad `--tasks`, an unknown flag): `"exit"` prints one line
   * on stderr and exits with code 2, `"throw"` throws the {@linkcode ArrayJobError}.
   * @default {"exit"}
   */
  onUsageError?: "exit" | "throw";
}

/** What {@linkcode runTasks} did. */
export interface RunSummary {
  /** `run` ran tasks; `list`, `help` and `cluster-script` ran none. */
  readonly mode: "run" | "list" | "help" | "cluster-script";
  /**
   * The indices of the tasks that ran, in the order they were selected, for a selection of up
   * to 2^20 tasks; empty for a larger one, whose indices runTasks walks without keeping them
   * (10^9 of them would take gigabytes): {@linkcode count} says how many ran, and its `--tasks`
   * spec says which.
   */
  readonly ran: readonly number[];
  /** How many tasks ran. */
  readonly count: number;
  /** The indices of the tasks that threw, ascending: memory grows with the failures only. */
  readonly failed: readonly number[];
  /** The paths of the written scripts, in `cluster-script` mode. */
  readonly scriptPaths?: readonly string[];
}

const OWN_FLAGS = ["--tasks", "--jobs", "--list", "--cluster-script", "--help"];
const OWN_FLAGS_TEXT = "expected --tasks SPEC, --jobs N, --list, --cluster-script or --help";

// The script's name as its user typed it: the last part of its path or URL.
function scriptName(script: string | URL): string {
  return decodeURIComponent(String(script).replace(/[?#].*$/s, "").split("/").pop() ?? "") ||
    "<script>";
}

async function runTasksHelp(count: number, script: string | URL): Promise<string> {
  const name = scriptName(script);
  const flags = await loadScriptFlags();
  const clusterFlags = flags === undefined
    ? `  Its options are those of 'arrayjob script' (--scheduler, --step, --time, ...).`
    : flags.scriptFlagsHelp("cluster-script");
  return `${name}: ${count} tasks, run here or as a cluster array job (arrayjob)

Usage: deno run [permissions] ${name} [--tasks SPEC] [--jobs N] [--list]
       deno run [permissions] ${name} --cluster-script [OPTIONS]

  --tasks SPEC       run only these tasks: 3, -1, 0:10, 0:10:2, ::-1, 1,5,7:9 (Python
                     slice notation, 0-based; default: all). A spec starting with "-"
                     is written --tasks=-3:
  --jobs N           run up to N tasks at a time, each in a Worker thread that loads
                     ${name} again (default: 1, in this thread)
  --list             print each task's index and value, run nothing
  --cluster-script   write an array-job script that runs ${name} once per chunk of
                     tasks, and print how to submit it; run nothing
  --help             show this help

Options after --cluster-script:
${clusterFlags}
`;
}

// Only --help and a mistyped option load the flag table (a computed specifier, so that it stays
// out of an array task's start-up graph); without read access the texts do without it.
const SCRIPT_FLAGS_MODULE = "./script_flags.ts";

async function loadScriptFlags(): Promise<typeof import("./script_flags.ts") | undefined> {
  try {
    return await import(SCRIPT_FLAGS_MODULE) as typeof import("./script_flags.ts");
  } catch {
    return undefined;
  }
}

async function unknownArgument(arg: string): Promise<ArrayJobError> {
  if (!arg.startsWith("-")) {
    return new ArrayJobError(`unexpected argument ${JSON.stringify(arg)}: ${OWN_FLAGS_TEXT}`);
  }
  const name = arg.replace(/=.*$/s, "");
  const flags = await loadScriptFlags();
  if (flags === undefined) {
    return new ArrayJobError(`unknown option ${JSON.stringify(name)}: ${OWN_FLAGS_TEXT}`);
  }
  const clusterFlags = flags.flagsFor("cluster-script").map(({ flag }) => `--${flag}`);
  if (clusterFlags.includes(name)) {
    return new ArrayJobError(
      `${name} needs --cluster-script: it is an option of the cluster script, written after ` +
        `it (--cluster-script ${name} ...)`,
    );
  }
  return flags.unknownOption(arg, [...OWN_FLAGS, ...clusterFlags]);
}

/**
 * Runs the tasks that the command line selects: the seed's few added lines, for a Deno script.
 *
 * - `--tasks SPEC` runs the selection ({@linkcode selectIndices}; default: all tasks).
 * - `--list` prints each task's index and value; `--help` explains; neither runs anything.
 * - `--jobs N` runs N tasks at a time.
 * - `--cluster-script [options]` writes an array-job script for this very script
 *   (`deno run <its permissions> <script> --tasks=START:STOP`) and runs nothing.
 *
 * `fn(task, index)` gets each selected task and its index in the full list. A task that throws
 * does not stop the others: its error is printed, and at the end a summary names the failed
 * indices and `Deno.exitCode` is set to 1.
 *
 * Parsing `--tasks` loads nothing; Mustache and the templates load only for `--cluster-script`.
 *
 * @param tasks The full task list: an array or a {@linkcode product}.
 * @param fn What to do with one task.
 * @param options Arguments to parse and defaults for the cluster script.
 * @returns What ran and what failed.
 *
 * @example Running a slice
 * ```ts
 * import { runTasks } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const summary = await runTasks(["a", "b", "c", "d"], (task, index) => {
 *   seen.push(`${index}:${task}`);
 * }, { args: ["--tasks", "1:3"] });
 * assert.deepEqual(seen, ["1:b", "2:c"]);
 * assert.deepEqual(summary.failed, []);
 * ```
 */
export async function runTasks<T>(
  tasks: TaskList<T>,
  fn: (task: T, index: number) => TaskResult,
  options: RunTasksOptions = {},
): Promise<RunSummary> {
  try {
    return await runTasksOrThrow(tasks, fn, options);
  } catch (error) {
    if (!(error instanceof ArrayJobError) || options.onUsageError === "throw") throw error;
    console.error(`error: ${error.message}`);
    Deno.exit(error.exitCode);
  }
}

async function runTasksOrThrow<T>(
  tasks: TaskList<T>,
  fn: (task: T, index: number) => TaskResult,
  options: RunTasksOptions,
): Promise<RunSummary> {
  if ((globalThis as { name?: unknown }).name === TASK_WORKER) return await serveTasks(tasks, fn);
  const args = [...(options.args ?? Deno.args)];
  let spec = "";
  let jobs = 1;
  let mode: RunSummary["mode"] = "run";
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith("--") && arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = args[++i];
      if (next === undefined) throw new ArrayJobError(`${flag} needs a value`);
      return next;
    };
    if (flag === "--tasks") spec = value();
    else if (flag === "--jobs") jobs = jobCount(value());
    else if (flag === "--list" && inline === undefined) mode = "list";
    else if (flag === "--help" || flag === "-h") mode = "help";
    else if (flag === "--cluster-script" && inline === undefined) {
      return await writeOwnClusterScript(tasks.length, args.slice(i + 1), options);
    } else {
      throw await unknownArgument(arg);
    }
  }
  if (mode === "help") {
    console.log(await runTasksHelp(tasks.length, options.script ?? Deno.mainModule));
    return { mode, ran: [], count: 0, failed: [] };
  }
  const selected = selection(spec, tasks.length);
  if (mode === "list") {
    await writeLines(selected.indices, (index) => `${index}\t${JSON.stringify(tasks.at(index))}`);
    return { mode, ran: [], count: 0, failed: [] };
  }

  const failed: number[] = [];
  const record = taskRecorder();
  // The indices that ran, for the summary, as long as listing them is cheap.
  const ran: number[] | undefined = selected.size <= MOST_LISTED ? [] : undefined;
  let count = 0;
  const source = selected.indices[Symbol.iterator]();
  const take = (): number | undefined => {
    const next = source.next();
    if (next.done) return undefined;
    count++;
    ran?.push(next.value);
    return next.value;
  };
  const finish = (index: number, status: number, milliseconds: number): void => {
    if (status !== 0) failed.push(index);
    record(index, status, milliseconds);
  };
  const script = options.script ?? Deno.mainModule;
  // Workers re-run the script with the same command line, so they serve only a script run as a
  // program (or one named by options.script), never a list handed in by options.args alone.
  let pending: number | undefined; // taken from the selection, not yet run
  if (
    jobs > 1 && selected.size > 1 && (options.script !== undefined || options.args === undefined)
  ) {
    const outcome = await runInWorkers(String(script), take, Math.min(jobs, selected.size), finish);
    pending = outcome.unsent;
    if (outcome.problem !== undefined) {
      pending ??= take();
      if (pending !== undefined) {
        console.error(
          `arrayjob: --jobs ${jobs}: tasks run in this thread, ${jobs} at a time when they ` +
            `wait: ${outcome.problem}`,
        );
      }
    }
  }
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = pending ?? take();
      pending = undefined;
      if (index === undefined) return;
      const { status, milliseconds } = await runOne(tasks, fn, index);
      finish(index, status, milliseconds);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(selected.size, 1)) }, worker));
  failed.sort((a, b) => a - b);
  if (failed.length > 0) {
    console.error(
      `arrayjob: ${count} tasks ran, ${failed.length} failed: ${formatIndices(failed)}` +
        ` (rerun them with --tasks=${formatIndices(failed)})`,
    );
    Deno.exitCode = 1;
  }
  return { mode, ran: ran ?? [], count, failed };
}

// Writes one line per index, 64 KiB at a time: --list of 10^9 tasks streams.
async function writeLines(indices: Iterable<number>, line: (index: number) => string) {
  const encoder = new TextEncoder();
  const flush = async (text: string) => {
    const bytes = encoder.encode(text);
    for (let n = 0; n < bytes.length;) n += await Deno.stdout.write(bytes.subarray(n));
  };
  let text = "";
  for (const index of indices) {
    text += line(index) + "\n";
    if (text.length >= 1 << 16) {
      await flush(text);
      text = "";
    }
  }
  await flush(text);
}

// One task, in this thread: a throw or rejection is the task's failure, printed with its index.
async function runOne<T>(
  tasks: TaskList<T>,
  fn: (task: T, index: number) => TaskResult,
  index: number,
): Promise<{ status: number; milliseconds: number }> {
  const started = performance.now();
  try {
    await fn(tasks.at(index) as T, index);
    return { status: 0, milliseconds: performance.now() - started };
  } catch (error) {
    console.error(`task ${index} failed: ${errorText(error)}`);
    return { status: 1, milliseconds: performance.now() - started };
  }
}

// --jobs N: N Workers, each of which loads the script again; the script's own runTasks call
// there sees this name, parses no arguments, and runs the indices it is sent one at a time.
// Workers rather than processes: they inherit the permissions and need no --allow-run, and a
// Worker starts in a fraction of a process's time.
const TASK_WORKER = "arrayjob-task-worker";

/** What a task Worker posts: it serves, its script finished loading, or a task finished. */
type WorkerMessage =
  | { kind: "ready" }
  | { kind: "loaded" }
  | { kind: "finished"; index: number; status: number; milliseconds: number };

function serveTasks<T>(
  tasks: TaskList<T>,
  fn: (task: T, index: number) => TaskResult,
): Promise<never> {
  const scope = globalThis as unknown as {
    postMessage(message: WorkerMessage): void;
    onmessage: ((event: MessageEvent<number | null>) => void) | null;
    close(): void;
  };
  scope.onmessage = async ({ data: index }) => {
    if (index === null) return scope.close();
    const { status, milliseconds } = await runOne(tasks, fn, index);
    scope.postMessage({ kind: "finished", index, status, milliseconds });
  };
  scope.postMessage({ kind: "ready" });
  // The script's code after runTasks is the main thread's to run, once.
  return new Promise<never>(() => {});
}

// Runs indices in up to `jobs` Workers, handing each the next index (from `next`) when it
// finishes one. Returns when no Worker serves any more: with the reason when none could (the
// script lacks read permission on itself, or calls runTasks only under `if (import.meta.main)`,
// which is false in a Worker), and the index taken but not sent; the rest run in this thread.
function runInWorkers(
  script: string,
  next: () => number | undefined,
  jobs: number,
  finish: (index: number, status: number, milliseconds: number) => void,
): Promise<{ problem?: string; unsent?: number }> {
  const loader = `await import(${JSON.stringify(script)});postMessage({kind:"loaded"});`;
  const source = `data:text/javascript,${encodeURIComponent(loader)}`;
  let held: number | undefined; // taken to see whether any is left, not yet sent
  const take = () => {
    const index = held ?? next();
    held = undefined;
    return index;
  };
  let live = 0;
  let problem: string | undefined;
  return new Promise((resolve) => {
    const settle = () => {
      if (live === 0) resolve(held === undefined ? { problem } : { problem, unsent: held });
    };
    const start = () => {
      const worker = new Worker(source, { type: "module", name: TASK_WORKER });
      live++;
      let ready = false;
      let current: number | undefined;
      let sent = 0;
      const stop = () => {
        worker.terminate();
        live--;
        settle();
      };
      const feed = () => {
        current = take();
        if (current !== undefined) {
          sent = performance.now();
          worker.postMessage(current);
        } else {
          worker.postMessage(null); // it closes itself
          live--;
          settle();
        }
      };
      worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
        if (data.kind === "ready") {
          ready = true;
          feed();
        } else if (data.kind === "loaded") {
          if (ready) return;
          problem ??= `${script} did not call runTasks when loaded in a Worker ` +
            `(a call under "if (import.meta.main)" is not made there)`;
          stop();
        } else {
          current = undefined;
          finish(data.index, data.status, data.milliseconds);
          feed();
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        if (!ready) {
          problem ??= `a Worker could not load ${script}: ${event.message}`;
          return stop();
        }
        if (current !== undefined) {
          console.error(`task ${current} failed: ${event.message}`);
          finish(current, 1, performance.now() - sent);
        }
        // A replacement first, so that the pool never looks finished while tasks are left.
        held = take();
        if (held !== undefined) start();
        stop();
      };
    };
    for (let i = 0; i < jobs; i++) start();
  });
}

// ---------------------------------------------------------------------------------------------
// Records: one file per array task, the one format its shell lines and runTasks' lines share

/** The environment variable through which a rendered script tells runTasks its record file. */
export const RECORD_VARIABLE = "ARRAYJOB_RECORD";

/**
 * The lines of an array task's record, by kind, with their tab-separated fields: `start` when
 * a run of the command starts (its task spec and the node's seconds since boot), `reports` when
 * the program declares, before its first task, that it reports each task (who reports), `task`
 * for each task it finishes (exit status, 0 for success, and milliseconds), `end` when the
 * command exits (its exit status and the uptime again). Rendered scripts write `start` and `end`
 * lines with `printf`, from formats made of this table; {@linkcode runTasks}, the Python helper
 * `examples/python/arrayjob_record.py` or any program write `reports` and `task` lines to the
 * file named by {@linkcode RECORD_VARIABLE}. Between a `start` and its `end`, once a `reports` or
 * `task` line is there, only tasks with their own `task` line of status 0 are done. `exit` is the
 * last line, written when the array task's script exits (its exit status): after it the file never
 * changes, since a rerun of the array task (requeued) writes a new record, `<name>.2`, `<name>.3`…
 */
export const RECORD_FIELDS = {
  start: ["spec", "uptime"],
  reports: ["by"],
  task: ["index", "status", "milliseconds"],
  end: ["exit", "uptime"],
  exit: ["status"],
} as const;

/** A kind of record line: `start`, `reports`, `task`, `end` or `exit`. */
export type RecordKind = keyof typeof RECORD_FIELDS;

/**
 * Formats one record line.
 *
 * @param kind The line's kind.
 * @param fields Its fields, in the order {@linkcode RECORD_FIELDS} lists them.
 * @returns The line, ending in a newline.
 *
 * @example
 * ```ts
 * import { parseRecordLine, recordLine } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(recordLine("task", 3, 0, 12), "task\t3\t0\t12\n");
 * assert.deepEqual(parseRecordLine("task\t3\t0\t12"), { kind: "task", fields: ["3", "0", "12"] });
 * ```
 */
export function recordLine(kind: RecordKind, ...fields: (string | number)[]): string {
  return `${kind}\t${fields.join("\t")}\n`;
}

/**
 * Reads one record line, without its newline.
 *
 * @param line The line.
 * @returns Its kind and fields, or `undefined` for a line of no known kind (a torn write).
 *
 * @example
 * ```ts
 * import { parseRecordLine } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseRecordLine("end\t1\t5.2"), { kind: "end", fields: ["1", "5.2"] });
 * assert.equal(parseRecordLine("en"), undefined);
 * ```
 */
export function parseRecordLine(line: string): { kind: RecordKind; fields: string[] } | undefined {
  const [kind, ...fields] = line.split("\t");
  return Object.hasOwn(RECORD_FIELDS, kind!) ? { kind: kind as RecordKind, fields } : undefined;
}

// Inside an array task of a rendered script, ARRAYJOB_RECORD names the array task's record file:
// one line per finished task lets `status` tell done tasks from those a killed array task left.
// The `reports` line comes first, so that a task that ends the process (Deno.exit(0) in a
// library) leaves its unreported tasks not done, whatever the exit status.
function taskRecorder(): (index: number, status: number, milliseconds: number) => void {
  const file = recordFile();
  if (!file) return () => {};
  let broken = false;
  const write = (line: string): void => {
    if (broken) return;
    try {
      Deno.writeTextFileSync(file, line, { append: true });
    } catch (error) {
      broken = true;
      console.error(`arrayjob: cannot write the record ${file}: ${(error as Error).message}`);
    }
  };
  write(recordLine("reports", "runTasks"));
  return (index, status, milliseconds) =>
    write(recordLine("task", index, status, Math.round(milliseconds)));
}

// A script run without --allow-env must neither fail nor stop at a permission prompt here. Deno
// prompts only when stdin is a terminal, so only there is the permission queried first: the
// query's first call costs 0.13 ms, at every start of every array task.
function recordFile(): string | undefined {
  if (Deno.stdin.isTerminal()) {
    const readable = Deno.permissions.querySync({ name: "env", variable: RECORD_VARIABLE });
    return readable.state === "granted" ? consume(Deno.env.get(RECORD_VARIABLE)) : undefined;
  }
  try {
    return consume(Deno.env.get(RECORD_VARIABLE));
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

// The record is this process's: a helper a task starts (which may use runTasks itself) must not
// inherit it and write its own tasks' lines into the outer task's record.
function consume(file: string | undefined): string | undefined {
  if (file !== undefined) {
    try {
      Deno.env.delete(RECORD_VARIABLE);
    } catch {
      // Without the permission to change it, the helper cannot be kept from it; the record stays.
    }
  }
  return file;
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

async function writeOwnClusterScript(
  numTasks: number,
  args: string[],
  options: RunTasksOptions,
): Promise<RunSummary> {
  const jobDir = await loadForClusterScript(
    () => import(JOB_DIR_MODULE) as Promise<typeof import("./job_dir.ts")>,
  );
  const written = await jobDir.writeProgramScripts({
    numTasks,
    args,
    defaults: options.cluster,
    program: options.script ?? Deno.mainModule,
  });
  if (written.text !== undefined) {
    await Deno.stdout.write(new TextEncoder().encode(written.text));
    return { mode: "cluster-script", ran: [], count: 0, failed: [] };
  }
  // As `arrayjob script` says it: what and how on stderr, the paths alone on stdout.
  console.error(`arrayjob: wrote ${written.paths.join(", ")} for ${numTasks} tasks`);
  for (const hint of written.hints) console.error(hint);
  console.log(written.paths.join("\n"));
  return { mode: "cluster-script", ran: [], count: 0, failed: [], scriptPaths: written.paths };
}

// A module imported by a computed specifier needs read access (import access by URL), which a
// script that only runs its tasks need not have: say so in one line instead of a stack trace.
async function loadForClusterScript<M>(load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (error) {
    const denied = /Requires (read|import) access/.exec((error as Error).message);
    if (!denied) throw error;
    throw new ArrayJobError(
      `--cluster-script loads arrayjob's rendering code, which needs ${denied[1]} access: run ` +
        `the script with --allow-${denied[1]} --allow-write (or -A)`,
    );
  }
}

// Digits only: Number() would also take "1e2", "0x10" and " 2 ".
function jobCount(text: string): number {
  const jobs = /^[1-9][0-9]{0,5}$/.test(text) ? Number(text) : 0;
  if (jobs < 1) {
    throw new ArrayJobError(
      `--jobs is ${JSON.stringify(text)}: expected a whole number from 1 to 999999, in digits`,
    );
  }
  return jobs;
}

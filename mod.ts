/**
 * arrayjob turns a script with a list of independent tasks into a cluster array job.
 *
 * A script gathers its tasks, then lets {@linkcode runTasks} run the slice of them that the
 * command line asks for (`--tasks 0:10`, Python slice notation). The same script, called with
 * `--cluster-script`, writes a Grid Engine or Slurm array-job script in which array task k runs
 * the script again with `--tasks=START:STOP` for its chunk of the list.
 *
 * An array task loads this file alone: parsing `--tasks` and running the selection import nothing.
 * Rendering (cluster_script.ts, with Mustache and the templates) and records (records.ts) load on
 * first use.
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

import type {
  ClusterScriptOptions,
  JobManifest,
  WriteClusterScriptOptions,
  WriteClusterScriptsOptions,
} from "./cluster_script.ts";
import type { JobStatus, Resubmission, ResubmitOptions, TaskFailure } from "./records.ts";

// Every array task starts this file, so whatever sits in its start-up graph is paid thousands of
// times. Measured in-process (medians of 25 runs): one more statically imported small module cost
// 0.26 ms, and moving the rendering and records code out of this file cut its import from 0.57 to
// 0.34 ms. A literal import() also puts its module into that graph even when never taken: with
// npm:mustache and node:path in it a task cost 1.16x a bare `deno run` (CPU, 61 alternated runs)
// against 1.11x without, and an empty DENO_DIR downloaded mustache (118 ms against 40 ms). So what
// only rendering, status and --cluster-script need is named here and loaded on first use.
const LAZY = {
  clusterScripts: "./cluster_script.ts",
  records: "./records.ts",
  clusterArgs: "./cluster_args.ts",
} as const;

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
   * Creates an error with a one-line message.
   *
   * @param message What is wrong, naming the bad value and what is allowed.
   */
  constructor(message: string) {
    super(message);
    this.name = "ArrayJobError";
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
export interface TaskSpec {
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
export function parseSlice(spec: string): TaskSpec {
  if (spec === "") return { text: spec, parts: [{ kind: "slice" }] };
  const parts: SlicePart[] = [];
  for (const rawPart of spec.split(",")) {
    const part = rawPart.trim();
    if (part === "") throw badSpec(spec, "it has an empty part");
    const fields = part.split(":");
    if (fields.length > 3) throw badSpec(spec, `"${part}" has more than two colons`);
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
  // /^-?[0-9]+$/ by hand: every array task parses its --tasks once, and the pattern's compilation
  // made that first parse cost 0.22 ms instead of 0.14 ms (in-process, medians of 8 runs).
  const first = field.charCodeAt(0) === 45 ? 1 : 0; // "-"
  let valid = field.length > first;
  for (let i = first; valid && i < field.length; i++) {
    const code = field.charCodeAt(i);
    valid = code >= 48 && code <= 57; // "0" to "9"
  }
  if (!valid) throw badSpec(spec, `"${field}" is not an integer`);
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
export function selectIndices(spec: string | TaskSpec, count: number): number[] {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new ArrayJobError(`invalid task count ${count}: expected a whole number ≥ 0`);
  }
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

function partIndices(part: SlicePart, count: number, spec: string): number[] {
  if (part.kind === "index") {
    const index = part.index < 0 ? part.index + count : part.index;
    if (index < 0 || index >= count) {
      const allowed = count === 0 ? "the list is empty" : `allowed: ${-count} to ${count - 1}`;
      throw new ArrayJobError(
        `invalid task spec ${JSON.stringify(spec)}: index ${part.index} is out of range for ` +
          `${count} tasks (${allowed})`,
      );
    }
    return [index];
  }
  // The clamping rules of CPython's PySlice_AdjustIndices.
  const step = part.step ?? 1;
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? count - 1 : count;
  const start = clampBound(part.start, count, lower, upper) ?? (step < 0 ? upper : lower);
  const stop = clampBound(part.stop, count, lower, upper) ?? (step < 0 ? lower : upper);
  const indices: number[] = [];
  if (step > 0) { for (let i = start; i < stop; i += step) indices.push(i); }
  else for (let i = start; i > stop; i += step) indices.push(i);
  return indices;
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
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(j === i ? `${sorted[i]}` : `${sorted[i]}:${sorted[j]! + 1}`);
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
// Schedulers and shell words

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
export type Scheduler = "sge" | "slurm";

/** The schedulers arrayjob renders scripts for, in the order `--help` lists them. */
export const SCHEDULERS: readonly Scheduler[] = ["sge", "slurm"];

// ---------------------------------------------------------------------------------------------
// Cluster scripts: documented here, implemented in cluster_script.ts, which loads on first use

export type {
  ClusterScriptOptions,
  JobManifest,
  WriteClusterScriptOptions,
  WriteClusterScriptsOptions,
};

/**
 * Renders a Mustache template with strict missing tags, like pystache's
 * `Renderer(missing_tags="strict")`: a variable tag whose value is absent (`undefined` or
 * `null`) is an error naming the tag, while a section (`{{#x}}…{{/x}}`) whose value is absent is
 * simply left out. Values are inserted as they are, without HTML escaping: the templates are
 * shell scripts, and {@linkcode clusterScript} quotes every value before it gets here.
 *
 * @param template The Mustache template text.
 * @param values The view: tag names to values.
 * @returns The rendered text.
 * @throws {ArrayJobError} When a variable tag has no value, or the template does not parse.
 *
 * @example Strict tags, optional sections
 * ```ts
 * import { renderScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const template = "#$ -N {{job_name}}\n{{#queue}}#$ -q {{.}}\n{{/queue}}";
 * assert.equal(await renderScript(template, { job_name: "fit" }), "#$ -N fit\n");
 * await assert.rejects(() => renderScript(template, {}), /no value for tag \{\{job_name\}\}/);
 * ```
 */
export async function renderScript(
  template: string,
  values: Record<string, unknown>,
): Promise<string> {
  return (await clusterScripts()).renderScript(template, values);
}

/**
 * Loads a built-in template, to print, copy and edit. Its view values are: `job_name`,
 * `num_tasks`, `step`, `num_array_tasks`, `last_array_index`, `cpus`, `log_path`, `command`
 * (always present); `wait`, `pe` (`name`, `slots`), `memory`, `memory_per_cpu`, `time`,
 * `throttle`, `queue`, `extra` (a list), `work_dir` (sections: present only when set). Every
 * value is already quoted for where the built-in templates put it.
 *
 * @param scheduler Which scheduler's template.
 * @returns The template text.
 *
 * @example The Grid Engine template keeps the seed's shape
 * ```ts
 * import { builtinTemplate } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const text = await builtinTemplate("sge");
 * assert.match(text, /START_TASK=\$\(\(\(SGE_TASK_ID - 1\) \* STEP_SIZE\)\)/);
 * ```
 */
export async function builtinTemplate(scheduler: Scheduler): Promise<string> {
  return (await clusterScripts()).builtinTemplate(scheduler);
}

/**
 * Renders the array-job script for `options`, without writing anything: the exact text that
 * {@linkcode writeClusterScript} would write. Every option is validated first, and every value is
 * made safe for where it lands: values in directive lines must be one line the scheduler
 * accepts, and the command's words are shell-quoted, so that `$(...)`, backticks, `;`, quotes
 * and spaces reach the program literally.
 *
 * @param options What to run and with which resources.
 * @returns The script text.
 * @throws {ArrayJobError} When an option is invalid, naming the value and what is allowed.
 *
 * @example A Slurm array of 4 array tasks, 3 tasks each
 * ```ts
 * import { clusterScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const text = await clusterScript({
 *   scheduler: "slurm",
 *   numTasks: 10,
 *   step: 3,
 *   command: ["python3", "fit.py"],
 *   time: 3600,
 *   throttle: 2,
 * });
 * assert.match(text, /^#SBATCH --job-name=fit$/m);
 * assert.match(text, /^#SBATCH --array=0-3%2$/m);
 * assert.match(text, /^#SBATCH --time=1:00:00$/m);
 * assert.match(text, /^TASKS=\$\{START_TASK\}:\$\{STOP_TASK\}$/m);
 * assert.match(text, /python3 fit.py --tasks="\$TASKS"$/m);
 * ```
 */
export async function clusterScript(options: WriteClusterScriptOptions): Promise<string> {
  return (await clusterScripts()).clusterScript(options);
}

/**
 * Renders the array-job script and writes it: creates the output directory (real Grid Engine
 * leaves a task in error state, and `qsub -sync y` hangs, when the log directory is missing),
 * writes the script atomically (a temporary file renamed into place, so a failure leaves no
 * half-written script), and makes it executable (mode 0755). Beside it go the job's manifest
 * (`arrayjob.json`, which {@linkcode jobStatus} and {@linkcode writeResubmitScript} read), the
 * `records/` directory and, with {@linkcode ClusterScriptOptions.chunks}, the chunk map.
 *
 * @param options What to run, with which resources, and where to write.
 * @returns The absolute path of the written script.
 * @throws {ArrayJobError} When an option is invalid, or the output directory holds the records
 *   of a different job; nothing is written then.
 *
 * @example Writing and inspecting a script
 * ```ts
 * import { writeClusterScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const path = await writeClusterScript({ numTasks: 14, command: ["python3", "do_something.py"], outputDir: dir });
 * assert.equal(path, `${dir}/run.sh`);
 * assert.match(await Deno.readTextFile(path), /^#\$ -t 1-14$/m);
 * assert.equal((await Deno.stat(path)).mode! & 0o777, 0o755);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeClusterScript(options: WriteClusterScriptOptions): Promise<string> {
  return (await clusterScripts()).writeClusterScript(options);
}

/**
 * Like {@linkcode writeClusterScript}, but with `split` an array larger than the scheduler's
 * limit becomes several scripts, each covering its own consecutive range of tasks. Submit them
 * all; {@linkcode jobStatus} sees them as one job.
 *
 * @param options What to run, with which resources, where to write, and whether to split.
 * @returns The absolute paths of the written scripts, in task order.
 * @throws {ArrayJobError} When an option is invalid; nothing is written then.
 *
 * @example 2500 tasks on Slurm, whose arrays stop at index 1000
 * ```ts
 * import { writeClusterScripts } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const paths = await writeClusterScripts({
 *   scheduler: "slurm", numTasks: 2500, command: ["./fit"], outputDir: dir, split: true,
 * });
 * assert.deepEqual(paths, [`${dir}/run-1.sh`, `${dir}/run-2.sh`, `${dir}/run-3.sh`]);
 * assert.match(await Deno.readTextFile(paths[2]!), /^#SBATCH --array=0-497$/m);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeClusterScripts(options: WriteClusterScriptsOptions): Promise<string[]> {
  return (await clusterScripts()).writeClusterScripts(options);
}

/**
 * The command that submits a written script, as words: `qsub -sync y run.sh`,
 * `sbatch --wait run.sh`.
 *
 * @param scheduler The script's scheduler.
 * @param scriptPath The script's path.
 * @param wait Whether the command should block until the job has finished.
 * @returns The command's words.
 *
 * @example
 * ```ts
 * import { submitCommand } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(await submitCommand("slurm", "out/run.sh", true), ["sbatch", "--wait", "out/run.sh"]);
 * ```
 */
export async function submitCommand(
  scheduler: Scheduler,
  scriptPath: string,
  wait = false,
): Promise<string[]> {
  return (await clusterScripts()).submitCommand(scheduler, scriptPath, wait);
}

// ---------------------------------------------------------------------------------------------
// Records, status and resubmission: documented here, implemented in records.ts (the manifest,
// which the scripts are written with, in cluster_script.ts)

export type { JobStatus, Resubmission, ResubmitOptions, TaskFailure };

/**
 * Reads the manifest that {@linkcode writeClusterScript} left in an output directory.
 *
 * @param outputDir The job's output directory.
 * @returns The manifest.
 * @throws {ArrayJobError} When there is none, naming the directory.
 *
 * @example
 * ```ts
 * import { readManifest, writeClusterScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 5, command: ["./fit"], outputDir: dir });
 * assert.equal((await readManifest(dir)).numTasks, 5);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifest(outputDir: string): Promise<JobManifest> {
  return (await clusterScripts()).readManifest(outputDir);
}

/**
 * Reads every record in `<outputDir>/records/` and tells which tasks are done, failed, or never
 * finished, over all runs of the job (the first submission and every resubmission). A task is
 * done once any run succeeded; an array task that was killed before it wrote its end leaves its
 * unfinished tasks as never finished, never as done.
 *
 * A record is one file per array task, `<job id>.<array task id>`, of tab-separated lines:
 * `start SPEC UPTIME` when the array task starts, `task INDEX STATUS MILLISECONDS` for each task
 * {@linkcode runTasks} finishes, and `end EXIT UPTIME` when the command exits (UPTIME is the
 * node's seconds since boot, so end minus start is the array task's duration). Without `task`
 * lines (a program that does not use runTasks), the command's exit status counts for every task
 * of its spec.
 *
 * @param outputDir The job's output directory.
 * @returns The status of every task.
 * @throws {ArrayJobError} When the directory has no manifest.
 *
 * @example
 * ```ts
 * import { jobStatus, writeClusterScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 6, step: 2, command: ["./fit"], outputDir: dir });
 * await Deno.writeTextFile(`${dir}/records/7.1`, "start\t0:2\t1\nend\t0\t2\n");
 * await Deno.writeTextFile(`${dir}/records/7.2`, "start\t2:4\t1\ntask\t2\t0\t5\ntask\t3\t1\t5\nend\t1\t2\n");
 * await Deno.writeTextFile(`${dir}/records/7.3`, "start\t4:6\t1\n");
 * const status = await jobStatus(dir);
 * assert.deepEqual(status.done, [0, 1, 2]);
 * assert.deepEqual(status.failed, [3]);
 * assert.deepEqual(status.neverFinished, [4, 5]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function jobStatus(outputDir: string): Promise<JobStatus> {
  return (await records()).jobStatus(outputDir);
}

/**
 * Writes a script that runs exactly the tasks that are not done (or only the failed, or only
 * the missing ones) of a job, with changed resources if asked. The tasks are grouped into
 * chunks of `step` and listed in a chunk map file whose line k holds the `--tasks` spec for
 * array task k, which every scheduler can run (Grid Engine's `-t` takes only one range). The
 * resubmitted run writes its records beside the first run's, so {@linkcode jobStatus} shows the
 * union.
 *
 * @param outputDir The job's output directory.
 * @param options Which tasks, and what changes.
 * @returns The script's path (`resubmit-1.sh`, `resubmit-2.sh`, …) and what it runs.
 * @throws {ArrayJobError} When the directory has no manifest or an override is invalid.
 *
 * @example
 * ```ts
 * import { writeClusterScript, writeResubmitScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir, time: 60 });
 * await Deno.writeTextFile(`${dir}/records/9.1`, "start\t0:2\t1\ntask\t0\t0\t3\ntask\t1\t1\t3\nend\t1\t1\n");
 * const again = await writeResubmitScript(dir, { overrides: { time: 600 } });
 * assert.deepEqual(again.indices, [1, 2, 3]);
 * assert.equal(await Deno.readTextFile(`${dir}/resubmit-1.chunks`), "1\n2\n3\n");
 * assert.match(await Deno.readTextFile(again.path!), /h_rt=0:10:00/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeResubmitScript(
  outputDir: string,
  options: ResubmitOptions = {},
): Promise<Resubmission> {
  return (await records()).writeResubmitScript(outputDir, options);
}

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
  /** The indices of the tasks that ran, in the order they were selected. */
  readonly ran: readonly number[];
  /** The indices of the tasks that threw, ascending. */
  readonly failed: readonly number[];
  /** The paths of the written scripts, in `cluster-script` mode. */
  readonly scriptPaths?: readonly string[];
}

const RUN_TASKS_USAGE =
  `Usage: <script> [--tasks SPEC] [--jobs N] [--list] [--cluster-script [OPTIONS]]

  --tasks SPEC       run only these tasks: 3, -1, 0:10, 0:10:2, ::-1, 1,5,7:9 (Python
                     slice notation, 0-based; default: all). A spec starting with "-"
                     is written --tasks=-3:
  --jobs N           run N tasks at a time (helps when tasks wait on I/O or subprocesses)
  --list             print each task's index and value, run nothing
  --cluster-script   write an array-job script that runs this script once per chunk, and
                     print how to submit it; run nothing. Its options are those of
                     'arrayjob script' (--scheduler, --step, --cpus, --memory, --time,
                     --queue, --job-name, --output-dir, --wait, --throttle, --out, ...)
  --help             show this help
`;

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
    Deno.exit(2);
  }
}

async function runTasksOrThrow<T>(
  tasks: TaskList<T>,
  fn: (task: T, index: number) => TaskResult,
  options: RunTasksOptions,
): Promise<RunSummary> {
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
      throw new ArrayJobError(
        `unknown argument ${JSON.stringify(arg)}: expected --tasks SPEC, --jobs N, --list, ` +
          `--cluster-script or --help`,
      );
    }
  }
  if (mode === "help") {
    console.log(RUN_TASKS_USAGE);
    return { mode, ran: [], failed: [] };
  }
  const indices = selectIndices(spec, tasks.length);
  if (mode === "list") {
    const lines = indices.map((index) => `${index}\t${JSON.stringify(tasks.at(index))}`);
    console.log(lines.join("\n"));
    return { mode, ran: [], failed: [] };
  }

  const failed: number[] = [];
  const record = taskRecorder();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < indices.length) {
      const index = indices[next++]!;
      const started = performance.now();
      try {
        await fn(tasks.at(index) as T, index);
        record(index, 0, performance.now() - started);
      } catch (error) {
        failed.push(index);
        record(index, 1, performance.now() - started);
        console.error(`task ${index} failed: ${errorText(error)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, indices.length) }, worker));
  failed.sort((a, b) => a - b);
  if (failed.length > 0) {
    console.error(
      `arrayjob: ${indices.length} tasks ran, ${failed.length} failed: ${formatIndices(failed)}` +
        ` (rerun them with --tasks=${formatIndices(failed)})`,
    );
    Deno.exitCode = 1;
  }
  return { mode, ran: indices, failed };
}

// Inside an array task of a rendered script, ARRAYJOB_RECORD names the array task's record file:
// one line per finished task lets `status` tell done tasks from those a killed array task left.
function taskRecorder(): (index: number, status: number, milliseconds: number) => void {
  const file = recordFile();
  if (!file) return () => {};
  let broken = false;
  return (index, status, milliseconds) => {
    if (broken) return;
    try {
      const line = `task\t${index}\t${status}\t${Math.round(milliseconds)}\n`;
      Deno.writeTextFileSync(file, line, { append: true });
    } catch (error) {
      broken = true;
      console.error(`arrayjob: cannot write the record ${file}: ${(error as Error).message}`);
    }
  };
}

const RECORD_VARIABLE = "ARRAYJOB_RECORD";

// A script run without --allow-env must neither fail nor stop at a permission prompt here. Deno
// prompts only when stdin is a terminal, so only there is the permission queried first: the
// query's first call costs 0.13 ms, at every start of every array task.
function recordFile(): string | undefined {
  if (Deno.stdin.isTerminal()) {
    const readable = Deno.permissions.querySync({ name: "env", variable: RECORD_VARIABLE });
    return readable.state === "granted" ? Deno.env.get(RECORD_VARIABLE) : undefined;
  }
  try {
    return Deno.env.get(RECORD_VARIABLE);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

async function writeOwnClusterScript(
  numTasks: number,
  args: string[],
  options: RunTasksOptions,
): Promise<RunSummary> {
  const flags = await loadForClusterScript(
    () => import(LAZY.clusterArgs) as Promise<typeof import("./cluster_args.ts")>,
  );
  try {
    const parsed = flags.parseClusterArgs(args);
    const rendering = await loadForClusterScript(clusterScripts);
    return await rendering.ownClusterScript(numTasks, parsed, options);
  } catch (error) {
    // Name what the user typed: --job-name, not jobName.
    throw error instanceof ArrayJobError ? flags.inFlagTerms(error) : error;
  }
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

function jobCount(text: string): number {
  const jobs = Number(text);
  if (!Number.isSafeInteger(jobs) || jobs < 1) {
    throw new ArrayJobError(`--jobs is ${JSON.stringify(text)}: expected a whole number ≥ 1`);
  }
  return jobs;
}

function clusterScripts(): Promise<typeof import("./cluster_script.ts")> {
  return import(LAZY.clusterScripts);
}

function records(): Promise<typeof import("./records.ts")> {
  return import(LAZY.records);
}

/**
 * arrayjob turns a script with a list of independent tasks into a cluster array job.
 *
 * A script gathers its tasks, then lets {@linkcode runTasks} run the slice of them that the
 * command line asks for (`--tasks 0:10`, Python slice notation). The same script, called with
 * `--cluster-script`, writes a Grid Engine or Slurm array-job script in which array task k runs
 * the script again with `--tasks=START:STOP` for its chunk of the list.
 *
 * The per-task path (parsing `--tasks` and running the selection) imports nothing: Mustache,
 * templates and `node:` modules load only when a script is rendered.
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

// Literal specifiers in import() put a module into the graph Deno loads at start-up even when the
// import is never taken. Measured (CPU time, 61 alternated runs): with npm:mustache and node:path
// in that graph every array task cost 1.16x a bare `deno run`, without them 1.11x; with an empty
// DENO_DIR each also downloaded mustache (118 ms against 40 ms). So what only rendering needs is
// named here and loaded on first use.
const LAZY = {
  mustache: "./_mustache.ts",
  path: "node:path",
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
// Rendering: Mustache with strict missing tags

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
  const writer = await strictWriter();
  try {
    return writer.render(template, values, undefined, { escape: String });
  } catch (error) {
    if (error instanceof ArrayJobError) throw error;
    throw new ArrayJobError(`template does not parse: ${(error as Error).message}`);
  }
}

let writerOnce: Promise<MustacheWriter> | undefined;

type MustacheWriter = InstanceType<typeof import("./_mustache.ts").default.Writer>;

// One Writer for the process: it caches parsed templates (10^4 renders: 0.81 s with a Writer each,
// 0.13 s with one, measured by bench/render_bench.ts).
function strictWriter(): Promise<MustacheWriter> {
  writerOnce ??= (async () => {
    const { default: Mustache } = await import(LAZY.mustache) as typeof import("./_mustache.ts");
    const writer = new Mustache.Writer();
    const strict = (token: string[], context: { lookup(name: string): unknown }): string => {
      const value = context.lookup(token[1]!);
      if (value === undefined || value === null) {
        throw new ArrayJobError(
          `template has no value for tag {{${token[1]}}}; give it a value or wrap it in a ` +
            `section {{#${token[1]}}}…{{/${token[1]}}} to make it optional`,
        );
      }
      return String(value);
    };
    // mustache.js has no strict mode; its Writer looks every variable tag up through these two.
    Object.assign(writer, { escapedValue: strict, unescapedValue: strict });
    return writer;
  })();
  return writerOnce;
}

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

// ---------------------------------------------------------------------------------------------
// Cluster scripts

/** The schedulers arrayjob renders scripts for. */
export type Scheduler = "sge" | "slurm";

/** The schedulers arrayjob renders scripts for, in the order `--help` lists them. */
export const SCHEDULERS: readonly Scheduler[] = ["sge", "slurm"];

/** Options of {@linkcode clusterScript} and {@linkcode writeClusterScript}. */
export interface ClusterScriptOptions {
  /**
   * Which scheduler's script to render.
   * @default {"sge"}
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
   * A Mustache template to use instead of the built-in one (see {@linkcode builtinTemplate} for
   * the values it can use).
   */
  template?: string;
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
   * Called with each notice about the script, such as a step raised to fit the array-size
   * limit. The notice is also written into the script as a comment.
   * @default {a line on stderr}
   */
  onNotice?: (message: string) => void;
}

/** What a scheduler's dialect decides; the rest of arrayjob never branches on a scheduler. */
interface Dialect {
  /** The index of the first array task. */
  readonly firstArrayIndex: number;
  /** The scheduler's default limit on the number of array tasks. */
  readonly maxArraySize: number;
  /** How the log file of one array task is named; the output directory is prefixed. */
  readonly logName: string;
  /** What a job name may not contain, per the scheduler's manual. */
  readonly badJobName: RegExp;
  formatTime(seconds: number): string;
  /** The template values that request memory, from sizes in MiB. */
  memory(
    mebibytes: { total?: number; perCpu?: number },
    cpus: number,
    resource: string,
  ): Record<string, string>;
  submitCommand(scriptPath: string, wait: boolean): string[];
}

const SGE: Dialect = {
  firstArrayIndex: 1,
  maxArraySize: 75000, // sge_conf(5) max_aj_tasks
  logName: "$JOB_NAME.o$JOB_ID.$TASK_ID",
  // sge_types(1): a name may not contain "\n \t \r / : @ \ * ?" nor start with a digit.
  badJobName: /[\s/:@\\*?]|^[0-9]/,
  formatTime: (seconds) => hms(seconds),
  memory({ total, perCpu }, cpus, resource) {
    // Grid Engine's memory complexes count per slot, so a task's total is split over its slots.
    const perSlot = perCpu ?? Math.ceil(total! / cpus);
    return { memory: `${resource}=${formatMebibytes(perSlot)}` };
  },
  submitCommand: (path, wait) => wait ? ["qsub", "-sync", "y", path] : ["qsub", path],
};

const SLURM: Dialect = {
  firstArrayIndex: 0,
  maxArraySize: 1001, // slurm.conf(5) MaxArraySize: indices 0 to 1000
  logName: "%x.o%A.%a",
  // Slurm takes almost any name; these would break its own filename patterns or our directives.
  badJobName: /[\s%\\"']/,
  formatTime(seconds) {
    // Slurm counts whole minutes; D-HH:MM:SS keeps long limits readable.
    const days = Math.floor(seconds / 86400);
    return days > 0 ? `${days}-${hms(seconds % 86400).padStart(8, "0")}` : hms(seconds);
  },
  memory({ total, perCpu }): Record<string, string> {
    if (total !== undefined) return { memory: formatMebibytes(total) };
    return { memory_per_cpu: formatMebibytes(perCpu!) };
  },
  submitCommand: (path, wait) => wait ? ["sbatch", "--wait", path] : ["sbatch", path],
};

const DIALECTS: Record<Scheduler, Dialect> = { sge: SGE, slurm: SLURM };

function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function formatMebibytes(mebibytes: number): string {
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024}G` : `${mebibytes}M`;
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
  checkScheduler(scheduler);
  // Literal specifiers, so that Deno bundles and fetches them when the module runs by URL.
  const loaded = scheduler === "sge"
    ? await import("./templates/sge.mustache", { with: { type: "text" } })
    : await import("./templates/slurm.mustache", { with: { type: "text" } });
  return loaded.default;
}

function checkScheduler(scheduler: string): asserts scheduler is Scheduler {
  if (!(SCHEDULERS as readonly string[]).includes(scheduler)) {
    throw new ArrayJobError(
      `unknown scheduler ${JSON.stringify(scheduler)}: expected ${SCHEDULERS.join(" or ")}`,
    );
  }
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
  const [script] = await plan(options, false);
  return await renderScript(script!.template, script!.view);
}

/** Options of {@linkcode writeClusterScript}: those of {@linkcode clusterScript}, and where. */
export interface WriteClusterScriptOptions extends ClusterScriptOptions {
  /**
   * Where to write the script.
   * @default {"<outputDir>/run.sh"}
   */
  out?: string;
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
  const [path] = await writeScripts(await plan(options, false));
  return path!;
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
  return await writeScripts(await plan(options, options.split === true));
}

/** What is recorded about a job in `<outputDir>/arrayjob.json`. */
export interface JobManifest {
  /** The manifest format. */
  readonly version: 1;
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** The options the job was rendered with, paths made absolute; resubmissions start from them. */
  readonly options: Omit<ClusterScriptOptions, "chunks" | "onNotice">;
}

const MANIFEST = "arrayjob.json";
const RECORDS = "records";

interface ScriptPlan {
  view: Record<string, unknown>;
  template: string;
  scriptPath: string;
  outputDir: string;
  chunkMap?: { path: string; text: string };
  manifest: JobManifest;
}

async function writeScripts(plans: ScriptPlan[]): Promise<string[]> {
  const path = await import(LAZY.path) as typeof import("node:path");
  const texts = await Promise.all(plans.map((p) => renderScript(p.template, p.view)));
  const { outputDir, manifest } = plans[0]!;
  const existing = await readManifest(outputDir).catch(() => undefined);
  if (
    existing !== undefined && (existing.numTasks !== manifest.numTasks ||
      JSON.stringify(existing.options.command) !== JSON.stringify(manifest.options.command))
  ) {
    throw new ArrayJobError(
      `${outputDir} holds the records of another job (${existing.numTasks} tasks of ` +
        `${JSON.stringify(existing.options.command)}): choose another output directory, or ` +
        `delete ${path.join(outputDir, MANIFEST)} and ${path.join(outputDir, RECORDS)}`,
    );
  }
  await Deno.mkdir(path.join(outputDir, RECORDS), { recursive: true });
  // A resubmission (explicit chunks) belongs to the job the manifest describes: keep it.
  if (existing === undefined || plans[0]!.chunkMap === undefined) {
    await writeFileAtomic(path.join(outputDir, MANIFEST), JSON.stringify(manifest, null, 2) + "\n");
  }
  for (const [i, p] of plans.entries()) {
    await Deno.mkdir(path.dirname(p.scriptPath), { recursive: true });
    if (p.chunkMap) await writeFileAtomic(p.chunkMap.path, p.chunkMap.text);
    await writeFileAtomic(p.scriptPath, texts[i]!, 0o755);
  }
  return plans.map((p) => p.scriptPath);
}

/**
 * Writes a file so that readers see the old content or the new, never a part: the text goes to
 * a temporary file in the same directory, which is then renamed over the target.
 */
async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(temporary, text, { mode, createNew: true });
    await Deno.chmod(temporary, mode); // the umask may have narrowed it
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
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
 * assert.deepEqual(submitCommand("slurm", "out/run.sh", true), ["sbatch", "--wait", "out/run.sh"]);
 * ```
 */
export function submitCommand(scheduler: Scheduler, scriptPath: string, wait = false): string[] {
  checkScheduler(scheduler);
  return DIALECTS[scheduler].submitCommand(scriptPath, wait);
}

/**
 * Validates the options and decides the scripts: one, or with `split` one per range of tasks
 * that fits the array-size limit. Nothing is written here.
 */
async function plan(options: WriteClusterScriptOptions, split: boolean): Promise<ScriptPlan[]> {
  const scheduler = options.scheduler ?? "sge";
  checkScheduler(scheduler);
  const dialect = DIALECTS[scheduler];
  const path = await import(LAZY.path) as typeof import("node:path");
  const notices: string[] = [];

  const numTasks = wholeNumber("numTasks", options.numTasks, 1);
  const cpus = wholeNumber("cpus", options.cpus ?? 1, 1);
  const maxArraySize = wholeNumber(
    "maxArraySize",
    options.maxArraySize ?? dialect.maxArraySize,
    1,
  );
  let step = wholeNumber("step", options.step ?? 1, 1);
  const chunks = options.chunks;
  if (chunks !== undefined) {
    if (options.step !== undefined) throw new ArrayJobError("give step or chunks, not both");
    if (chunks.length === 0) throw new ArrayJobError("chunks is empty: nothing would run");
    if (chunks.length > maxArraySize) {
      throw new ArrayJobError(
        `${chunks.length} chunks exceed the array-size limit of ${maxArraySize}: put more tasks ` +
          `in each chunk`,
      );
    }
    for (const chunk of chunks) {
      if (chunk === "" || selectIndices(chunk, numTasks).length === 0) {
        throw new ArrayJobError(
          `chunk ${JSON.stringify(chunk)} selects no task of ${numTasks}; each chunk is a ` +
            `non-empty task spec like 3 or 17:20`,
        );
      }
    }
  } else if (Math.ceil(numTasks / step) > maxArraySize && !split) {
    const raised = Math.ceil(numTasks / maxArraySize);
    notices.push(
      `step raised from ${step} to ${raised}: ${Math.ceil(numTasks / step)} array tasks ` +
        `exceed ${scheduler}'s array-size limit of ${maxArraySize} (maxArraySize)`,
    );
    step = raised;
  }
  const throttle = options.throttle === undefined
    ? undefined
    : wholeNumber("throttle", options.throttle, 1);
  const command = options.command;
  if (!Array.isArray(command) || command.length === 0 || command[0] === "") {
    throw new ArrayJobError(
      `command is ${JSON.stringify(command)}: expected the program and its arguments as ` +
        `separate words, like ["python3", "fit.py"]`,
    );
  }
  const quotedCommand = command.map(shellQuote).join(" ");

  const jobName = options.jobName ?? defaultJobName(command);
  directiveWord("jobName", jobName);
  if (dialect.badJobName.test(jobName)) {
    throw new ArrayJobError(
      `jobName ${JSON.stringify(jobName)} is refused by ${scheduler}: use letters, digits, ` +
        `"_", "-" and "." (and do not start with a digit on Grid Engine)`,
    );
  }

  const workDir = options.workDir === null
    ? undefined
    : path.resolve(options.workDir ?? Deno.cwd());
  const outputDir = await resolveOutputDir(options, jobName);
  directivePath("outputDir", outputDir);
  const scriptPath = path.resolve(options.out ?? path.join(outputDir, "run.sh"));

  if (options.memory !== undefined && options.memoryPerCpu !== undefined) {
    throw new ArrayJobError("give memory or memoryPerCpu, not both");
  }
  const memoryResource = options.memoryResource ?? "mem_free";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(memoryResource)) {
    throw new ArrayJobError(
      `memoryResource ${JSON.stringify(memoryResource)} is not a complex name like mem_free, ` +
        `h_vmem or m_mem_free`,
    );
  }
  const memory = options.memory === undefined && options.memoryPerCpu === undefined
    ? {}
    : dialect.memory(
      {
        total: options.memory === undefined ? undefined : mebibytes("memory", options.memory),
        perCpu: options.memoryPerCpu === undefined
          ? undefined
          : mebibytes("memoryPerCpu", options.memoryPerCpu),
      },
      cpus,
      memoryResource,
    );

  const perSlot = (memory as { memory?: string }).memory;
  if (
    memoryResource === "h_vmem" && scheduler === "sge" && perSlot !== undefined &&
    /(^|\/)deno$/.test(command[0]!) && mebibytes("memory", perSlot.split("=")[1]!) < 36 * 1024
  ) {
    notices.push(
      `h_vmem=${perSlot.split("=")[1]} will kill Deno: V8 reserves about 32 GiB of virtual ` +
        `memory at start-up (Deno 2.9 aborts under h_vmem up to 32G); use mem_free, or 36G or more`,
    );
  }

  const pe = options.pe ?? "smp";
  if (!/^[A-Za-z0-9_.-]+$/.test(pe)) {
    throw new ArrayJobError(`pe ${JSON.stringify(pe)} is not a parallel environment name`);
  }
  if (options.queue !== undefined && !/^[A-Za-z0-9_.@*,-]+$/.test(options.queue)) {
    throw new ArrayJobError(
      `queue ${JSON.stringify(options.queue)} is not a queue or partition name: use letters, ` +
        `digits, "_", "-", "." ("@host", "*" and "," lists on Grid Engine)`,
    );
  }
  const extra = (options.extraDirectives ?? []).map((line) => directiveLine(line));
  const template = options.template ?? await builtinTemplate(scheduler);
  if (chunks !== undefined && !templateNames(template, "chunk_map")) {
    throw new ArrayJobError(
      "the template has no {{#chunk_map}} section, so it cannot run explicit chunks; start " +
        "from 'arrayjob templates' to see how the built-in ones read the chunk map",
    );
  }

  const { onNotice: _, chunks: __, out: ___, ...recorded } = options;
  const manifest: JobManifest = {
    version: 1,
    numTasks,
    options: { ...recorded, step: options.step, jobName, outputDir, workDir: workDir ?? null },
  };
  const common = {
    scheduler,
    job_name: jobName,
    step,
    cpus,
    // Both schedulers read a double-quoted directive value as one word (measured: SGE 8.1.9,
    // Slurm 22.05); directivePath has refused anything a double quote would not keep literal.
    log_path: /\s/.test(outputDir)
      ? `"${outputDir}/${dialect.logName}"`
      : `${outputDir}/${dialect.logName}`,
    command: quotedCommand,
    wait: options.wait === true,
    pe: cpus > 1 ? { name: pe, slots: cpus } : undefined,
    ...memory,
    time: options.time === undefined ? undefined : dialect.formatTime(seconds(options.time)),
    throttle,
    queue: options.queue,
    extra,
    work_dir: workDir === undefined ? undefined : shellQuote(workDir),
    record_dir: options.records === false ? undefined : shellQuote(path.join(outputDir, RECORDS)),
  };
  const scriptFor = (
    view: { num_tasks: number; num_array_tasks: number } & Record<string, unknown>,
    scriptPath: string,
  ): ScriptPlan => ({
    view: {
      ...common,
      ...view,
      last_array_index: dialect.firstArrayIndex + view.num_array_tasks - 1,
      notices,
    },
    template,
    scriptPath,
    outputDir,
    manifest,
  });

  let plans: ScriptPlan[];
  if (chunks !== undefined) {
    const chunkMap = {
      path: scriptPath.replace(/(\.sh)?$/, ".chunks"),
      text: chunks.join("\n") + "\n",
    };
    plans = [{
      ...scriptFor({
        num_tasks: numTasks,
        num_array_tasks: chunks.length,
        chunk_map: shellQuote(chunkMap.path),
      }, scriptPath),
      chunkMap,
    }];
  } else if (Math.ceil(numTasks / step) <= maxArraySize) {
    plans = [
      scriptFor({ num_tasks: numTasks, num_array_tasks: Math.ceil(numTasks / step) }, scriptPath),
    ];
  } else {
    // Each part but the last covers a whole number of chunks, so no chunk straddles two parts.
    const perPart = maxArraySize * step;
    const parts = Math.ceil(numTasks / perPart);
    plans = Array.from({ length: parts }, (_, i) => {
      const offset = i * perPart;
      const count = Math.min(perPart, numTasks - offset);
      return scriptFor(
        {
          num_tasks: count,
          num_array_tasks: Math.ceil(count / step),
          task_offset: offset || undefined,
        },
        scriptPath.replace(/(\.sh)?$/, `-${i + 1}.sh`),
      );
    });
  }
  for (const notice of notices) (options.onNotice ?? printNotice)(notice);
  return plans;
}

// The output directory is relative to the work directory, which defaults to the current one.
async function resolveOutputDir(
  options: Pick<ClusterScriptOptions, "workDir" | "outputDir">,
  jobName: string,
): Promise<string> {
  const path = await import(LAZY.path) as typeof import("node:path");
  const workDir = path.resolve(options.workDir ?? Deno.cwd());
  return path.resolve(workDir, options.outputDir ?? jobName);
}

function printNotice(message: string): void {
  console.error(`arrayjob: ${message}`);
}

function templateNames(template: string, name: string): boolean {
  return template.includes(`{{#${name}}}`) || template.includes(`{{{${name}}}}`) ||
    template.includes(`{{${name}}}`);
}

function wholeNumber(name: string, value: unknown, minimum: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < minimum) {
    throw new ArrayJobError(
      `${name} is ${JSON.stringify(value)}: expected a whole number ≥ ${minimum}`,
    );
  }
  return value;
}

// Directive lines are parsed by the scheduler, not by a shell: a value must stay on its line and
// be one word, since neither scheduler's quoting is portable across versions.
function directiveWord(name: string, value: string): void {
  if (value === "" || /[\s"'\\]/.test(value) || hasControlCharacter(value)) {
    throw new ArrayJobError(
      `${name} ${JSON.stringify(value)} cannot go into a directive line: it must be non-empty, ` +
        `without spaces, quotes, backslashes or control characters`,
    );
  }
}

// Paths may hold spaces (they are then double-quoted), but nothing that a scheduler would expand
// or unquote: SGE expands $VARIABLE in paths, and neither scheduler escapes quotes portably.
function directivePath(name: string, value: string): void {
  if (/["'\\$`]/.test(value) || hasControlCharacter(value)) {
    throw new ArrayJobError(
      `${name} ${JSON.stringify(value)} cannot go into a directive line: it must not contain ` +
        `quotes, backslashes, "$", backticks or control characters (spaces are fine)`,
    );
  }
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

function directiveLine(line: string): string {
  if (line.trim() === "" || hasControlCharacter(line)) {
    throw new ArrayJobError(
      `extra directive ${JSON.stringify(line)} must be one non-empty line without control ` +
        `characters, like "-l gpu=1" or "--gres=gpu:1"`,
    );
  }
  return line.trim();
}

function mebibytes(name: string, text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  const factor = { "": 1 / 1048576, K: 1 / 1024, M: 1, G: 1024, T: 1048576 }[
    match?.[2]?.toUpperCase() ?? ""
  ];
  const value = match ? Math.ceil(Number(match[1]) * factor!) : NaN;
  if (!match || !(value >= 1) || !Number.isSafeInteger(value)) {
    throw new ArrayJobError(
      `${name} ${JSON.stringify(text)} is not a memory size: expected a number with K, M, G ` +
        `or T, like 500M, 4G or 1.5G`,
    );
  }
  return value;
}

function seconds(time: string | number): number {
  const text = String(time).trim();
  const match = /^(?:(?:([0-9]+)-)?([0-9]+):([0-5]?[0-9]):([0-5]?[0-9])|([0-9]+))$/.exec(text);
  const total = !match
    ? NaN
    : match[5] !== undefined
    ? Number(match[5])
    : Number(match[1] ?? 0) * 86400 + Number(match[2]) * 3600 + Number(match[3]) * 60 +
      Number(match[4]);
  if (!(total >= 1) || !Number.isSafeInteger(total)) {
    throw new ArrayJobError(
      `time ${JSON.stringify(time)} is not a runtime: expected seconds (3600), H:MM:SS ` +
        `(1:30:00) or D-HH:MM:SS (2-00:00:00), at least one second`,
    );
  }
  return total;
}

function defaultJobName(command: readonly string[]): string {
  // The script is the first argument that looks like a file; else the program itself.
  const script = command.slice(1).find((word) => !word.startsWith("-") && /[./]/.test(word)) ??
    command[0]!;
  const base = script.replace(/\/+$/, "").split("/").pop()!;
  const stem = base.includes(".") ? base.slice(0, base.lastIndexOf(".")) : base;
  const name = stem.replace(/[^A-Za-z0-9_.-]/g, "_") || "arrayjob";
  return /^[0-9]/.test(name) ? `job_${name}` : name;
}

// ---------------------------------------------------------------------------------------------
// Records, status and resubmission

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
  let text: string;
  try {
    text = await Deno.readTextFile(`${outputDir}/${MANIFEST}`);
  } catch {
    throw new ArrayJobError(
      `${outputDir} has no ${MANIFEST}: give the output directory of a script written by ` +
        `arrayjob (its --output-dir, where run.sh is)`,
    );
  }
  const manifest = JSON.parse(text) as JobManifest;
  if (manifest.version !== 1) {
    throw new ArrayJobError(`${outputDir}/${MANIFEST} has unknown version ${manifest.version}`);
  }
  return manifest;
}

/** One failed task, as {@linkcode jobStatus} reports it. */
export interface TaskFailure {
  /** The task's index in the full list. */
  readonly index: number;
  /** The exit status of its last failed run. */
  readonly exitCode: number;
  /** The log of the array task that ran it, when it exists. */
  readonly log?: string;
}

/** What {@linkcode jobStatus} found: every task is in exactly one of the three lists. */
export interface JobStatus {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** Tasks that succeeded in at least one run, ascending. */
  readonly done: readonly number[];
  /** Tasks that never succeeded and failed at least once, ascending. */
  readonly failed: readonly number[];
  /**
   * Tasks with no outcome: never started, or started by an array task that did not finish
   * (killed for its runtime or memory, or its node died). Ascending.
   */
  readonly neverFinished: readonly number[];
  /** The failed tasks with their exit status and log. */
  readonly failures: readonly TaskFailure[];
  /** How many record files were read: one per array task that started. */
  readonly records: number;
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
  return await statusOf(outputDir, await readManifest(outputDir));
}

async function statusOf(outputDir: string, manifest: JobManifest): Promise<JobStatus> {
  const { numTasks } = manifest;
  const DONE = 2, FAILED = 1;
  const state = new Uint8Array(numTasks);
  const lastFailure = new Map<number, { exitCode: number; record: string }>();
  let records = 0;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(`${outputDir}/${RECORDS}`)) {
      if (entry.isFile && /^[0-9]+\.[0-9]+$/.test(entry.name)) names.push(entry.name);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  // By job id, then array task id. (localeCompare with numeric collation made this 78 ms for
  // 2000 records, and awaiting each read another 80: the fake's summary runs this every time.)
  const key = (name: string) => name.split(".").map(Number) as [number, number];
  names.sort((a, b) => {
    const [ja, ta] = key(a), [jb, tb] = key(b);
    return ja - jb || ta - tb;
  });
  for (const name of names) {
    records++;
    const text = Deno.readTextFileSync(`${outputDir}/${RECORDS}/${name}`);
    let indices: number[] = [];
    let perTask = new Map<number, number>();
    const settle = (exitCode: number | null): void => {
      for (const index of indices) {
        const status = perTask.get(index) ?? exitCode;
        if (status === 0) state[index] = DONE;
        else if (status !== null && state[index] !== DONE) {
          state[index] = FAILED;
          lastFailure.set(index, { exitCode: status, record: name });
        }
      }
      indices = [];
      perTask = new Map();
    };
    for (const line of text.split("\n")) {
      const [kind, a, b] = line.split("\t");
      if (kind === "start") {
        settle(null); // a start without an end: that run never finished
        try {
          indices = selectIndices(a ?? "", numTasks);
        } catch {
          indices = []; // a spec for another list: not this job's record
        }
      } else if (kind === "task" && /^[0-9]+$/.test(a ?? "") && /^[0-9]+$/.test(b ?? "")) {
        perTask.set(Number(a), Number(b));
      } else if (kind === "end" && /^[0-9]+$/.test(a ?? "")) {
        settle(Number(a));
      }
    }
    settle(null);
  }
  const done: number[] = [], failed: number[] = [], neverFinished: number[] = [];
  for (let i = 0; i < numTasks; i++) {
    (state[i] === DONE ? done : state[i] === FAILED ? failed : neverFinished).push(i);
  }
  const jobName = manifest.options.jobName;
  const failures = await Promise.all(failed.map(async (index) => {
    const { exitCode, record } = lastFailure.get(index)!;
    // Both dialects name logs <job name>.o<job id>.<array task id>, as the record is named.
    const log = `${outputDir}/${jobName}.o${record}`;
    const exists = await Deno.stat(log).then(() => true, () => false);
    return exists ? { index, exitCode, log } : { index, exitCode };
  }));
  return { numTasks, done, failed, neverFinished, failures, records };
}

/** Options of {@linkcode writeResubmitScript}. */
export interface ResubmitOptions {
  /**
   * Which tasks to run again: those that `failed`, those that never finished (`missing`), or
   * both (`all-not-done`).
   * @default {"all-not-done"}
   */
  which?: "failed" | "missing" | "all-not-done";
  /**
   * Options that change for the resubmission, such as more `time` or `memory`; `step` is the
   * number of tasks per array task. The command and the task list stay the job's own.
   */
  overrides?: Partial<Omit<ClusterScriptOptions, "numTasks" | "command" | "chunks">>;
}

/** What {@linkcode writeResubmitScript} wrote. */
export interface Resubmission {
  /** The written script, or `undefined` when no task needed to run again. */
  readonly path?: string;
  /** The tasks it runs, ascending. */
  readonly indices: readonly number[];
  /** The number of array tasks. */
  readonly numArrayTasks: number;
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
  const which = options.which ?? "all-not-done";
  if (!["failed", "missing", "all-not-done"].includes(which)) {
    throw new ArrayJobError(
      `which is ${JSON.stringify(which)}: expected failed, missing or all-not-done`,
    );
  }
  const manifest = await readManifest(outputDir);
  const status = await statusOf(outputDir, manifest);
  const indices = which === "failed"
    ? [...status.failed]
    : which === "missing"
    ? [...status.neverFinished]
    : [...status.failed, ...status.neverFinished].sort((a, b) => a - b);
  if (indices.length === 0) return { indices, numArrayTasks: 0 };

  const original = manifest.options;
  const merged = { ...original, ...options.overrides };
  const dialect = DIALECTS[merged.scheduler ?? "sge"];
  const limit = merged.maxArraySize ?? dialect.maxArraySize;
  let step = wholeNumber("step", merged.step ?? 1, 1);
  if (Math.ceil(indices.length / step) > limit) step = Math.ceil(indices.length / limit);
  const chunks: string[] = [];
  for (let i = 0; i < indices.length; i += step) {
    chunks.push(formatIndices(indices.slice(i, i + step)));
  }
  let n = 1;
  while (await Deno.stat(`${outputDir}/resubmit-${n}.sh`).then(() => true, () => false)) n++;
  const path = await writeClusterScript({
    ...merged,
    step: undefined,
    numTasks: status.numTasks,
    command: original.command,
    outputDir,
    chunks,
    out: `${outputDir}/resubmit-${n}.sh`,
  });
  return { path, indices, numArrayTasks: chunks.length };
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
    else if (flag === "--jobs") jobs = wholeNumber("--jobs", Number(value()), 1);
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
  const flags = await import(LAZY.clusterArgs) as typeof import("./cluster_args.ts");
  try {
    return await renderOwnClusterScript(numTasks, flags.parseClusterArgs(args), options);
  } catch (error) {
    // Name what the user typed: --job-name, not jobName.
    throw error instanceof ArrayJobError ? flags.inFlagTerms(error) : error;
  }
}

async function renderOwnClusterScript(
  numTasks: number,
  { options: fromArgs, positionals }: import("./cluster_args.ts").ParsedClusterArgs,
  options: RunTasksOptions,
): Promise<RunSummary> {
  if (positionals.length > 0) {
    throw new ArrayJobError(
      `unexpected argument ${JSON.stringify(positionals[0])} after --cluster-script`,
    );
  }
  const script = options.script ?? Deno.mainModule;
  const url = new URL(script, `file://${Deno.cwd()}/`);
  const scriptWord = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  const settings = { ...options.cluster, ...fromArgs };
  const jobName = settings.jobName ?? defaultJobName(["deno", scriptWord]);
  const recordsDir = `${await resolveOutputDir(settings, jobName)}/${RECORDS}`;
  // --cached-only: compute nodes often have no network; this run has just filled the cache.
  const command = [
    Deno.execPath(),
    "run",
    "--cached-only",
    ...grantedPermissionFlags(recordsDir),
    scriptWord,
  ];
  const merged: WriteClusterScriptsOptions = { ...settings, numTasks, command, jobName };
  if (merged.out === "-") {
    await Deno.stdout.write(new TextEncoder().encode(await clusterScript(merged)));
    return { mode: "cluster-script", ran: [], failed: [] };
  }
  const scriptPaths = await writeClusterScripts(merged);
  const scheduler = merged.scheduler ?? "sge";
  console.log(`wrote ${scriptPaths.join(", ")} for ${numTasks} tasks`);
  for (const path of scriptPaths) {
    console.log(
      `submit with: ${submitCommand(scheduler, path, merged.wait).map(shellQuote).join(" ")}`,
    );
  }
  return { mode: "cluster-script", ran: [], failed: [], scriptPaths };
}

// The array tasks get the permissions this process was granted in full, so that a script run
// with -A, or with --allow-read --allow-write, behaves the same on the cluster.
// Beyond those, an array task needs to read ARRAYJOB_RECORD and write its record.
function grantedPermissionFlags(recordsDir: string): string[] {
  const names = ["read", "write", "net", "env", "run", "sys", "ffi", "import"] as const;
  const granted = names.filter((name) =>
    Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted"
  );
  if (granted.length === names.length) return ["--allow-all"];
  const flags = granted.map((name) => `--allow-${name}`);
  if (!granted.includes("env")) flags.push(`--allow-env=${RECORD_VARIABLE}`);
  if (!granted.includes("write")) flags.push(`--allow-write=${recordsDir}`);
  return flags;
}

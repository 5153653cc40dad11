/**
 * Rendering array-job scripts: the options a job is described by, their validation, the values a
 * template gets, and strict Mustache. Nothing here writes a file (job_dir.ts does), and nothing
 * here knows the command line (script_flags.ts does).
 *
 * @example Rendering a Slurm script
 * ```ts
 * import { clusterScript } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const text = await clusterScript({ scheduler: "slurm", numTasks: 4, command: ["./fit"] });
 * assert.match(text, /^#SBATCH --array=0-3$/m);
 * ```
 *
 * @module
 */

import * as path from "node:path";
import {
  ArrayJobError,
  formatRanges,
  parseSlice,
  RECORD_FIELDS,
  RECORD_VARIABLE,
  selectIndices,
  shellQuote,
} from "./mod.ts";
import { DEFAULT_SCHEDULER, dialectOf, type RenderDialect, type Scheduler } from "./dialects.ts";
import BODY from "./templates/body.mustache" with { type: "text" };
import SGE_TEMPLATE from "./templates/sge.mustache" with { type: "text" };
import SLURM_TEMPLATE from "./templates/slurm.mustache" with { type: "text" };

// Not a literal import, so that `arrayjob status`, which loads this file for the options, never
// needs npm:mustache (a cold cache without network would fail it).
const MUSTACHE = "./_mustache.ts";

const TEMPLATES: Record<Scheduler, string> = { sge: SGE_TEMPLATE, slurm: SLURM_TEMPLATE };

/** The directory, inside a job's output directory, where its array tasks write their records. */
export const RECORDS_DIR = "records";

// ---------------------------------------------------------------------------------------------
// Options

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
 * @param partials Templates that `{{> name}}` includes; the built-in shell body is `body`.
 * @returns The rendered text.
 * @throws {ArrayJobError} When a variable tag has no value, or the template does not parse.
 *
 * @example Strict tags, optional sections
 * ```ts
 * import { renderScript } from "./script.ts";
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
  partials: Record<string, string> = { body: BODY },
): Promise<string> {
  const writer = await strictWriter();
  let text: string;
  const missing = new Set<string>();
  try {
    checkTags(writer.parse(template), partials);
    missingTags = missing;
    text = writer.render(template, values, partials, { escape: String });
  } catch (error) {
    if (error instanceof ArrayJobError) throw error;
    throw new ArrayJobError(`template does not parse: ${(error as Error).message}`);
  } finally {
    missingTags = undefined;
  }
  if (missing.size > 0) {
    const tags = [...missing].map((name) => `{{${name}}}`);
    throw new ArrayJobError(
      `template has no value for ${tags.length === 1 ? "tag" : "tags"} ${tags.join(", ")}; ` +
        `give ${tags.length === 1 ? "it a value" : "each a value"} (--set NAME=VALUE) or wrap ` +
        `it in a section {{#NAME}}…{{/NAME}} to make it optional ('arrayjob templates --values' ` +
        `lists the values)`,
    );
  }
  return text;
}
let writerOnce: Promise<MustacheWriter> | undefined;
// The variable tags without a value in the render under way: rendering is synchronous, so the
// one writer collects them all and renderScript names every one in a single error.
let missingTags: Set<string> | undefined;

// A tag names a plain value: identifiers, dotted for a value's field. Names an object has from
// its prototype (constructor, toString, __proto__) would render JavaScript internals; a partial
// other than those offered would render nothing. Both are errors, all listed at once.
function checkTags(tokens: unknown[][], partials: Record<string, string>): void {
  const problems: string[] = [];
  const walk = (list: unknown[][]): void => {
    for (const token of list) {
      const [type, name] = token as [string, string];
      if (type === ">" && !Object.hasOwn(partials, name)) {
        problems.push(
          `{{> ${name}}} includes a partial, which a template cannot use` +
            (Object.keys(partials).length > 0
              ? ` (only ${Object.keys(partials).map((p) => `{{> ${p}}}`).join(", ")} exists)`
              : ""),
        );
      } else if (["name", "&", "#", "^"].includes(type) && name !== "." && !plainName(name)) {
        problems.push(`{{${name}}} is not a plain value name`);
      }
      if (Array.isArray(token[4])) walk(token[4] as unknown[][]);
    }
  };
  walk(tokens);
  if (problems.length > 0) {
    throw new ArrayJobError(
      `is refused: ${[...new Set(problems)].join("; ")} ('arrayjob templates --values' ` +
        `lists the values)`,
      "template",
    );
  }
}

function plainName(name: string): boolean {
  return name.split(".").every((part) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) && !(part in Object.prototype) && !part.startsWith("__")
  );
}

type MustacheWriter = InstanceType<typeof import("./_mustache.ts").default.Writer>;

// One Writer for the process: it caches parsed templates, six times faster over 10^4 renders
// (bench/render_bench.ts, bench/RESULTS.md).
function strictWriter(): Promise<MustacheWriter> {
  writerOnce ??= (async () => {
    const { default: Mustache } = await import(MUSTACHE) as typeof import("./_mustache.ts");
    const writer = new Mustache.Writer();
    const strict = (token: string[], context: { lookup(name: string): unknown }): string => {
      const value = context.lookup(token[1]!);
      if (value === undefined || value === null) {
        missingTags?.add(token[1]!);
        return "";
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
 * A built-in template, to print, copy and edit: a scheduler's header, which includes the shared
 * shell body with `{{> body}}`, or (`"body"`) that body. {@linkcode renderScript} always offers
 * the body as a partial, so an edited header keeps the built-in body, and a template that is a
 * whole script needs none. {@linkcode TEMPLATE_VALUES} lists the values a template can use;
 * every value is already quoted for where the built-in templates put it.
 *
 * @param scheduler Which scheduler's template, or `"body"` for the shared shell body.
 * @returns The template text.
 *
 * @example The Grid Engine template keeps the seed's shape
 * ```ts
 * import { builtinTemplate } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(builtinTemplate("sge"), /^#\$ -t 1-\{\{\{num_array_tasks\}\}\}$/m);
 * assert.match(builtinTemplate("body"), /^START_TASK=\$\(\(\{\{\{chunk_number\}\}\} \* STEP_SIZE\)\)$/m);
 * ```
 */
export function builtinTemplate(scheduler: Scheduler | "body"): string {
  return scheduler === "body" ? BODY : TEMPLATES[dialectOf(scheduler).name];
}

/** One value a template can use: what {@linkcode TEMPLATE_VALUES} lists. */
export interface TemplateValue {
  /** The tag's name: `{{{job_name}}}`. */
  readonly name: string;
  /**
   * `value`: always there; `section`: there only when set, so use it as `{{#name}}…{{/name}}`
   * (or as a value where the option is always given); `list`: repeat with `{{#name}}{{.}}{{/name}}`.
   */
  readonly kind: "value" | "section" | "list";
  /** What it means. */
  readonly meaning: string;
  /** An example of what it renders as. */
  readonly example: string;
}

/**
 * Every value a template can use, with its meaning and an example: the seed's (`job_name`,
 * `cpus`, `output_dir`, `wait`, `mem_free`, `h_rt_secs`, `num_array_tasks`, `queue`, `step`,
 * `script_file`) and those the built-in templates use. Values given with
 * {@linkcode ClusterScriptOptions.values} (`--set NAME=VALUE`) come on top, under other names.
 *
 * @example
 * ```ts
 * import { TEMPLATE_VALUES } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const memFree = TEMPLATE_VALUES.find((value) => value.name === "mem_free")!;
 * assert.equal(memFree.example, "10G");
 * ```
 */
export const TEMPLATE_VALUES: readonly TemplateValue[] = [
  {
    name: "job_name",
    kind: "value",
    meaning: "the job's name (--job-name)",
    example: "do_something",
  },
  { name: "cpus", kind: "value", meaning: "CPUs per array task (--cpus)", example: "1" },
  {
    name: "output_dir",
    kind: "value",
    meaning: "the job's output directory, absolute: logs, records, run.sh (--output-dir)",
    example: "/home/me/do_something",
  },
  { name: "wait", kind: "section", meaning: "present with --wait: submit blocks", example: "true" },
  {
    name: "mem_free",
    kind: "section",
    meaning: "the memory as given (--memory, else --memory-per-cpu)",
    example: "10G",
  },
  {
    name: "h_rt_secs",
    kind: "section",
    meaning: "the runtime limit in seconds (--time)",
    example: "3600",
  },
  {
    name: "num_array_tasks",
    kind: "value",
    meaning: "array tasks in this script: ceil(num_tasks / step), or chunks",
    example: "5",
  },
  {
    name: "queue",
    kind: "section",
    meaning: "the queue or partition (--queue)",
    example: "default.q",
  },
  { name: "step", kind: "value", meaning: "tasks per array task (--step)", example: "3" },
  {
    name: "script_file",
    kind: "value",
    meaning: "the command's words, shell-quoted; for a runTasks script, its path",
    example: "do_something.py",
  },
  {
    name: "command",
    kind: "value",
    meaning: "the command's words, shell-quoted (the program and its arguments)",
    example: "python3 do_something.py",
  },
  {
    name: "num_tasks",
    kind: "value",
    meaning: "tasks in the list (or this split part)",
    example: "14",
  },
  {
    name: "last_array_index",
    kind: "value",
    meaning: "the last array index (Slurm counts from 0, Grid Engine from 1)",
    example: "4",
  },
  { name: "scheduler", kind: "value", meaning: "sge or slurm (--scheduler)", example: "sge" },
  {
    name: "log_path",
    kind: "value",
    meaning: "the log file pattern, in the scheduler's spelling, quoted when it has spaces",
    example: "/home/me/do_something/$JOB_NAME.o$JOB_ID.$TASK_ID",
  },
  {
    name: "memory",
    kind: "section",
    meaning: "the memory request in the scheduler's spelling (per slot on Grid Engine)",
    example: "mem_free=10G",
  },
  {
    name: "memory_per_cpu",
    kind: "section",
    meaning: "Slurm's --mem-per-cpu value (--memory-per-cpu)",
    example: "2G",
  },
  { name: "time", kind: "section", meaning: "the runtime limit, H:MM:SS", example: "1:00:00" },
  { name: "throttle", kind: "section", meaning: "at most this many at once", example: "4" },
  {
    name: "pe",
    kind: "section",
    meaning: "with cpus > 1: the parallel environment, {{name}} and {{slots}}",
    example: "smp 4",
  },
  {
    name: "extra",
    kind: "list",
    meaning: "--directive lines, without prefix",
    example: "-l gpu=1",
  },
  { name: "notices", kind: "list", meaning: "notices about the script", example: "step raised…" },
  {
    name: "work_dir",
    kind: "section",
    meaning: "the directory the command runs in, shell-quoted (--work-dir)",
    example: "/home/me",
  },
  {
    name: "record_dir",
    kind: "section",
    meaning: "where array tasks write records, shell-quoted; without it status cannot track",
    example: "/home/me/do_something/records",
  },
  {
    name: "chunk_map",
    kind: "section",
    meaning: "a resubmission's chunk map (line k: array task k's START:STOP ranges), quoted",
    example: "/home/me/do_something/resubmit-1.chunks",
  },
  {
    name: "task_offset",
    kind: "section",
    meaning: "the first task of this part of a --split array",
    example: "75000",
  },
  {
    name: "run_per_range",
    kind: "section",
    meaning: "present unless the command is a runTasks script: run once per START:STOP range",
    example: "true",
  },
  {
    name: "array_task_variable",
    kind: "value",
    meaning: "the variable holding the array index",
    example: "SGE_TASK_ID",
  },
  {
    name: "job_id_variable",
    kind: "value",
    meaning: "the variable holding the job id",
    example: "JOB_ID",
  },
  {
    name: "chunk_number",
    kind: "value",
    meaning: "shell arithmetic for the 0-based chunk number",
    example: "(SGE_TASK_ID - 1)",
  },
  {
    name: "chunk_map_line",
    kind: "value",
    meaning: "shell expression for the chunk map's 1-based line",
    example: "${SGE_TASK_ID}",
  },
  { name: "submit_program", kind: "value", meaning: "qsub or sbatch", example: "qsub" },
  {
    name: "array_directive",
    kind: "value",
    meaning: "the array directive, for messages",
    example: "#$ -t",
  },
  {
    name: "record_variable",
    kind: "value",
    meaning: "the variable naming a run's record file",
    example: "ARRAYJOB_RECORD",
  },
  {
    name: "record_start_format",
    kind: "value",
    meaning: "printf format of a record's start line",
    example: "start\\t%s\\t%s\\n",
  },
  {
    name: "record_end_format",
    kind: "value",
    meaning: "printf format of a record's end line",
    example: "end\\t%s\\t%s\\n",
  },
];

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
 * import { clusterScript } from "./script.ts";
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
 * assert.match(text, /python3 fit.py --tasks="\$1"$/m);
 * ```
 */
export async function clusterScript(options: WriteClusterScriptOptions): Promise<string> {
  return (await renderJob(options)).scripts[0]!.text;
}

// ---------------------------------------------------------------------------------------------
// Planning a job: validated options, template values, one script or several

/** One rendered script of a {@linkcode JobPlan}, not yet written. */
export interface RenderedScript {
  /** Where it is to be written, absolute. */
  readonly path: string;
  /** Its text. */
  readonly text: string;
  /** The chunk map to write beside it, for explicit {@linkcode ClusterScriptOptions.chunks}. */
  readonly chunkMap?: { readonly path: string; readonly text: string };
  /**
   * Without a chunk map, the tasks it runs: array task k (counted from 0) runs
   * `offset + k * step` up to `step` tasks, not beyond `offset + count`.
   */
  readonly taskRange?: { readonly offset: number; readonly count: number; readonly step: number };
}

/** A validated, rendered job: what {@linkcode renderJob} returns and job_dir.ts writes. */
export interface JobPlan {
  /** The number of tasks in the full list. */
  readonly numTasks: number;
  /** The job's output directory, absolute. */
  readonly outputDir: string;
  /** The scripts, in task order: one, or with `split` one per range of tasks. */
  readonly scripts: readonly RenderedScript[];
  /** The options to remember for resubmissions: paths absolute, defaults decided. */
  readonly options: Omit<ClusterScriptOptions, "chunks" | "onNotice">;
}

/**
 * Validates the options and renders the job's scripts without writing anything: one script, or
 * with `split` one per range of tasks that fits the array-size limit. Notices (a raised step)
 * go to {@linkcode ClusterScriptOptions.onNotice} first.
 *
 * @param options What to run and with which resources.
 * @returns The rendered scripts, where they go, and the options to remember.
 * @throws {ArrayJobError} When an option is invalid; its `option` names which.
 *
 * @example Splitting a Slurm array at its limit
 * ```ts
 * import { renderJob } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const plan = await renderJob({
 *   scheduler: "slurm", numTasks: 2500, command: ["./fit"], outputDir: "/tmp/fit", split: true,
 * });
 * assert.deepEqual(plan.scripts.map((s) => s.path), ["/tmp/fit/run-1.sh", "/tmp/fit/run-2.sh", "/tmp/fit/run-3.sh"]);
 * assert.match(plan.scripts[2]!.text, /^#SBATCH --array=0-497$/m);
 * ```
 */
export async function renderJob(options: WriteClusterScriptsOptions): Promise<JobPlan> {
  const split = options.split === true;
  const dialect = dialectOf(options.scheduler ?? DEFAULT_SCHEDULER);
  const scheduler = dialect.name;
  const notices: string[] = [...(options.notices ?? [])];
  const numTasks = wholeNumber("numTasks", options.numTasks, 1);
  const cpus = wholeNumber("cpus", options.cpus ?? 1, 1);
  const maxArraySize = wholeNumber(
    "maxArraySize",
    options.maxArraySize ?? dialect.maxArraySize,
    1,
  );
  let step = wholeNumber("step", options.step ?? 1, 1);
  let chunks = options.chunks;
  if (chunks !== undefined) {
    // With explicit chunks, step only tells the header how many tasks a chunk holds.
    if (chunks.length === 0) throw new ArrayJobError("chunks is empty: nothing would run");
    if (chunks.length > maxArraySize) {
      throw new ArrayJobError(
        `${chunks.length} chunks exceed the array-size limit of ${maxArraySize}: put more tasks ` +
          `in each chunk`,
      );
    }
    // The chunk map holds START:STOP ranges only: a command runs once per range of its chunk.
    // A resubmission's chunks are in that form already, and are not listed task by task.
    chunks = chunks.map((chunk) => {
      if (chunk === "" || selectsNothing(chunk, numTasks)) {
        throw new ArrayJobError(
          `chunk ${JSON.stringify(chunk)} selects no task of ${numTasks}; each chunk is a ` +
            `non-empty task spec like 3 or 17:20`,
        );
      }
      return /^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$/.test(chunk)
        ? chunk
        : formatRanges(selectIndices(chunk, numTasks));
    });
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
  // The first word is the program: quoted, so that "PATH=/x ls" is no assignment and "if" no
  // keyword, even after the record variable's assignment that precedes it.
  const quotedCommand = command.map((word, i) => {
    const quoted = shellQuote(word);
    return i === 0 && quoted === word && (word.includes("=") || SHELL_KEYWORDS.has(word))
      ? `'${word}'`
      : quoted;
  }).join(" ");

  const jobName = options.jobName ?? defaultJobName(command);
  directiveWord("jobName", jobName);
  if (dialect.badJobName.test(jobName)) {
    throw new ArrayJobError(
      `${JSON.stringify(jobName)} is refused by ${scheduler}: use letters, digits, ` +
        `"_", "-" and "." (and do not start with a digit on Grid Engine)`,
      "jobName",
    );
  }

  if (options.outputDir === "") {
    throw new ArrayJobError(`is "": give a directory, or leave it out for ${jobName}`, "outputDir");
  }
  const workDir = options.workDir === null
    ? undefined
    : path.resolve(options.workDir ?? Deno.cwd());
  if (options.workDir !== undefined && options.workDir !== null) {
    const found = await Deno.stat(workDir!).catch(() => undefined);
    if (!found?.isDirectory) {
      throw new ArrayJobError(
        `${JSON.stringify(options.workDir)} is not an existing directory: the array tasks ` +
          `change into it`,
        "workDir",
      );
    }
  }
  const umask = options.umask ?? processUmask();
  if (!/^0?[0-7]{3}$/.test(umask)) {
    throw new ArrayJobError(`${JSON.stringify(umask)} is not an octal mask like 027`, "umask");
  }
  const outputDir = resolveOutputDir(options, jobName);
  directivePath("outputDir", outputDir);
  const scriptPath = path.resolve(options.out ?? path.join(outputDir, "run.sh"));

  if (options.memory !== undefined && options.memoryPerCpu !== undefined) {
    throw new ArrayJobError("give memory or memoryPerCpu, not both");
  }
  const memoryResource = options.memoryResource ?? "mem_free";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(memoryResource)) {
    throw new ArrayJobError(
      `${JSON.stringify(memoryResource)} is not a complex name like mem_free, ` +
        `h_vmem or m_mem_free`,
      "memoryResource",
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
    memoryResource === "h_vmem" && perSlot?.startsWith("h_vmem=") &&
    /(^|\/)deno$/.test(command[0]!) && mebibytes("memory", perSlot.split("=")[1]!) < 36 * 1024
  ) {
    notices.push(
      `h_vmem=${perSlot.split("=")[1]} will kill Deno: V8 reserves about 32 GiB of virtual ` +
        `memory at start-up (Deno 2.9 aborts under h_vmem up to 32G); use mem_free, or 36G or more`,
    );
  }

  const pe = options.pe ?? "smp";
  if (!/^[A-Za-z0-9_.-]+$/.test(pe)) {
    throw new ArrayJobError(`${JSON.stringify(pe)} is not a parallel environment name`, "pe");
  }
  if (options.queue !== undefined && !/^[A-Za-z0-9_.@*,-]+$/.test(options.queue)) {
    throw new ArrayJobError(
      `${JSON.stringify(options.queue)} is not a queue or partition name: use letters, ` +
        `digits, "_", "-", "." ("@host", "*" and "," lists on Grid Engine)`,
      "queue",
    );
  }
  const extra = (options.extraDirectives ?? []).map((line) => directiveLine(line));
  if (options.template !== undefined) checkUserTemplate(options.template);
  let template = options.template ?? builtinTemplate(scheduler);
  if (chunks !== undefined && !templateNames(template, "chunk_map")) {
    notices.push(
      "the job's template has no {{#chunk_map}} section, so it cannot run explicit chunks: " +
        `this script uses the built-in ${scheduler} template`,
    );
    template = builtinTemplate(scheduler);
  } else if (options.template !== undefined) {
    if (options.records !== false && !templateNames(template, "record_dir")) {
      notices.push(
        "the template has no {{#record_dir}} block, so its array tasks keep no records: " +
          "'arrayjob status' and 'arrayjob resubmit' cannot track this job",
      );
    }
    if (chunks === undefined && !templateNames(template, "chunk_map")) {
      notices.push(
        "the template has no {{#chunk_map}} section: 'arrayjob resubmit' of this job will " +
          "use the built-in template",
      );
    }
  }
  const extraValues = userValues(options.values);

  const { onNotice: _, chunks: __, out: ___, notices: ____, ...recorded } = options;
  const remembered = {
    ...recorded,
    umask,
    step: options.step,
    jobName,
    outputDir,
    workDir: workDir ?? null,
  };
  const logDir = outputDir.replaceAll("%", dialect.literalPercent);
  const common = {
    scheduler,
    job_name: jobName,
    step,
    cpus,
    // Both schedulers read a double-quoted directive value as one word (measured: SGE 8.1.9,
    // Slurm 22.05); directivePath has refused anything a double quote would not keep literal.
    log_path: /\s/.test(outputDir)
      ? `"${logDir}/${dialect.logName}"`
      : `${logDir}/${dialect.logName}`,
    umask,
    command: quotedCommand,
    wait: options.wait === true,
    pe: cpus > 1 ? { name: pe, slots: cpus } : undefined,
    ...memory,
    time: options.time === undefined ? undefined : dialect.formatTime(seconds(options.time)),
    throttle,
    queue: options.queue,
    extra,
    mem_free: options.memory ?? options.memoryPerCpu,
    h_rt_secs: options.time === undefined ? undefined : seconds(options.time),
    output_dir: outputDir,
    script_file: options.scriptFile === undefined ? quotedCommand : shellQuote(options.scriptFile),
    run_per_range: options.taskLists !== true,
    work_dir: workDir === undefined ? undefined : shellQuote(workDir),
    record_dir: options.records === false
      ? undefined
      : shellQuote(path.join(outputDir, RECORDS_DIR)),
    ...dialectValues(dialect),
  };
  const render = async (
    view: { num_tasks: number; num_array_tasks: number } & Record<string, unknown>,
    scriptPath: string,
    chunkMap?: RenderedScript["chunkMap"],
  ): Promise<RenderedScript> => {
    const values = {
      ...extraValues,
      ...common,
      ...view,
      last_array_index: dialect.firstArrayIndex + view.num_array_tasks - 1,
      notices,
    };
    const text = await renderScript(template, values);
    if (chunkMap) return { path: scriptPath, text, chunkMap };
    const taskRange = { offset: Number(view.task_offset ?? 0), count: view.num_tasks, step };
    return { path: scriptPath, text, taskRange };
  };

  let scripts: RenderedScript[];
  if (chunks !== undefined) {
    const chunkMap = {
      path: scriptPath.replace(/(\.sh)?$/, ".chunks"),
      text: chunks.join("\n") + "\n",
    };
    const view = {
      num_tasks: numTasks,
      num_array_tasks: chunks.length,
      chunk_map: shellQuote(chunkMap.path),
    };
    scripts = [await render(view, scriptPath, chunkMap)];
  } else if (Math.ceil(numTasks / step) <= maxArraySize) {
    const view = { num_tasks: numTasks, num_array_tasks: Math.ceil(numTasks / step) };
    scripts = [await render(view, scriptPath)];
  } else {
    // Each part but the last covers a whole number of chunks, so no chunk straddles two parts.
    const perPart = maxArraySize * step;
    const parts = Math.ceil(numTasks / perPart);
    scripts = await Promise.all(Array.from({ length: parts }, (_, i) => {
      const offset = i * perPart;
      const count = Math.min(perPart, numTasks - offset);
      const view = {
        num_tasks: count,
        num_array_tasks: Math.ceil(count / step),
        task_offset: offset || undefined,
      };
      return render(view, scriptPath.replace(/(\.sh)?$/, `-${i + 1}.sh`));
    }));
  }
  // Only for a script that rendered: a failed render is one line, the error.
  for (const notice of notices) (options.onNotice ?? printNotice)(notice);
  return { numTasks, outputDir, scripts, options: remembered };
}

// The facts of a dialect that the shared shell body needs, as template values.
function dialectValues(dialect: RenderDialect): Record<string, string> {
  const variable = dialect.arrayTaskVariable;
  const first = dialect.firstArrayIndex;
  const printfFormat = (kind: keyof typeof RECORD_FIELDS) =>
    `${kind}${"\\t%s".repeat(RECORD_FIELDS[kind].length)}\\n`;
  return {
    array_task_variable: variable,
    job_id_variable: dialect.jobIdVariable,
    // The 0-based chunk number, and the 1-based line of the chunk map, of this array task.
    chunk_number: first === 0 ? variable : `(${variable} - ${first})`,
    chunk_map_line: first === 1 ? `\${${variable}}` : `$((${variable} + ${1 - first}))`,
    submit_program: dialect.submitProgram,
    // Inside a double-quoted shell word.
    array_directive: dialect.arrayDirective.replace(/[$`"\\]/g, "\\$&"),
    record_variable: RECORD_VARIABLE,
    record_start_format: printfFormat("start"),
    record_end_format: printfFormat("end"),
  };
}

// The output directory is relative to the work directory, which defaults to the current one.
function resolveOutputDir(
  options: Pick<ClusterScriptOptions, "workDir" | "outputDir">,
  jobName: string,
): string {
  const workDir = path.resolve(options.workDir ?? Deno.cwd());
  return path.resolve(workDir, options.outputDir ?? jobName);
}

// A user's template file: text, and not empty (a typo'd path to an empty file renders nothing).
function checkUserTemplate(template: unknown): void {
  if (typeof template !== "string" || template.trim() === "") {
    throw new ArrayJobError(
      "is empty: expected a Mustache template (see 'arrayjob templates')",
      "template",
    );
  }
  // A file read as text turns bytes that are not UTF-8 into U+FFFD.
  if (template.includes("\0") || template.includes("\uFFFD")) {
    throw new ArrayJobError(
      "is not text (it has NUL bytes or is not UTF-8): expected a Mustache template",
      "template",
    );
  }
}

// Values given with --set: plain names that arrayjob does not give itself, one line each.
function userValues(values: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(values ?? {})) {
    if (!plainName(name) || name.includes(".")) {
      throw new ArrayJobError(
        `name ${JSON.stringify(name)} is not a plain value name: letters, digits and "_", ` +
          `not starting with a digit`,
        "values",
      );
    }
    if (TEMPLATE_VALUES.some((known) => known.name === name)) {
      throw new ArrayJobError(
        `${name} is a value arrayjob gives (${
          TEMPLATE_VALUES.find((known) => known.name === name)!.meaning
        }): set it through its own option`,
        "values",
      );
    }
    if (typeof value !== "string" || hasControlCharacter(value)) {
      throw new ArrayJobError(
        `${name}=${JSON.stringify(value)}: a value is one line of text, without control characters`,
        "values",
      );
    }
    result[name] = value;
  }
  return result;
}

// Whether a chunk's spec selects no task, without listing its tasks (a chunk may hold 10^4).
function selectsNothing(spec: string, numTasks: number): boolean {
  return parseSlice(spec).parts.every((part) => {
    if (part.kind === "index") {
      return selectIndices({ text: spec, parts: [part] }, numTasks) && false;
    }
    const step = part.step ?? 1;
    if (step !== 1) return selectIndices({ text: spec, parts: [part] }, numTasks).length === 0;
    const clamp = (v: number | undefined, d: number) =>
      v === undefined ? d : v < 0 ? Math.max(v + numTasks, 0) : Math.min(v, numTasks);
    return clamp(part.stop, numTasks) <= clamp(part.start, 0);
  });
}

// POSIX sh's reserved words: as a command's first word they would be syntax.
const SHELL_KEYWORDS = new Set(
  "! { } case do done elif else esac fi for if in then until while function select time [[ ]]"
    .split(" "),
);

// The umask of this process, read by setting it and putting it back (Deno has no getter).
function processUmask(): string {
  try {
    const mask = Deno.umask(0);
    Deno.umask(mask);
    return mask.toString(8).padStart(3, "0");
  } catch {
    return "007"; // Deno.umask is not available (Windows): the mask of the seed's scripts
  }
}

function printNotice(message: string): void {
  console.error(`arrayjob: ${message}`);
}

/**
 * Whether the array tasks of a job rendered with these options keep records: not when records
 * are turned off, nor when the job's own template has no `{{#record_dir}}` block (the seed's).
 * Without records, which tasks succeeded is unknown: status says the job is not tracked.
 *
 * @param options The job's options, as its manifest keeps them.
 * @returns True when every array task writes its record.
 *
 * @example
 * ```ts
 * import { keepsRecords } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(keepsRecords({}), true);
 * assert.equal(keepsRecords({ template: "#!/bin/sh\n{{{command}}}\n" }), false);
 * assert.equal(keepsRecords({ template: "#!/bin/sh\n{{> body}}\n" }), true);
 * assert.equal(keepsRecords({ records: false }), false);
 * ```
 */
export function keepsRecords(options: { template?: string; records?: boolean }): boolean {
  return options.records !== false &&
    (options.template === undefined || templateNames(options.template, "record_dir"));
}

// Whether a template, or the built-in body it includes, uses a value.
function templateNames(template: string, name: string): boolean {
  if (/\{\{>\s*body\s*\}\}/.test(template) && templateNames(BODY, name)) return true;
  return template.includes(`{{#${name}}}`) || template.includes(`{{{${name}}}}`) ||
    template.includes(`{{${name}}}`);
}

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
 * import { wholeNumber } from "./script.ts";
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

// Directive lines are parsed by the scheduler, not by a shell: a value must stay on its line and
// be one word, since neither scheduler's quoting is portable across versions.
function directiveWord(name: string, value: string): void {
  if (value === "" || /[\s"'\\]/.test(value) || hasControlCharacter(value)) {
    throw new ArrayJobError(
      `${JSON.stringify(value)} cannot go into a directive line: it must be non-empty, ` +
        `without spaces, quotes, backslashes or control characters`,
      name,
    );
  }
}

// Paths may hold spaces (they are then double-quoted), but nothing that a scheduler would expand
// or unquote: SGE expands $VARIABLE in paths, and neither scheduler escapes quotes portably.
function directivePath(name: string, value: string): void {
  if (/["'\\$`]/.test(value) || hasControlCharacter(value)) {
    throw new ArrayJobError(
      `${JSON.stringify(value)} cannot go into a directive line: it must not contain ` +
        `quotes, backslashes, "$", backticks or control characters (spaces are fine)`,
      name,
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
      `${JSON.stringify(text)} is not a memory size: expected a number with K, M, G ` +
        `or T, like 500M, 4G or 1.5G`,
      name,
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
// A program's own script: what runTasks --cluster-script renders

/**
 * The options of the script that runs a program itself (`runTasks --cluster-script`): the
 * command is this Deno (`deno run --cached-only`, since compute nodes often have no network and
 * this run has just filled the cache) with the permissions this process was granted, and the
 * program; the job name defaults to the program's stem.
 *
 * @param numTasks The number of tasks in the program's list.
 * @param program The program's path or URL.
 * @param settings The other options.
 * @returns The options for {@linkcode renderJob}.
 *
 * @example
 * ```ts
 * import { programOptions } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * const options = programOptions(6, "/home/me/sweep.ts", { step: 2 });
 * assert.equal(options.jobName, "sweep");
 * assert.deepEqual(options.command.slice(1, 3), ["run", "--cached-only"]);
 * assert.equal(options.command.at(-1), "/home/me/sweep.ts");
 * ```
 */
export function programOptions(
  numTasks: number,
  program: string | URL,
  settings: Partial<WriteClusterScriptsOptions>,
): WriteClusterScriptsOptions {
  const url = new URL(program, `file://${Deno.cwd()}/`);
  const programWord = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  const jobName = settings.jobName ?? defaultJobName(["deno", programWord]);
  const recordsDir = path.join(resolveOutputDir(settings, jobName), RECORDS_DIR);
  const permissions = grantedPermissionFlags(recordsDir);
  const { deno: chosen, ...rest } = settings;
  let deno = chosen;
  if (deno === undefined) {
    const where = unsharedPlace(Deno.execPath());
    deno = where === undefined ? Deno.execPath() : "deno";
    if (where !== undefined) {
      (settings.onNotice ?? printNotice)(
        `this Deno is in ${where}, which compute nodes are unlikely to share: the script runs ` +
          `deno from their PATH (--deno PATH names another)`,
      );
    }
  }
  const command = [deno, "run", PROGRAM_RUN, ...permissions, programWord];
  return { ...rest, numTasks, command, jobName, scriptFile: programWord, taskLists: true };
}

// Array tasks run from the cache this run filled: compute nodes often have no network.
const PROGRAM_RUN = "--cached-only";

/**
 * Where a program lives that compute nodes are unlikely to see, or `undefined`: npx's private
 * cache (`npx -y deno@2` unpacks Deno there, and clears it at will), another package runner's
 * cache (pnpm dlx, yarn dlx, bunx), or a temporary directory.
 *
 * @param file An absolute path, such as `Deno.execPath()`.
 * @returns A short description of the place, or `undefined` for a path worth sharing.
 *
 * @example
 * ```ts
 * import { unsharedPlace } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(unsharedPlace("/home/me/.npm/_npx/4f3a/node_modules/deno/deno"), "npx's cache");
 * assert.equal(unsharedPlace("/tmp/x/deno"), "a temporary directory");
 * assert.equal(unsharedPlace("/home/me/.deno/bin/deno"), undefined);
 * assert.equal(unsharedPlace("/usr/lib/node_modules/deno/deno"), undefined); // npm install -g
 * ```
 */
export function unsharedPlace(file: string): string | undefined {
  if (/\/_npx\//.test(file)) return "npx's cache";
  // pnpm dlx, yarn dlx and bunx keep theirs here; a global npm install (/usr/lib/node_modules)
  // is an install like any other.
  if (/\/\.cache\/(pnpm|yarn)\/|\/\.bun\/install\/cache\//.test(file)) {
    return "a package runner's cache";
  }
  if (/^\/(tmp|var\/tmp|dev\/shm|private\/var\/folders)\//.test(file)) {
    return "a temporary directory";
  }
  return undefined;
}

/**
 * Whether two commands run the same job's tasks: the same words, except that for a program's
 * own command ({@linkcode programOptions}) only the program counts, so that rendering again
 * with other permissions or another Deno is the same job.
 *
 * @param a One job's command.
 * @param b The other's.
 * @returns Whether the tasks are the same.
 *
 * @example
 * ```ts
 * import { sameJobCommand } from "./script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(sameJobCommand(["deno", "run", "--cached-only", "-A", "/a.ts"], ["/x/deno", "run", "--cached-only", "--allow-env", "/a.ts"]));
 * assert.ok(!sameJobCommand(["python3", "a.py"], ["python3", "b.py"]));
 * ```
 */
export function sameJobCommand(a: readonly string[], b: readonly string[]): boolean {
  const program = (command: readonly string[]) =>
    command[1] === "run" && command[2] === PROGRAM_RUN ? command.at(-1) : undefined;
  if (program(a) !== undefined && program(b) !== undefined) return program(a) === program(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

// The array tasks get the permissions this process was granted in full, so that a script run
// with -A, or with --allow-read --allow-write, behaves the same on the cluster.
// Beyond those, an array task needs to read its record variable and write its record.
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

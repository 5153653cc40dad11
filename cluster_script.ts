/**
 * The cluster-script half of arrayjob: strict Mustache rendering, the schedulers' dialects, option
 * validation, and writing scripts, manifests and chunk maps. mod.ts documents and exports its
 * public functions and loads this file on first use, so that an array task, which only selects
 * and runs its tasks, never loads it. A function exported under the same name by mod.ts is
 * documented there.
 *
 * @module
 */

import * as path from "node:path";
import {
  ArrayJobError,
  type RunSummary,
  type RunTasksOptions,
  type Scheduler,
  SCHEDULERS,
  selectIndices,
  shellQuote,
} from "./mod.ts";
import type { ParsedClusterArgs } from "./cluster_args.ts";

// Not a literal import, so that `arrayjob status` and the fake's `check`, which load this file
// for the dialects, never need npm:mustache (a cold cache without network would fail them).
const MUSTACHE = "./_mustache.ts";

// The name runTasks (mod.ts) reads its record file from, and the templates set.
const RECORD_VARIABLE = "ARRAYJOB_RECORD";

// ---------------------------------------------------------------------------------------------
// Rendering: Mustache with strict missing tags

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
    const { default: Mustache } = await import(MUSTACHE) as typeof import("./_mustache.ts");
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

// ---------------------------------------------------------------------------------------------
// Cluster scripts

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
export interface Dialect {
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

export const DIALECTS: Record<Scheduler, Dialect> = { sge: SGE, slurm: SLURM };

function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function formatMebibytes(mebibytes: number): string {
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024}G` : `${mebibytes}M`;
}

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

export const MANIFEST = "arrayjob.json";
export const RECORDS = "records";

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

interface ScriptPlan {
  view: Record<string, unknown>;
  template: string;
  scriptPath: string;
  outputDir: string;
  chunkMap?: { path: string; text: string };
  manifest: JobManifest;
}

async function writeScripts(plans: ScriptPlan[]): Promise<string[]> {
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
  const outputDir = resolveOutputDir(options, jobName);
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
function resolveOutputDir(
  options: Pick<ClusterScriptOptions, "workDir" | "outputDir">,
  jobName: string,
): string {
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

export function wholeNumber(name: string, value: unknown, minimum: number): number {
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
// runTasks --cluster-script: the script for the very script that calls runTasks

export async function ownClusterScript(
  numTasks: number,
  { options: fromArgs, positionals }: ParsedClusterArgs,
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
  const recordsDir = `${resolveOutputDir(settings, jobName)}/${RECORDS}`;
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

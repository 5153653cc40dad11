/**
 * Planning an array job: the options checked, the values a template gets, and the job's scripts
 * rendered ({@linkcode renderJob}, {@linkcode clusterScript}), one or several. Nothing here
 * writes a file (job_dir.ts does), and nothing here knows the command line (script_flags.ts
 * does). This is also the `./script` entry, so it re-exports the options, the templates and a
 * program's own options from the modules that own them.
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
import { DEFAULT_SCHEDULER, dialectOf, type RenderDialect } from "./dialects.ts";
import {
  type ClusterScriptOptions,
  defaultJobName,
  directiveLine,
  directivePath,
  directiveWord,
  mebibytes,
  printNotice,
  RECORDS_DIR,
  resolveOutputDir,
  seconds,
  wholeNumber,
  type WriteClusterScriptOptions,
  type WriteClusterScriptsOptions,
} from "./script_options.ts";
import { userValues } from "./template_values.ts";
import { builtinTemplate, checkUserTemplate, renderScript, templateNames } from "./template.ts";

export {
  type ClusterScriptOptions,
  RECORDS_DIR,
  wholeNumber,
  type WriteClusterScriptOptions,
  type WriteClusterScriptsOptions,
} from "./script_options.ts";
export { TEMPLATE_VALUES, type TemplateValue } from "./template_values.ts";
export { builtinTemplate, renderScript } from "./template.ts";
export { programOptions, sameJobCommand, unsharedPlace } from "./own_script.ts";

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
    record_exit_format: printfFormat("exit"),
  };
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

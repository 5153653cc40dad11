/**
 * The command-line flags that describe a cluster script, shared by `arrayjob script` and a
 * script's own `--cluster-script`, so that both accept exactly the same options. This is the one
 * place arrayjob imports `node:util`; mod.ts loads it only when a script is rendered.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ArrayJobError, type Scheduler, type WriteClusterScriptsOptions } from "./mod.ts";

/** The flags, as `node:util` parseArgs options; their help text is {@linkcode CLUSTER_FLAGS_HELP}. */
export const CLUSTER_FLAGS = {
  scheduler: { type: "string" },
  "num-tasks": { type: "string" },
  step: { type: "string" },
  cpus: { type: "string" },
  memory: { type: "string" },
  "memory-per-cpu": { type: "string" },
  "memory-resource": { type: "string" },
  time: { type: "string" },
  queue: { type: "string" },
  pe: { type: "string" },
  "job-name": { type: "string" },
  "output-dir": { type: "string" },
  "work-dir": { type: "string" },
  wait: { type: "boolean" },
  throttle: { type: "string" },
  directive: { type: "string", multiple: true },
  template: { type: "string" },
  "max-array-size": { type: "string" },
  split: { type: "boolean" },
  out: { type: "string" },
} as const;

/** Help text for {@linkcode CLUSTER_FLAGS}, one flag a line. */
export const CLUSTER_FLAGS_HELP =
  `  --scheduler sge|slurm    which scheduler's script (default: sge)
  --step N                 tasks per array task (default: 1); array size = ceil(tasks/N)
  --cpus N                 CPUs per array task (default: 1; Grid Engine: -pe PE N when N > 1)
  --memory SIZE            memory per array task, e.g. 4G or 500M (Grid Engine: per slot)
  --memory-per-cpu SIZE    memory per CPU instead (Slurm --mem-per-cpu)
  --memory-resource NAME   Grid Engine memory complex (default: mem_free; m_mem_free on
                           Univa/Altair, h_vmem for a hard limit)
  --time T                 runtime limit: seconds, H:MM:SS or D-HH:MM:SS
  --queue NAME             Grid Engine queue or Slurm partition
  --pe NAME                Grid Engine parallel environment for --cpus > 1 (default: smp)
  --job-name NAME          job name (default: the script's stem)
  --output-dir DIR         logs and run.sh go here (default: the job name)
  --work-dir DIR           the command runs here (default: the current directory)
  --wait                   submit blocks until all tasks end (qsub -sync y, sbatch --wait)
  --throttle N             at most N array tasks at once (qsub -tc N, sbatch --array=...%N)
  --directive LINE         an extra directive line without its prefix, e.g. "-l gpu=1";
                           repeatable
  --template FILE          a Mustache template to use instead of the built-in one
  --max-array-size N       the scheduler's array limit (default: 1001 Slurm, 75000 Grid
                           Engine); a larger array gets a larger step, or with --split
                           several scripts
  --split                  keep the step and write one script per part of an array larger
                           than --max-array-size (run-1.sh, run-2.sh, ...)
  --out FILE|-             where to write the script (default: OUTPUT_DIR/run.sh); - prints it`;

/** The result of {@linkcode parseClusterArgs}. */
export interface ParsedClusterArgs {
  /** The options the flags set; absent flags are absent here. */
  options: Partial<WriteClusterScriptsOptions>;
  /** Arguments that are not flags. */
  positionals: string[];
}

/**
 * Parses cluster-script flags strictly: an unknown flag or a malformed number is an error.
 *
 * @param args The arguments, without the command that follows `--`.
 * @returns The options and the positional arguments.
 * @throws {ArrayJobError} On an unknown flag, a missing value or a bad number.
 *
 * @example
 * ```ts
 * import { parseClusterArgs } from "./cluster_args.ts";
 * import assert from "node:assert/strict";
 *
 * const { options } = parseClusterArgs(["--scheduler", "slurm", "--step=4", "--wait"]);
 * assert.deepEqual(options, { scheduler: "slurm", step: 4, wait: true });
 * ```
 */
export function parseClusterArgs(args: readonly string[]): ParsedClusterArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: CLUSTER_FLAGS,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new ArrayJobError(`${(error as Error).message}; see --help for the options`);
  }
  const v = parsed.values;
  const whole = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    if (!/^[0-9]+$/.test(text)) {
      throw new ArrayJobError(`--${flag} ${JSON.stringify(text)}: expected a whole number`);
    }
    return Number(text);
  };
  const options: Partial<WriteClusterScriptsOptions> = {
    scheduler: v.scheduler as Scheduler | undefined,
    numTasks: whole("num-tasks", v["num-tasks"]),
    step: whole("step", v.step),
    cpus: whole("cpus", v.cpus),
    memory: v.memory,
    memoryPerCpu: v["memory-per-cpu"],
    memoryResource: v["memory-resource"],
    time: v.time,
    queue: v.queue,
    pe: v.pe,
    jobName: v["job-name"],
    outputDir: v["output-dir"],
    workDir: v["work-dir"],
    wait: v.wait,
    throttle: whole("throttle", v.throttle),
    extraDirectives: v.directive,
    template: v.template === undefined ? undefined : readTemplate(v.template),
    maxArraySize: whole("max-array-size", v["max-array-size"]),
    split: v.split,
    out: v.out,
  };
  for (const key of Object.keys(options) as (keyof typeof options)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return { options, positionals: parsed.positionals };
}

/**
 * Rewrites an {@linkcode ArrayJobError} about an option so that it names the command-line flag a
 * user typed (`--job-name`) instead of the library's option (`jobName`).
 *
 * @param error The error from mod.ts.
 * @returns The same error, or one whose message starts with the flag.
 *
 * @example
 * ```ts
 * import { ArrayJobError } from "./mod.ts";
 * import { inFlagTerms } from "./cluster_args.ts";
 * import assert from "node:assert/strict";
 *
 * const error = inFlagTerms(new ArrayJobError('jobName "a b" cannot go into a directive line'));
 * assert.equal(error.message, '--job-name "a b" cannot go into a directive line');
 * ```
 */
export function inFlagTerms(error: ArrayJobError): ArrayJobError {
  const [word] = error.message.split(" ", 1);
  const flag = Object.keys(CLUSTER_FLAGS).find((name) =>
    name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) === word
  );
  return flag === undefined
    ? error
    : new ArrayJobError(`--${flag}${error.message.slice(word!.length)}`);
}

function readTemplate(file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    throw new ArrayJobError(
      `--template ${JSON.stringify(file)} cannot be read: ${(error as Error).message}`,
    );
  }
}

/**
 * The scheduler table: every fact arrayjob knows about a scheduler, as data. The renderer, the
 * job directory and the command line look facts up here and never branch on a scheduler's name;
 * adding a scheduler (PBS, LSF) means one more entry in {@linkcode DIALECTS} and one header
 * template in `templates/`.
 *
 * @example Looking up a dialect
 * ```ts
 * import { DEFAULT_SCHEDULER, dialectOf, submitCommand } from "./dialects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_SCHEDULER, "sge");
 * assert.equal(dialectOf("slurm").maxArraySize, 1001);
 * assert.deepEqual(submitCommand("sge", "out/run.sh", true), ["qsub", "-sync", "y", "out/run.sh"]);
 * ```
 *
 * @module
 */

import { ArrayJobError } from "./mod.ts";

/** The schedulers arrayjob renders scripts for. */
export type Scheduler = "sge" | "slurm";

/** The scheduler used when none is named: the seed's Grid Engine. */
export const DEFAULT_SCHEDULER: Scheduler = "sge";

/** What one scheduler's scripts and commands look like. */
export interface RenderDialect {
  /** The name users give to `--scheduler`. */
  readonly name: Scheduler;
  /** Its name for people: "Grid Engine". */
  readonly title: string;
  /** The prefix of a directive line in a script: `#$`, `#SBATCH`. */
  readonly directivePrefix: string;
  /** The directive that declares the array, named when a script is run without it. */
  readonly arrayDirective: string;
  /** The environment variable holding the array task's index. */
  readonly arrayTaskVariable: string;
  /** The environment variable holding the array job's id. */
  readonly jobIdVariable: string;
  /** The index of the first array task. */
  readonly firstArrayIndex: number;
  /**
   * The default limit on the number of array tasks: Grid Engine's `max_aj_tasks` (sge_conf(5)),
   * Slurm's `MaxArraySize` (slurm.conf(5), indices 0 to 1000).
   */
  readonly maxArraySize: number;
  /** How the log file of one array task is named; the output directory is prefixed. */
  readonly logName: string;
  /** How a literal "%" is written in a log path (Slurm reads `%j`, `%A` as filename patterns). */
  readonly literalPercent: string;
  /** What a job name may not contain, per the scheduler's manual. */
  readonly badJobName: RegExp;
  /** The program that submits a script. */
  readonly submitProgram: string;
  /** The flags that make the submit program block until the job has ended. */
  readonly waitFlags: readonly string[];
  /** A runtime limit in the scheduler's spelling. */
  formatTime(seconds: number): string;
  /** The template values that request memory, from sizes in MiB. */
  memory(
    mebibytes: { total?: number; perCpu?: number },
    cpus: number,
    resource: string,
  ): Record<string, string>;
}

const SGE: RenderDialect = {
  name: "sge",
  title: "Grid Engine",
  directivePrefix: "#$",
  arrayDirective: "#$ -t",
  arrayTaskVariable: "SGE_TASK_ID",
  jobIdVariable: "JOB_ID",
  firstArrayIndex: 1,
  maxArraySize: 75000,
  logName: "$JOB_NAME.o$JOB_ID.$TASK_ID",
  literalPercent: "%",
  // sge_types(1): a name may not contain "\n \t \r / : @ \ * ?" nor start with a digit.
  badJobName: /[\s/:@\\*?]|^[0-9]/,
  submitProgram: "qsub",
  waitFlags: ["-sync", "y"],
  formatTime: (seconds) => hms(seconds),
  memory({ total, perCpu }, cpus, resource) {
    // Grid Engine's memory complexes count per slot, so a task's total is split over its slots.
    const perSlot = perCpu ?? Math.ceil(total! / cpus);
    return { memory: `${resource}=${formatMebibytes(perSlot)}` };
  },
};

const SLURM: RenderDialect = {
  name: "slurm",
  title: "Slurm",
  directivePrefix: "#SBATCH",
  arrayDirective: "#SBATCH --array",
  arrayTaskVariable: "SLURM_ARRAY_TASK_ID",
  jobIdVariable: "SLURM_ARRAY_JOB_ID",
  firstArrayIndex: 0,
  maxArraySize: 1001,
  logName: "%x.o%A.%a",
  literalPercent: "%%",
  // Slurm takes almost any name; these would break its own filename patterns or our directives.
  badJobName: /[\s%\\"']/,
  submitProgram: "sbatch",
  waitFlags: ["--wait"],
  formatTime(seconds) {
    // Slurm counts whole minutes; D-HH:MM:SS keeps long limits readable.
    const days = Math.floor(seconds / 86400);
    return days > 0 ? `${days}-${hms(seconds % 86400).padStart(8, "0")}` : hms(seconds);
  },
  memory({ total, perCpu }): Record<string, string> {
    if (total !== undefined) return { memory: formatMebibytes(total) };
    return { memory_per_cpu: formatMebibytes(perCpu!) };
  },
};

/** Every scheduler's dialect, by name. */
export const DIALECTS: Readonly<Record<Scheduler, RenderDialect>> = { sge: SGE, slurm: SLURM };

/** The schedulers arrayjob renders scripts for, in the order `--help` lists them. */
export const SCHEDULERS: readonly Scheduler[] = Object.keys(DIALECTS) as Scheduler[];

/**
 * The dialect of a scheduler named by a user.
 *
 * @param name A scheduler's name, such as `--scheduler` gives it.
 * @returns Its dialect.
 * @throws {ArrayJobError} When arrayjob knows no such scheduler (its `option` is `scheduler`).
 *
 * @example
 * ```ts
 * import { dialectOf } from "./dialects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(dialectOf("sge").firstArrayIndex, 1);
 * assert.throws(() => dialectOf("pbs"), /unknown scheduler "pbs": expected sge or slurm/);
 * ```
 */
export function dialectOf(name: string): RenderDialect {
  if (!Object.hasOwn(DIALECTS, name)) {
    throw new ArrayJobError(
      `unknown scheduler ${JSON.stringify(name)}: expected ${SCHEDULERS.join(" or ")}`,
    );
  }
  return DIALECTS[name as Scheduler];
}

/**
 * The command that submits a written script, as words: `qsub -sync y run.sh`,
 * `sbatch --wait run.sh`.
 *
 * @param scheduler The script's scheduler.
 * @param scriptPath The script's path.
 * @param wait Whether the command should block until the job has finished.
 * @returns The command's words.
 * @throws {ArrayJobError} When the scheduler is unknown.
 *
 * @example
 * ```ts
 * import { submitCommand } from "./dialects.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(submitCommand("slurm", "out/run.sh", true), ["sbatch", "--wait", "out/run.sh"]);
 * ```
 */
export function submitCommand(scheduler: Scheduler, scriptPath: string, wait = false): string[] {
  const dialect = dialectOf(scheduler);
  return [dialect.submitProgram, ...(wait ? dialect.waitFlags : []), scriptPath];
}

function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

function formatMebibytes(mebibytes: number): string {
  return mebibytes % 1024 === 0 ? `${mebibytes / 1024}G` : `${mebibytes}M`;
}

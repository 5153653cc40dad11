/**
 * The values a template can use ({@linkcode TEMPLATE_VALUES}), and the further values a user
 * gives with `--set NAME=VALUE`, checked against them.
 *
 * @example The seed's values are there
 * ```ts
 * import { TEMPLATE_VALUES } from "./template_values.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(TEMPLATE_VALUES.some((value) => value.name === "script_file"));
 * ```
 *
 * @module
 */

import { ArrayJobError } from "./mod.ts";
import { hasControlCharacter } from "./script_options.ts";

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
 * import { TEMPLATE_VALUES } from "./template_values.ts";
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
  {
    name: "record_exit_format",
    kind: "value",
    meaning: "printf format of a record's last line, written when the array task exits",
    example: "exit\\t%s\\n",
  },
];

/**
 * Whether a name is a plain value name: identifiers, dotted for a value's field. Names an object
 * has from its prototype (`constructor`, `toString`, `__proto__`) are not: they would render
 * JavaScript internals.
 *
 * @param name A tag's or a value's name.
 * @returns Whether it is plain.
 *
 * @example
 * ```ts
 * import { plainName } from "./template_values.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(plainName("pe.slots"));
 * assert.ok(!plainName("constructor"));
 * assert.ok(!plainName("a-b"));
 * ```
 */
export function plainName(name: string): boolean {
  return name.split(".").every((part) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(part) && !(part in Object.prototype) && !part.startsWith("__")
  );
}

/**
 * Checks the values given with `--set` ({@linkcode ClusterScriptOptions.values}): plain names
 * that arrayjob does not give itself, each value one line of text.
 *
 * @param values The values, name to text.
 * @returns The same values, checked.
 * @throws {ArrayJobError} When a name or value is refused, with `option` set to `values`.
 *
 * @example
 * ```ts
 * import { userValues } from "./template_values.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(userValues({ conda_env: "fit" }), { conda_env: "fit" });
 * assert.throws(() => userValues({ job_name: "x" }), /job_name is a value arrayjob gives/);
 * ```
 */
export function userValues(
  values: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
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

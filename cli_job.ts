/**
 * The commands that write a job's scripts: `arrayjob script` (an array-job script for any
 * command), `arrayjob resubmit` (one for the tasks not done) and `arrayjob templates` (the
 * built-in templates to copy and edit).
 *
 * @example Printing a script instead of writing it
 * ```ts
 * import { SCRIPT_COMMAND } from "./cli_job.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await SCRIPT_COMMAND.run(["--num-tasks", "4", "--out", "-", "--", "./fit"]), 0);
 * ```
 *
 * @module
 */

import { ArrayJobError } from "./mod.ts";
import { DEFAULT_SCHEDULER, type Scheduler, SCHEDULERS, submitCommand } from "./dialects.ts";
import { TEMPLATE_VALUES } from "./template_values.ts";
import { builtinTemplate } from "./template.ts";
import { clusterScript } from "./script.ts";
import { parseScriptFlags } from "./script_flags.ts";
import { TaskSet } from "./task_set.ts";
import { readManifest, submitHints, writeClusterScripts } from "./job_dir.ts";
import { writeResubmitScript } from "./resubmit.ts";
import { liveStatus } from "./lifecycle.ts";
import { type CliOption, type Command, MOST_RANGES_SHOWN, shortList } from "./cli_command.ts";

const WHICH_OPTIONS: readonly CliOption[] = [
  { flag: "failed", type: "boolean", help: ["only the tasks that failed"] },
  { flag: "missing", type: "boolean", help: ["only the tasks that never finished"] },
  { flag: "all-not-done", type: "boolean", help: ["both (the default)"] },
];

// What each built-in template is, for 'arrayjob templates'.
const BUILTIN_TEMPLATES: Record<Scheduler | "body", string> = {
  sge: "Grid Engine header (#$ lines: -N, -o, -l, -t 1-N, -q), then {{> body}}",
  slurm: "Slurm header (#SBATCH lines: --job-name, --array=0-N, --mem, --time), then {{> body}}",
  body: "the shared shell body: finds its chunk, runs the command once per START:STOP range " +
    "(runTasks scripts once per chunk), writes the records",
};

/**
 * `arrayjob script [options] -- COMMAND`: writes (or with `--out -` prints) an array-job script.
 *
 * @example
 * ```ts
 * import { SCRIPT_COMMAND } from "./cli_job.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await SCRIPT_COMMAND.run(["--num-tasks", "4"]), /needs the command after --/);
 * ```
 */
export const SCRIPT_COMMAND: Command = {
  synopsis: "script [options] -- COMMAND [ARGS...]",
  summary: [
    "write an array-job script that runs COMMAND ARGS --tasks=START:STOP",
    "once per chunk of tasks (any program: Python, R, a shell script)",
  ],
  about: `Usage: arrayjob script --num-tasks N [options] -- COMMAND [ARGS...]

Writes a cluster array-job script in which array task k runs
  COMMAND ARGS --tasks=START:STOP
for its chunk of the N tasks, prints where it wrote it and how to submit it.`,
  scriptFlags: { use: "script", heading: "Options:" },
  run: script,
};

/**
 * `arrayjob templates [NAME|--values]`: lists the built-in templates, prints one, or lists the values.
 *
 * @example
 * ```ts
 * import { TEMPLATES_COMMAND } from "./cli_job.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await TEMPLATES_COMMAND.run(["--values"]), 0);
 * ```
 */
export const TEMPLATES_COMMAND: Command = {
  synopsis: "templates [NAME|--values]",
  summary: ["list the built-in templates, or print one to copy and edit"],
  about: `Usage: arrayjob templates [${SCHEDULERS.join("|")}|body|--values]

Without a name, lists the built-in templates and what each is; with one, prints it, to
copy, edit and pass to 'arrayjob script --template FILE'; --values lists every value a
template can use, with its meaning and an example. Each scheduler's template is its header, which
includes the shared shell body with {{> body}}: 'arrayjob templates body' prints that body,
and an edited header keeps the built-in one.`,
  run: templates,
};

/**
 * `arrayjob resubmit DIR`: writes a script that runs only the tasks that are not done.
 *
 * @example
 * ```ts
 * import { RESUBMIT_COMMAND } from "./cli_job.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await RESUBMIT_COMMAND.run(["--failed", "--missing", "fit"]), /give one of/);
 * ```
 */
export const RESUBMIT_COMMAND: Command = {
  synopsis: "resubmit DIR",
  summary: [
    "write a script that runs only the tasks that are not done (and not",
    "running or pending)",
  ],
  about:
    `Usage: arrayjob resubmit DIR [--failed|--missing|--all-not-done] [--include-live] [options]

Writes DIR/resubmit-N.sh, which runs exactly the tasks that are not done (default), only
the failed ones, or only those that never finished, grouped --step at a time through a
chunk map (DIR/resubmit-N.chunks, line k = the tasks of array task k). Its records join
the job's, so 'arrayjob status DIR' afterwards shows the union. Tasks the scheduler says are
running or pending (or may be, when it cannot be asked) are left out and named.`,
  options: [
    ...WHICH_OPTIONS,
    {
      flag: "include-live",
      type: "boolean",
      help: ["put in the running and pending tasks too"],
    },
  ],
  scriptFlags: {
    use: "resubmit",
    heading: "Options that change for the resubmission (the rest stay the job's own):",
  },
  run: resubmit,
};

async function script(args: string[]): Promise<number> {
  const end = args.indexOf("--");
  if (end === -1 || end === args.length - 1) {
    throw new ArrayJobError(
      "script needs the command after --, e.g. arrayjob script --num-tasks 100 -- python3 fit.py",
    );
  }
  const { options, positionals } = parseScriptFlags(args.slice(0, end), "script");
  if (positionals.length > 0) {
    throw new ArrayJobError(
      `unexpected argument ${JSON.stringify(positionals[0])}: the command goes after --`,
    );
  }
  if (options.numTasks === undefined) {
    throw new ArrayJobError("script needs --num-tasks N: how many tasks the command's list has");
  }
  const full = { ...options, numTasks: options.numTasks, command: args.slice(end + 1) };
  if (options.out === "-") {
    const text = await clusterScript(full);
    await Deno.stdout.write(new TextEncoder().encode(text));
    return 0;
  }
  const paths = await writeClusterScripts(full);
  console.error(`arrayjob: wrote ${paths.join(", ")} for ${full.numTasks} tasks`);
  printSubmitHelp(full.scheduler ?? DEFAULT_SCHEDULER, paths, full.wait);
  console.log(paths.join("\n"));
  return 0;
}

function printSubmitHelp(scheduler: Scheduler, paths: readonly string[], wait?: boolean): void {
  const submits = paths.map((path) => submitCommand(scheduler, path, wait));
  for (const line of submitHints(submits, paths)) console.error(line);
}

async function resubmit(args: string[]): Promise<number> {
  const which = WHICH_OPTIONS.map(({ flag }) => flag).filter((w) => args.includes(`--${w}`)) as (
    | "failed"
    | "missing"
    | "all-not-done"
  )[];
  if (which.length > 1) {
    throw new ArrayJobError(
      `give one of ${WHICH_OPTIONS.map(({ flag }) => `--${flag}`).join(", ")}, not ${which.length}`,
    );
  }
  const includeLive = args.includes("--include-live");
  const rest = args.filter((a) =>
    a !== "--include-live" && !WHICH_OPTIONS.some(({ flag }) => a === `--${flag}`)
  );
  const { options, positionals } = parseScriptFlags(rest, "resubmit");
  if (positionals.length !== 1) {
    throw new ArrayJobError("resubmit takes one DIR: the job's output directory (where run.sh is)");
  }
  const dir = positionals[0]!;
  const manifest = await readManifest(dir);
  const live = includeLive ? undefined : await liveStatus(dir);
  const exclude = new TaskSet(
    live === undefined
      ? []
      : [live.running, live.pending, live.runningOrLost, live.pendingOrLost].flatMap((t) =>
        t.ranges
      ),
  );
  if (exclude.length > 0) {
    console.error(
      `arrayjob: left out ${exclude.length} tasks that are running or pending` +
        `${
          live!.schedulerNote === undefined ? "" : " or may be (the scheduler could not be asked)"
        }: ` +
        `${shortList(exclude)}; --include-live puts them in`,
    );
  }
  const result = await writeResubmitScript(dir, { which: which[0], overrides: options, exclude });
  if (result.path === undefined) {
    console.error(
      `arrayjob: nothing to resubmit: no task of ${manifest.numTasks} is ${which[0] ?? "not done"}`,
    );
    return 0;
  }
  console.error(
    `arrayjob: wrote ${result.path}: ${result.indices.length} tasks ` +
      `(${result.indices.toString(MOST_RANGES_SHOWN)}) in ${result.numArrayTasks} array tasks`,
  );
  printSubmitHelp(
    options.scheduler ?? manifest.options.scheduler ?? DEFAULT_SCHEDULER,
    [result.path],
    options.wait ?? manifest.options.wait,
  );
  console.log(result.path);
  return 0;
}

async function templates(args: string[]): Promise<number> {
  if (args.length === 1 && args[0] === "--values") {
    console.log(
      "The values a template can use ({{{name}}}; a section {{#name}}…{{/name}} is there only " +
        "when set),\nplus any given with --set NAME=VALUE:\n",
    );
    for (const { name, kind, meaning, example } of TEMPLATE_VALUES) {
      const label = kind === "value" ? "" : `[${kind}] `;
      console.log(`${name.padEnd(20)} ${label}${meaning}  e.g. ${example}`);
    }
    return 0;
  }
  if (args.length > 1) {
    throw new ArrayJobError(`templates takes at most one NAME (${SCHEDULERS.join(", ")})`);
  }
  if (args.length === 0) {
    for (const name of [...SCHEDULERS, "body" as const]) {
      console.log(`${name.padEnd(6)} ${BUILTIN_TEMPLATES[name]}`);
    }
    console.log(
      "\n'arrayjob templates NAME' prints one to copy and edit (--template FILE); " +
        "'arrayjob templates --values' lists the values.",
    );
    return 0;
  }
  const text = builtinTemplate(args[0] as Scheduler | "body");
  await Deno.stdout.write(new TextEncoder().encode(text));
  return 0;
}

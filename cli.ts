/**
 * The arrayjob command line: task specs, cluster scripts for any program, the built-in
 * templates, and the fake scheduler that runs a script locally once per array index.
 *
 * ```sh
 * deno run -A cli.ts slice --count 10 -- -3:
 * deno run -A cli.ts script --scheduler slurm --num-tasks 100 --step 10 -- python3 fit.py
 * deno run -A cli.ts simulate fit/run.sh
 * ```
 *
 * @example Running a subcommand from a program
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["slice", "--count", "5", "1:3"]), 0);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  ArrayJobError,
  builtinTemplate,
  clusterScript,
  SCHEDULERS,
  selectIndices,
  shellQuote,
  submitCommand,
  writeClusterScript,
} from "./mod.ts";
import { CLUSTER_FLAGS_HELP, parseClusterArgs } from "./cluster_args.ts";
import denoJson from "./deno.json" with { type: "json" };

/** The version printed by `--version`, from deno.json. */
export const VERSION: string = denoJson.version;

const USAGE = `arrayjob ${VERSION}: turn a list of independent tasks into a cluster array job

Usage: arrayjob <command> [options]

Commands:
  script [options] -- COMMAND [ARGS...]
                      write an array-job script that runs COMMAND ARGS --tasks=START:STOP
                      once per chunk of tasks (any program: Python, R, a shell script)
  slice SPEC --count N
                      print the 0-based task indices SPEC selects from N tasks
  templates [NAME]    list the built-in templates, or print one to copy and edit
  simulate SCRIPT     run an array-job script locally on the fake scheduler, once per
                      array index, and report every task's exit status
  check SCRIPT        check a script's directives against what the scheduler accepts
  demo                render the example sweep and run it on the fake scheduler

Run 'arrayjob <command> --help' for a command's options. Also: --help, --version.`;

const SCRIPT_USAGE = `Usage: arrayjob script --num-tasks N [options] -- COMMAND [ARGS...]

Writes a cluster array-job script in which array task k runs
  COMMAND ARGS --tasks=START:STOP
for its chunk of the N tasks, prints where it wrote it and how to submit it.

Options:
  --num-tasks N            how many tasks the command's list has (required)
${CLUSTER_FLAGS_HELP}`;

const SLICE_USAGE = `Usage: arrayjob slice --count N [--] SPEC

Prints the 0-based indices that SPEC selects from a list of N tasks, one a line, with
Python's semantics of list[i] and list[a:b:c]; a comma list (1,5,7:9) is a union.
A SPEC that starts with "-" goes after "--": arrayjob slice --count 10 -- -3:`;

const TEMPLATES_USAGE = `Usage: arrayjob templates [${SCHEDULERS.join("|")}]

Without a name, lists the built-in templates; with one, prints it, to copy, edit and pass
to 'arrayjob script --template FILE'.`;

/**
 * Runs one arrayjob command line.
 *
 * @param args The arguments, without the program name.
 * @returns The exit code: 0 on success, 1 when the work failed, 2 for a usage error.
 *
 * @example
 * ```ts
 * import { main } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["slice", "--count", "3", "7"]), 2);
 * ```
 */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "slice":
        return slice(rest);
      case "script":
        return await script(rest);
      case "templates":
        return await templates(rest);
      case "simulate":
        return await (await import("./fake_scheduler/mod.ts")).simulateMain(rest);
      case "check":
        return await (await import("./fake_scheduler/mod.ts")).checkMain(rest);
      case "demo":
        return await (await import("./examples/demo.ts")).demo(rest);
      case "--version":
      case "-V":
        console.log(`arrayjob ${VERSION}`);
        return 0;
      case undefined:
      case "--help":
      case "-h":
      case "help":
        console.log(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new ArrayJobError(
          `unknown command ${JSON.stringify(command)}: expected script, slice, templates, ` +
            `simulate, check or demo (see --help)`,
        );
    }
  } catch (error) {
    if (!(error instanceof ArrayJobError)) throw error;
    console.error(`arrayjob: ${error.message}`);
    return 2;
  }
}

function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

function slice(args: string[]): number {
  if (wantsHelp(args)) return help(SLICE_USAGE);
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { count: { type: "string" } },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    const negative = args.find((a) => /^-[0-9:]/.test(a));
    throw new ArrayJobError(
      negative === undefined
        ? `${(error as Error).message}; see 'arrayjob slice --help'`
        : `a spec starting with "-" goes after "--": arrayjob slice --count N -- ${negative}`,
    );
  }
  const { count } = parsed.values;
  if (count === undefined || !/^[0-9]+$/.test(count)) {
    throw new ArrayJobError(
      `slice needs --count N, the number of tasks, as a whole number (got ${
        JSON.stringify(count ?? null)
      })`,
    );
  }
  if (parsed.positionals.length > 1) {
    throw new ArrayJobError(
      `slice takes one SPEC, got ${parsed.positionals.length}: ${
        parsed.positionals.map((p) => JSON.stringify(p)).join(" ")
      } (write a union as one comma list, like 1,5,7:9)`,
    );
  }
  const indices = selectIndices(parsed.positionals[0] ?? "", Number(count));
  if (indices.length > 0) console.log(indices.join("\n"));
  return 0;
}

async function script(args: string[]): Promise<number> {
  if (wantsHelp(args)) return help(SCRIPT_USAGE);
  const end = args.indexOf("--");
  if (end === -1 || end === args.length - 1) {
    throw new ArrayJobError(
      "script needs the command after --, e.g. arrayjob script --num-tasks 100 -- python3 fit.py",
    );
  }
  const { options, positionals } = parseClusterArgs(args.slice(0, end));
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
  const path = await writeClusterScript(full);
  const submit = submitCommand(full.scheduler ?? "sge", path, full.wait);
  console.error(
    `arrayjob: wrote ${path}: ${Math.ceil(full.numTasks / (full.step ?? 1))} array tasks for ` +
      `${full.numTasks} tasks`,
  );
  console.error(`submit with:  ${submit.map(shellQuote).join(" ")}`);
  console.error(`try it first: arrayjob simulate ${shellQuote(path)}`);
  console.log(path);
  return 0;
}

async function templates(args: string[]): Promise<number> {
  if (wantsHelp(args)) return help(TEMPLATES_USAGE);
  if (args.length > 1) {
    throw new ArrayJobError(`templates takes at most one NAME (${SCHEDULERS.join(", ")})`);
  }
  if (args.length === 0) {
    for (const name of SCHEDULERS) console.log(name);
    return 0;
  }
  const text = await builtinTemplate(args[0] as typeof SCHEDULERS[number]);
  await Deno.stdout.write(new TextEncoder().encode(text));
  return 0;
}

function help(text: string): number {
  console.log(text);
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

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

import { ArrayJobError } from "./mod.ts";
import { flagHelp, scriptFlagsHelp, withFlagName } from "./script_flags.ts";
import { SchedulerError } from "./queries.ts";
import { type Command, VERSION } from "./cli_command.ts";
import { SLICE_COMMAND } from "./cli_slice.ts";
import { RESUBMIT_COMMAND, SCRIPT_COMMAND, TEMPLATES_COMMAND } from "./cli_job.ts";
import { CANCEL_COMMAND, STATUS_COMMAND, SUBMIT_COMMAND } from "./cli_lifecycle.ts";
import { INSTALL_COMMAND } from "./cli_install.ts";

export { VERSION } from "./cli_command.ts";

// The fake scheduler and the demo load only when asked for.
const COMMANDS: Record<string, Command> = {
  script: SCRIPT_COMMAND,
  slice: SLICE_COMMAND,
  templates: TEMPLATES_COMMAND,
  simulate: {
    synopsis: "simulate SCRIPT",
    summary: [
      "run an array-job script locally on the fake scheduler, once per",
      "array index, and report every task's exit status",
    ],
    run: async (args) => (await import("./fake_scheduler/mod.ts")).simulateMain(args),
  },
  check: {
    synopsis: "check SCRIPT",
    summary: ["check a script's directives against what the scheduler accepts"],
    run: async (args) => (await import("./fake_scheduler/mod.ts")).checkMain(args),
  },
  submit: SUBMIT_COMMAND,
  status: STATUS_COMMAND,
  resubmit: RESUBMIT_COMMAND,
  cancel: CANCEL_COMMAND,
  install: INSTALL_COMMAND,
  demo: {
    synopsis: "demo",
    summary: ["render the example sweep and run it on the fake scheduler"],
    about: `Usage: arrayjob demo [--scheduler sge|slurm] [--step N] [--keep]

Renders the array-job script of examples/sweep.ts (12 tasks) with --cluster-script, submits
it to the fake scheduler, which runs every array task here, and checks that each task ran
exactly once and succeeded. Exit code: 0 when they did, 1 otherwise.`,
    options: [
      {
        flag: "scheduler",
        type: "string",
        value: "sge|slurm",
        help: ["whose script (default: sge)"],
      },
      { flag: "step", type: "string", value: "N", help: ["tasks per array task (default: 3)"] },
      { flag: "keep", type: "boolean", help: ["keep the temporary directory and say where"] },
    ],
    run: async (args) => (await import("./examples/demo.ts")).demo(args),
  },
};

const USAGE = `arrayjob ${VERSION}: turn a list of independent tasks into a cluster array job

Usage: arrayjob <command> [options]

Commands:
${
  Object.values(COMMANDS).map(({ synopsis, summary }) => {
    const lines = synopsis.length < 20
      ? [`  ${synopsis.padEnd(20)}${summary[0]}`]
      : [`  ${synopsis}`, `${" ".repeat(22)}${summary[0]}`];
    return [...lines, ...summary.slice(1).map((line) => `${" ".repeat(22)}${line}`)].join("\n");
  }).join("\n")
}

Run 'arrayjob <command> --help' for a command's options. Also: --help, --version.`;

// A command's --help, from its own description and option tables.
function commandHelp(command: Command): string {
  const parts = [command.about ?? `Usage: arrayjob ${command.synopsis}`];
  if (command.options) parts.push(flagHelp(command.options));
  if (command.scriptFlags) {
    parts.push(`${command.scriptFlags.heading}\n${scriptFlagsHelp(command.scriptFlags.use)}`);
  }
  return parts.join("\n\n");
}

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
    if (command === "--version" || command === "-V") {
      console.log(`arrayjob ${VERSION}`);
      return 0;
    }
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (run === undefined) {
      throw new ArrayJobError(
        `unknown command ${JSON.stringify(command)}: expected ${
          Object.keys(COMMANDS).join(", ")
        } (see --help)`,
      );
    }
    if (run.about !== undefined && wantsHelp(rest)) {
      console.log(commandHelp(run));
      return 0;
    }
    return await run.run(rest);
  } catch (error) {
    if (error instanceof SchedulerError) {
      console.error(`arrayjob: ${error.message}`);
      return 1;
    }
    // The file system's refusals (a full disk, a read-only mount, a directory where a file was
    // meant) are the environment's, not a bug: one line, exit 1.
    if (isFileSystemError(error)) {
      console.error(`arrayjob: ${oneLine((error as Error).message)}`);
      return 1;
    }
    if (!(error instanceof ArrayJobError)) throw error;
    console.error(`arrayjob: ${oneLine(withFlagName(error).message)}`);
    return error.exitCode;
  }
}

function isFileSystemError(error: unknown): boolean {
  return Object.values(Deno.errors).some((kind) => error instanceof kind) &&
    !(error instanceof ArrayJobError);
}

// A message shows control characters escaped, so a value holding a newline stays on one line.
function oneLine(message: string): string {
  // deno-lint-ignore no-control-regex
  return message.replace(/[\x00-\x1f\x7f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}

/**
 * Entry points of the fake scheduler for arrayjob's CLI and for library users:
 * {@link simulateMain} (`arrayjob simulate SCRIPT`: run a script through the face its directives
 * call for), {@link checkMain} (`arrayjob check SCRIPT`: validate directives without running) and
 * the functions behind them. The faces themselves are `qsub.ts` and `sbatch.ts`.
 *
 * @example Checking a script's directives
 * ```ts
 * import { checkScript } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const found = checkScript("#!/bin/sh\n#$ -t 1,3,5\necho hi\n");
 * assert.equal(found[0].severity, "error");
 * assert.equal(found[0].line, 2);
 * assert.match(found[0].message, /one range per -t/);
 * ```
 *
 * @module
 */

import { Cleanup, exitOnSignal } from "./cleanup.ts";
import {
  detectDialect,
  type Diagnostic,
  Findings,
  type Flavour,
  formatDiagnostic,
} from "./diagnostics.ts";
import { absolute, type Face } from "./face.ts";
import { consoleIO, type FaceIO } from "./io.ts";
import { UsageError } from "./job.ts";
import { FAKE_OPTIONS_HELP, type FakeOptions, type Parsed, takeFakeOptions } from "./options.ts";
import { SGE } from "./sge.ts";
import { SLURM } from "./slurm.ts";
import { checkText, submit, type SubmitResult } from "./submit.ts";

export { qsub, QSUB_HELP, qsubMain, type QsubOptions } from "./qsub.ts";
export { sbatch, SBATCH_HELP, sbatchMain, type SbatchOptions } from "./sbatch.ts";
export type { FaceOptions, SubmitResult } from "./submit.ts";
export type { FakeOptions } from "./options.ts";
export { captureIO, consoleIO, type FaceIO } from "./io.ts";
export {
  type ArrayTask,
  formatArrayIds,
  type Job,
  type JobOutcome,
  type TaskOutcome,
  type TimeLimit,
  UsageError,
} from "./job.ts";
export { runArrayJob, type RunOptions, SlotPool } from "./run.ts";
export { Cleanup } from "./cleanup.ts";
export type { ArrayjobTasks, JobReport, TaskGroup } from "./report.ts";
export type { Face, JobIdSource } from "./face.ts";
export type { Diagnostic, Flavour } from "./diagnostics.ts";

// The faces by scheduler name: the one place `simulate` and `check` choose between them.
// deno-lint-ignore no-explicit-any
const FACES: Record<"sge" | "slurm", Face<any>> = { sge: SGE, slurm: SLURM };

/** Help text of `arrayjob simulate`. */
export const SIMULATE_HELP =
  `usage: arrayjob simulate SCRIPT [--scheduler sge|slurm] [OPTIONS...] [-- ARGS...]

Runs SCRIPT on this machine once per array index, as qsub (for '#$' directives) or sbatch (for
'#SBATCH' directives) would on a cluster, and proves every task ran: a summary on stderr lists the
tasks run, failed array task ids and the slowest task. OPTIONS are those of the matching fake
(qsub -sync y, -terse, -t ...; sbatch --wait, --array=...), overriding the script's directives as
on the real command line. Words after -- are passed to the script.

  --scheduler S        sge or slurm; needed only for a script with no directives
${FAKE_OPTIONS_HELP.split("\n").slice(1).join("\n")}

Progress goes to stderr: a line redrawn in place on a terminal (elapsed time, tasks/s, time left),
otherwise one line every 10 s (\$ARRAYJOB_FAKE_PROGRESS_SECONDS; 0: none). Ctrl-C kills every
running task with all it started, prints what finished, failed and never finished, and exits 130.

Exit code: 0 only when every array task of this run succeeded; 1 when one failed or never
finished (killed at its time limit), or the job is refused (the message names the bad value); with -sync y / --wait, a failed task's code as the real command
gives it. The fake's own qsub and sbatch keep the real commands' exit codes.
Run 'fake_scheduler/bin/qsub --help' or '.../sbatch --help' for every option of each face.
`;

/** Help text of `arrayjob check`. */
export const CHECK_HELP =
  `usage: arrayjob check SCRIPT [--scheduler sge|slurm] [--strict] [--flavour sge8|univa]
                      [--max-array-size N] [OPTIONS...]

Validates SCRIPT's '#$' or '#SBATCH' directives (plus any qsub/sbatch OPTIONS given, which
override them) without running anything, with the same messages as 'arrayjob simulate'.

Errors are what the real scheduler refuses or hangs on: malformed, empty or inverted -t/--array,
a job name Grid Engine refuses, indices above Slurm's MaxArraySize, bad time or memory values,
a Slurm script without '#!'. Warnings are legal but likely wrong: a 1-slot PE, an unknown queue
or partition, a resource one Grid Engine flavour lacks (m_mem_free: univa only), '#SBATCH' lines
after the first command, a log directory that does not exist here.

  --scheduler S      sge or slurm; needed only for a script with no directives
  --strict           make every warning an error
  --flavour F        sge8 (Son of Grid Engine 8.1.9) or univa: what that flavour rejects is an error
  --max-array-size N Slurm MaxArraySize to check against (default 1001)

Exit code: 1 when something would fail on the real scheduler, else 0 (warnings printed).
`;

/** Options of {@link checkScript}. */
export interface CheckOptions {
  /** Dialect to check; default: detected from the directives. */
  scheduler?: "sge" | "slurm";
  /** Make every warning an error. */
  strict?: boolean;
  /** Grid Engine flavour whose rejections become errors. */
  flavour?: Flavour;
  /** Slurm MaxArraySize (default 1001). */
  maxArraySize?: number;
  /** qsub/sbatch command-line options, overriding the directives. */
  commandLine?: string[];
  /** Directory the script would be submitted from, for log-directory checks; default: cwd. */
  submitDir?: string;
  /** File name used to name the job by default. */
  scriptName?: string;
}

/**
 * Validate a script's directives without running it. Returns every finding, errors first in
 * severity only by their `severity` field (order is the script's order); the last entry is a note
 * describing the job (scheduler, task count, indices) when it parsed.
 */
export function checkScript(text: string, options: CheckOptions = {}): Diagnostic[] {
  const scheduler = options.scheduler ?? detectDialect(text);
  if (scheduler === null) {
    const findings = new Findings();
    findings.add(
      "fatal",
      "no '#$' or '#SBATCH' directives: cannot tell the scheduler; pass --scheduler sge or slurm",
    );
    return findings.list;
  }
  const { strict, flavour, maxArraySize } = options;
  return checkText(FACES[scheduler] as Face<Parsed>, text, {
    commandLine: options.commandLine,
    fake: { strict, flavour, maxArraySize },
    submitDir: options.submitDir,
    scriptName: options.scriptName,
  });
}

interface Split {
  script?: string;
  scheduler?: "sge" | "slurm";
  options: string[];
  scriptArgs: string[];
  help: boolean;
}

// SCRIPT normally comes first, but options may precede it (`simulate -t 1-3 run.sh`): without
// knowing each option's arity, the script is the first bare word naming an existing file.
function splitArgs(args: string[], cwd: string): Split {
  const out: Split = { options: [], scriptArgs: [], help: false };
  let end = args.indexOf("--");
  if (end < 0) end = args.length;
  else out.scriptArgs = args.slice(end + 1);
  const words = args.slice(0, end);
  const bare = words.map((w, i) => ({ w, i })).filter(({ w }) => !w.startsWith("-"));
  const isFile = (w: string) => {
    try {
      return Deno.statSync(absolute(cwd, w)).isFile;
    } catch {
      return false;
    }
  };
  const scriptAt = (bare.find(({ w }) => isFile(w)) ?? bare[0])?.i ?? -1;
  for (let i = 0; i < words.length; i++) {
    const a = words[i];
    if (i === scriptAt) out.script = a;
    else if (a === "--help") out.help = true;
    else if (a === "--scheduler" || a.startsWith("--scheduler=")) {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : words[++i];
      if (v !== "sge" && v !== "slurm") {
        throw new UsageError(`--scheduler '${v ?? ""}' is not known; use sge or slurm`);
      }
      out.scheduler = v;
    } else out.options.push(a);
  }
  return out;
}

// What simulate and check share: --help, the SCRIPT and its text, and a usage error as one line
// `COMMAND: error: ...` with exit code 1.
async function withScript(
  command: string,
  help: string,
  args: string[],
  options: MainOptions,
  run: (split: Split, script: string, text: string, io: FaceIO) => Promise<number>,
): Promise<number> {
  const io = options.io ?? consoleIO();
  try {
    const split = splitArgs(args, options.cwd ?? Deno.cwd());
    if (split.help) {
      io.stdout(help);
      return 0;
    }
    const script = split.script;
    if (script === undefined) throw new UsageError(`${command} needs a SCRIPT; see --help`);
    let text: string;
    try {
      text = await Deno.readTextFile(absolute(options.cwd ?? Deno.cwd(), script));
    } catch (e) {
      throw new UsageError(`cannot read script '${script}': ${(e as Error).message}`);
    }
    return await run(split, script, text, io);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`${command}: error: ${e.message}`);
    return 1;
  }
}

/** Options for {@link simulateMain} and {@link checkMain} when called in-process. */
export interface MainOptions {
  /** Output sinks; default: the console. */
  io?: FaceIO;
  /** Submit directory; default: the process's cwd. */
  cwd?: string;
}

/**
 * `arrayjob simulate SCRIPT [OPTIONS] [-- ARGS]`: run SCRIPT through the fake qsub (`#$`
 * directives) or sbatch (`#SBATCH`), and return the exit code the real command would give.
 */
export function simulateMain(args: string[], options: MainOptions = {}): Promise<number> {
  // On the console (the CLI), Ctrl-C must take the running tasks down too.
  const cleanup = new Cleanup();
  if (!options.io) exitOnSignal(cleanup);
  return withScript("simulate", SIMULATE_HELP, args, options, async (split, script, text, io) => {
    const scheduler = split.scheduler ?? detectDialect(text);
    if (scheduler === null) {
      throw new UsageError(
        `'${script}' has no '#$' or '#SBATCH' directives; pass --scheduler sge or slurm`,
      );
    }
    const faceArgs = [...split.options, script, ...split.scriptArgs];
    const result = await submit(FACES[scheduler], faceArgs, { io, cwd: options.cwd, cleanup });
    return simulateExitCode(result);
  });
}

/**
 * The exit code of `simulate`, a local test: that of the face when it is not 0 (a refusal, or
 * `-sync y` / `--wait` with a failed task), else 1 when an array task failed or never finished
 * (killed at its time limit), 0 only when every array task of this run succeeded. Tasks of the
 * job outside this run (another part of a `--split`, `-t` narrowed) do not count.
 */
export function simulateExitCode(result: SubmitResult): number {
  if (result.exitCode !== 0 || result.report === undefined) return result.exitCode;
  return result.report.tasks.some((t) => t.exitCode !== 0) ? 1 : 0;
}

/**
 * `arrayjob check SCRIPT [OPTIONS]`: print every finding about SCRIPT's directives and return 1
 * when the real scheduler would refuse or hang on it, else 0.
 */
export function checkMain(args: string[], options: MainOptions = {}): Promise<number> {
  return withScript("check", CHECK_HELP, args, options, (split, script, text, io) => {
    const scheduler = split.scheduler ?? detectDialect(text) ?? undefined;
    const fake: FakeOptions = {};
    const table = scheduler === undefined ? undefined : FACES[scheduler].options;
    const { words } = takeFakeOptions(split.options, fake, table);
    const opts: CheckOptions = {
      scheduler,
      submitDir: options.cwd,
      strict: fake.strict,
      flavour: fake.flavour,
      maxArraySize: fake.maxArraySize,
      commandLine: words,
      scriptName: script,
    };
    const found = checkScript(text, opts);
    for (const d of found) io.stderr(`check: ${formatDiagnostic(d, script)}`);
    const errors = found.filter((d) => d.severity === "error").length;
    const warnings = found.filter((d) => d.severity === "warning").length;
    io.stderr(`check: ${script}: ${errors} error(s), ${warnings} warning(s)`);
    return Promise.resolve(errors > 0 ? 1 : 0);
  });
}

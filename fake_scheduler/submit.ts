/**
 * Submitting to a face, the same way for both: split the command line into fake-only options,
 * the face's options and the script; parse the script's directives and the options into a
 * request (`options.ts`); build the job; then either run it (`submit`: the submission line, the
 * array tasks, the summary, the exit code of the real command) or only report what was found
 * (`checkText`: `check` is a submission that runs nothing). Problems of this host (a missing log
 * directory) are errors when the job runs here and warnings when it is only checked.
 *
 * The faces' module docs (`sge.ts`, `slurm.ts`) show {@link checkText} and {@link submit} at work.
 *
 * @module
 */

import { type Cleanup, consoleMain } from "./cleanup.ts";
import { type Diagnostic, Findings, formatDiagnostic } from "./diagnostics.ts";
import {
  absolute,
  currentContext,
  type Face,
  type JobIdSource,
  processJobIds,
  type SubmitContext,
} from "./face.ts";
import { consoleIO, type FaceIO } from "./io.ts";
import { type Job, UsageError } from "./job.ts";
import { isDirectory, missingLogDirs } from "./logs.ts";
import { type FakeOptions, type Parsed, parseRequest, takeFakeOptions } from "./options.ts";
import { type JobReport, reportJob, watchRun } from "./report.ts";
import { defaultSlots, runArrayJob } from "./run.ts";

/** The result of an in-process submission. */
export interface SubmitResult {
  /** What the real command would exit with. */
  exitCode: number;
  /** The report, when array tasks ran. */
  report?: JobReport;
  /** Everything found while parsing. */
  diagnostics: Diagnostic[];
}

/** Options for an in-process submission ({@link submit}, `qsub`, `sbatch`). */
export interface FaceOptions {
  /** Where output goes; default: the console. */
  io?: FaceIO;
  /** Submit directory; default: the process's cwd. */
  cwd?: string;
  /** Submit environment; default: the process's environment. */
  env?: Record<string, string>;
  /** Fake-only settings that win over the ones on the command line (e.g. a shared slot pool). */
  fake?: FakeOptions;
  /** Where started processes and TMP directories are recorded (see `cleanup.ts`). */
  cleanup?: Cleanup;
  /** Where job ids come from; default: one sequence for this process. */
  jobIds?: JobIdSource;
  /**
   * Whether a missing log directory may still be made before the tasks start (a job that is
   * queued, not run at once, as real schedulers allow); given the face's request.
   */
  deferLogDirs?: (req: Parsed) => boolean;
}

// One sequence of job ids per process, as one qmaster gives one sequence: made on first use, so
// that ARRAYJOB_FAKE_FIRST_JOB_ID is read only by a process that submits.
let processIds: JobIdSource | undefined;
const defaultJobIds = () =>
  processIds ??= processJobIds(Deno.env.get("ARRAYJOB_FAKE_FIRST_JOB_ID"));

/** A request, and the job it makes when it parsed without errors. */
interface Prepared<Req> {
  req: Req;
  job?: Job;
}

/** What {@link prepare} needs besides the face. */
interface Submission {
  words: string[];
  script: string;
  scriptArgs: string[];
  text: string | null;
  ctx: SubmitContext;
  fake: FakeOptions;
  findings: Findings;
  /** Reserve job ids (a check reserves none). */
  firstJobId: (count: number) => number;
  /** Only checking: problems of this host are warnings (the cluster may not have them). */
  checkOnly: boolean;
  /** Missing log directories are no problem yet (see {@link FaceOptions.deferLogDirs}). */
  deferLogDirs?: (req: Parsed) => boolean;
}

// Parse, build and check a job: everything a submission does before it runs anything.
function prepare<Req extends Parsed>(face: Face<Req>, s: Submission): Prepared<Req> {
  const req = parseRequest(face, s.words, s.text, s.findings, s.fake);
  if (s.findings.hasErrors) return { req };
  const job = face.build(
    req,
    s.script,
    s.scriptArgs,
    s.text,
    s.ctx,
    s.firstJobId(face.jobIds(req)),
  );
  const kind = s.checkOnly ? "suspicious" : "fatal";
  const deferLogDirs = s.deferLogDirs?.(req) ?? false;
  for (const problem of hostProblems(face, job, req, s.checkOnly, deferLogDirs)) {
    s.findings.add(kind, problem);
  }
  return { req, job };
}

// What the real scheduler would accept and then fail or hang on, because of this host.
function hostProblems<Req extends Parsed>(
  face: Face<Req>,
  job: Job,
  req: Req,
  checkOnly: boolean,
  deferLogDirs: boolean,
): string[] {
  const here = checkOnly ? " here" : "";
  const { logDir, workDir, workDirOption } = face.whenMissing;
  const problems = (deferLogDirs ? [] : missingLogDirs(job.tasks)).map((dir) =>
    `log directory '${dir}' does not exist${here}; ${logDir}; create it before submitting`
  );
  if (!isDirectory(job.cwd)) {
    problems.push(
      `working directory '${job.cwd}' (${workDirOption}) does not exist${here}; ${workDir}`,
    );
  }
  return [...problems, ...face.hostProblems(job, req)];
}

/** Options of {@link checkText}. */
export interface CheckTextOptions {
  /** The face's command-line options, overriding the directives. */
  commandLine?: string[];
  /** Fake-only options (strictness, flavour, MaxArraySize). */
  fake?: FakeOptions;
  /** Directory the script would be submitted from; default: the process's cwd. */
  submitDir?: string;
  /** The script's file name, which names the job by default. */
  scriptName?: string;
}

/**
 * Check a script's text as `face` would submit it, without running anything: every finding, in
 * the script's order, and last a note describing the job when it parsed.
 */
export function checkText<Req extends Parsed>(
  face: Face<Req>,
  text: string,
  options: CheckTextOptions = {},
): Diagnostic[] {
  const fake = options.fake ?? {};
  const findings = new Findings({ strict: fake.strict, flavour: fake.flavour });
  const { req, job } = prepare(face, {
    words: options.commandLine ?? [],
    script: options.scriptName ?? "script.sh",
    scriptArgs: [],
    text,
    ctx: currentContext(options.submitDir),
    fake,
    findings,
    firstJobId: () => 1,
    checkOnly: true,
  });
  if (job !== undefined) findings.add("note", face.describe(req, job));
  return findings.list;
}

// Print diagnostics; true when any is an error.
function printDiagnostics(io: FaceIO, prefix: string, found: Diagnostic[], file?: string): boolean {
  for (const d of found) io.stderr(`${prefix}: ${formatDiagnostic(d, file)}`);
  return found.some((d) => d.severity === "error");
}

/** A job the face accepted: everything needed to run it, now or later. */
export interface Accepted<Req> {
  /** The face's request (for its output lines and exit code). */
  req: Req;
  /** The job to run: plain data. */
  job: Job;
  /** The fake-only options in force (slots, report file made absolute). */
  fake: FakeOptions;
  /** The submit directory. */
  submitDir: string;
  /** Everything found while parsing (warnings and notes; no errors). */
  diagnostics: Diagnostic[];
}

/**
 * The first half of a submission: split the command line, read the script, parse, build and
 * check the job, printing every finding. Returns the accepted job, or the exit code the real
 * command gives when it refuses the job (or prints its help).
 */
export async function accept<Req extends Parsed>(
  face: Face<Req>,
  args: string[],
  options: FaceOptions = {},
): Promise<Accepted<Req> | SubmitResult> {
  const { prefix } = face;
  const io = options.io ?? consoleIO();
  const fake: FakeOptions = {};
  const pre = new Findings();
  let words: string[] = [];
  let rest: string[] = [];
  const refused = (e: unknown) => {
    if (!(e instanceof UsageError)) throw e;
    pre.add("fatal", e.message);
  };
  try {
    ({ words, rest } = takeFakeOptions(args, fake, face.options, true));
  } catch (e) {
    refused(e);
  }
  Object.assign(fake, options.fake ?? {});
  try {
    // Resolved now so that a bad ARRAYJOB_FAKE_SLOTS is refused before anything is submitted.
    fake.slots ??= defaultSlots();
  } catch (e) {
    refused(e);
  }
  if (fake.help) {
    io.stdout(face.help);
    return { exitCode: 0, diagnostics: [] };
  }
  if (printDiagnostics(io, prefix, pre.list)) return { exitCode: 1, diagnostics: pre.list };
  const ctx = currentContext(options.cwd, options.env);
  if (fake.report !== undefined) {
    // Written once every task has run: a path it cannot go to is refused before anything runs.
    const shown = fake.report;
    fake.report = absolute(ctx.submitDir, fake.report);
    const parent = fake.report.slice(0, fake.report.lastIndexOf("/")) || "/";
    if (isDirectory(fake.report)) {
      pre.add("fatal", `--report '${shown}' is a directory: give the path of a file to write`);
    } else if (!isDirectory(parent)) {
      pre.add("fatal", `--report '${shown}': directory '${parent}' does not exist`);
    }
    if (printDiagnostics(io, prefix, pre.list)) return { exitCode: 2, diagnostics: pre.list };
  }
  const findings = new Findings({ strict: fake.strict, flavour: fake.flavour });
  const [script, ...scriptArgs] = rest;
  if (script === undefined) {
    findings.add(
      "fatal",
      "no job script given (reading a script from stdin is not supported by the fake)",
    );
    printDiagnostics(io, prefix, findings.list);
    return { exitCode: 1, diagnostics: findings.list };
  }
  let text: string | null = null;
  if (face.readsScript(words)) {
    try {
      text = await Deno.readTextFile(absolute(ctx.submitDir, script));
    } catch (e) {
      findings.add("fatal", `cannot read job script '${script}': ${(e as Error).message}`);
    }
  }
  // With an unreadable script the command line is still parsed, so all its errors show at once.
  const jobIds = options.jobIds ?? defaultJobIds();
  const { req, job } = prepare(face, {
    words,
    script,
    scriptArgs,
    text,
    ctx,
    fake,
    findings,
    firstJobId: (count) => jobIds.next(count),
    checkOnly: false,
    deferLogDirs: options.deferLogDirs,
  });
  if (printDiagnostics(io, prefix, findings.list, script) || !job) {
    return { exitCode: findings.exitCode, diagnostics: findings.list };
  }
  return { req, job, fake, submitDir: ctx.submitDir, diagnostics: findings.list };
}

/**
 * The second half of a submission: run every array task of an accepted job, print what the real
 * command prints meanwhile and the summary, and return the exit code the real command gives.
 */
export async function runAccepted<Req extends Parsed>(
  face: Face<Req>,
  accepted: Accepted<Req>,
  options: Pick<FaceOptions, "io" | "cleanup"> = {},
): Promise<SubmitResult> {
  const { req, job, fake } = accepted;
  const { prefix } = face;
  const io = options.io ?? consoleIO();
  const onTask = face.onTask?.(req, job, io);
  const watch = watchRun(job, { io, prefix, submitDir: accepted.submitDir, ...options });
  const outcome = await runArrayJob(job, {
    slots: fake.slots,
    cleanup: options.cleanup,
    onTaskStarted: watch.started,
    onTaskDone: (task, done, total, failed) => {
      onTask?.(task);
      watch.done(task, done, total, failed);
    },
  });
  watch.finish();
  if (options.cleanup?.interruption !== undefined) {
    // The interrupt's summary (watchRun) is this run's report: a second, counting the tasks it
    // killed as failed, would contradict it.
    await options.cleanup.interruption;
    return { exitCode: 130, diagnostics: accepted.diagnostics };
  }
  const report = await reportJob(job, outcome, {
    io,
    prefix,
    submitDir: accepted.submitDir,
    reportFile: fake.report,
  });
  const exitCode = face.exitCode(req, report);
  face.afterRun?.(report, io);
  return { exitCode, report, diagnostics: accepted.diagnostics };
}

/**
 * Submit in-process: accept the job, print the submission line, run every array task and return
 * the exit code the real command would give, with the report.
 */
export async function submit<Req extends Parsed>(
  face: Face<Req>,
  args: string[],
  options: FaceOptions = {},
): Promise<SubmitResult> {
  const accepted = await accept(face, args, options);
  if ("exitCode" in accepted) return accepted;
  (options.io ?? consoleIO()).stdout(face.submitLine(accepted.req, accepted.job));
  return await runAccepted(face, accepted, options);
}

/**
 * Command-line entry point of a face: submit `args` on the console, taking the running array
 * tasks down on Ctrl-C, and return the exit code; an unexpected failure is one line on stderr.
 */
export async function faceMain<Req extends Parsed>(
  face: Face<Req>,
  args: string[],
): Promise<number> {
  return await consoleMain(
    face.prefix,
    async (cleanup) => (await submit(face, args, { cleanup })).exitCode,
  );
}

/** A face's command: in-process submission and command-line entry point. */
export interface Command {
  /** Submit in-process (see {@link submit}). */
  submit(args: string[], options?: FaceOptions): Promise<SubmitResult>;
  /** Run on the console and return the exit code (see {@link faceMain}). */
  main(args: string[]): Promise<number>;
}

/** The command of `face`: what `qsub.ts` and `sbatch.ts` export. */
export function commandOf<Req extends Parsed>(face: Face<Req>): Command {
  return {
    submit: (args, options = {}) => submit(face, args, options),
    main: (args) => faceMain(face, args),
  };
}

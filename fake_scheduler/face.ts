/**
 * The seam between the shared machinery of the fake and a scheduler's face: a {@link Face} is
 * one scheduler's tables and rules (its options, its directives, the job and environment they
 * make, what the real command prints and exits with), and nothing else. `sge.ts` and `slurm.ts`
 * each export one; `submit.ts` drives either the same way, whether it runs the job or only checks
 * it. Also the context a job is submitted in and where job ids come from.
 *
 * @example The context of this process
 * ```ts
 * import { currentContext } from "./face.ts";
 * import assert from "node:assert/strict";
 *
 * const ctx = currentContext("/tmp", { USER: "ada", HOME: "/home/ada" });
 * assert.equal(ctx.submitDir, "/tmp");
 * assert.equal(ctx.user, "ada");
 * ```
 *
 * @module
 */

import { userInfo } from "node:os";
import { isAbsolute, resolve } from "node:path";
import type { FaceIO } from "./io.ts";
import { type Job, type JobOutcome, parsePositiveInt, type TaskOutcome } from "./job.ts";
import type { Parsed, Syntax } from "./options.ts";
import type { SpoolJob } from "./spool.ts";

/** What a face tells the spool about a job besides the Job itself (see `spool.ts`). */
export type Queued =
  & Pick<
    SpoolJob,
    "partition" | "queue" | "slots" | "step" | "cancelSignal" | "beginTime" | "timeLimit"
  >
  & { hold?: "user" };

/** Where and as whom a job is submitted. */
export interface SubmitContext {
  /** The directory qsub/sbatch was run in. */
  submitDir: string;
  /** The submitter's environment. */
  env: Record<string, string>;
  /** The submitting user's name. */
  user: string;
  /** The submitting user's home directory. */
  home: string;
  /** This host's name. */
  host: string;
}

/** The context of the current process, or of `cwd` and `env` when given. */
export function currentContext(cwd?: string, env?: Record<string, string>): SubmitContext {
  const e = env ?? Deno.env.toObject();
  let user = e.USER ?? e.LOGNAME ?? "";
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = "unknown";
    }
  }
  return {
    submitDir: resolve(cwd ?? Deno.cwd()),
    env: e,
    user,
    home: e.HOME ?? "/",
    host: Deno.hostname(),
  };
}

/** Resolve `path` against `base` unless absolute. */
export function absolute(base: string, path: string): string {
  return isAbsolute(path) ? path : resolve(base, path);
}

/** Where job ids come from: `next(count)` reserves `count` consecutive ids and returns the first. */
export interface JobIdSource {
  /** Reserve `count` consecutive job ids and return the first. */
  next(count: number): number;
}

/**
 * Job ids consecutive from a random start (or from `fixedFirst`, `ARRAYJOB_FAKE_FIRST_JOB_ID`), so
 * that two fake runs in the same directory are unlikely to write the same log file names.
 */
export function processJobIds(fixedFirst?: string): JobIdSource {
  let last: number | undefined;
  return {
    next(count) {
      if (last === undefined) {
        last = fixedFirst
          ? parsePositiveInt(fixedFirst, "ARRAYJOB_FAKE_FIRST_JOB_ID") - 1
          : 10000 + Math.floor(Math.random() * 80000);
      }
      const first = last + 1;
      last += count;
      return first;
    },
  };
}

/**
 * One scheduler's face, as `submit.ts` drives it. `Req` is the face's parsed request: the merge
 * of its directives and command line (see `options.ts`).
 */
export interface Face<Req extends Parsed> extends Syntax<Req> {
  /** Which scheduler, as the report names it. */
  readonly scheduler: "sge" | "slurm";
  /** Prefix of every line the face prints, e.g. "fake qsub". */
  readonly prefix: string;
  /** The face's `--help` text. */
  readonly help: string;
  /** Whether the script is a file to read (false for `qsub -b y`, whose "script" is a command). */
  readsScript(words: string[]): boolean;
  /** How many consecutive job ids the job takes (Slurm: one per array task). */
  jobIds(req: Req): number;
  /** Build the job from a request that parsed without errors. */
  build(
    req: Req,
    script: string,
    scriptArgs: string[],
    text: string | null,
    ctx: SubmitContext,
    firstJobId: number,
  ): Job;
  /** What the real scheduler does with a missing log directory, and with a missing workdir. */
  readonly whenMissing: { logDir: string; workDir: string; workDirOption: string };
  /** Other problems of this host with the job, each a full message (e.g. a missing `-S` shell). */
  hostProblems(job: Job, req: Req): string[];
  /** One line describing the job (scheduler, array tasks, indices), as `check` ends with. */
  describe(req: Req, job: Job): string;
  /** The line the real command prints on submission. */
  submitLine(req: Req, job: Job): string;
  /** What the real command prints as each array task ends, if anything. */
  onTask?(req: Req, job: Job, io: FaceIO): ((outcome: TaskOutcome) => void) | undefined;
  /** The exit code of the real command once every array task ran (`-sync y`, `--wait`, or 0). */
  exitCode(req: Req, outcome: JobOutcome): number;
  /** Warnings about the outcome that only this scheduler gives meaning to. */
  afterRun?(outcome: JobOutcome, io: FaceIO): void;
  /** Whether the command waits for the job to end (`-sync y`, `--wait`). */
  waits(req: Req): boolean;
  /** How the job waits in the queue: held, not before a time, its partition, its cancel signal. */
  queued(req: Req, job: Job): Queued;
  /**
   * For a request that only validates (`sbatch --test-only`, `qsub -w v`): what the real command
   * prints instead of submitting (the job id it names is consumed), else undefined.
   */
  validateOnly(
    req: Req,
    job: Job,
    ctx: SubmitContext,
  ): { stdout: string[]; stderr: string[] } | undefined;
  /**
   * Words the real command reads from elsewhere, put in place: `sbatch --wrap CMD` (a script
   * written to `scratch`), `qsub -@ FILE` (the file's options).
   */
  expandArgs?(args: string[], scratch: string, cwd: string): string[];
}

/**
 * A job's directory: writing its scripts there with the manifest (`arrayjob.json`) that later
 * commands start from, and the list of its submissions. status.ts reads the records its array
 * tasks leave into every task's status.
 *
 * @example Write a job, read its status
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import { jobStatus } from "./status.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await writeClusterScript({ numTasks: 3, command: ["./fit"], outputDir: dir });
 * assert.equal(String((await jobStatus(dir)).neverFinished), "0:3");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { ArrayJobError, shellQuote } from "./mod.ts";
import { DEFAULT_SCHEDULER, submitCommand } from "./dialects.ts";
import {
  RECORDS_DIR,
  type WriteClusterScriptOptions,
  type WriteClusterScriptsOptions,
} from "./script_options.ts";
import { programOptions, sameJobCommand } from "./own_script.ts";
import { type JobPlan, renderJob } from "./script.ts";
import { parseScriptFlags, withFlagName } from "./script_flags.ts";
import {
  existingJob,
  exists,
  JobDirError,
  type JobManifest,
  MANIFEST,
  PLACING,
  readManifestFile,
} from "./manifest.ts";

export { JobDirError, type JobManifest, MANIFEST, readManifest, RECORD_NAME } from "./manifest.ts";
export { appendSubmission, readSubmissions, type Submission, SUBMISSIONS } from "./submissions.ts";

/**
 * Renders the array-job script and writes it: creates the output directory (real Grid Engine
 * leaves a task in error state, and `qsub -sync y` hangs, when the log directory is missing),
 * writes the script atomically (a temporary file renamed into place, so a failure leaves no
 * half-written script), and makes it executable (mode 0755). Beside it go the job's manifest
 * (`arrayjob.json`, which {@linkcode jobStatus} and {@linkcode writeResubmitScript} read), the
 * `records/` directory and, with {@linkcode ClusterScriptOptions.chunks}, the chunk map.
 *
 * @param options What to run, with which resources, and where to write.
 * @returns The absolute path of the written script.
 * @throws {ArrayJobError} When an option is invalid, or the output directory holds the records
 *   of a different job; nothing is written then.
 *
 * @example Writing and inspecting a script
 * ```ts
 * import { writeClusterScript } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const path = await writeClusterScript({ numTasks: 14, command: ["python3", "do_something.py"], outputDir: dir });
 * assert.equal(path, `${dir}/run.sh`);
 * assert.match(await Deno.readTextFile(path), /^#\$ -t 1-14$/m);
 * assert.equal((await Deno.stat(path)).mode! & 0o777, 0o755);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeClusterScript(options: WriteClusterScriptOptions): Promise<string> {
  const [path] = await writeJob(await renderJob({ ...options, split: false }));
  return path!;
}

/**
 * Like {@linkcode writeClusterScript}, but with `split` an array larger than the scheduler's
 * limit becomes several scripts, each covering its own consecutive range of tasks. Submit them
 * all; {@linkcode jobStatus} sees them as one job.
 *
 * @param options What to run, with which resources, where to write, and whether to split.
 * @returns The absolute paths of the written scripts, in task order.
 * @throws {ArrayJobError} When an option is invalid; nothing is written then.
 *
 * @example 2500 tasks on Slurm, whose arrays stop at index 1000
 * ```ts
 * import { writeClusterScripts } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const paths = await writeClusterScripts({
 *   scheduler: "slurm", numTasks: 2500, command: ["./fit"], outputDir: dir, split: true,
 * });
 * assert.deepEqual(paths, [`${dir}/run-1.sh`, `${dir}/run-2.sh`, `${dir}/run-3.sh`]);
 * assert.match(await Deno.readTextFile(paths[2]!), /^#SBATCH --array=0-497$/m);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeClusterScripts(options: WriteClusterScriptsOptions): Promise<string[]> {
  return await writeJob(await renderJob(options));
}

async function writeJob(plan: JobPlan): Promise<string[]> {
  const { outputDir, numTasks, options } = plan;
  // A resubmission (explicit chunks) belongs to the job the manifest describes: it keeps it.
  const resubmission = plan.scripts[0]!.chunkMap !== undefined;
  // Everything that can be checked is checked before the first byte is written.
  for (const script of plan.scripts) {
    const found = await Deno.stat(script.path).catch(() => undefined);
    if (found?.isDirectory) {
      throw new ArrayJobError(
        `${JSON.stringify(script.path)} is a directory: give the script's file path`,
        "out",
      );
    }
  }
  const created = await makeOutputDir(outputDir).catch((error) => {
    throw fileSystemRefusal(error, plan);
  });
  try {
    return await withJobLock(outputDir, async (staged, commit) => {
      await removeStaleTemporaries(outputDir);
      await removeStrayParts(outputDir);
      const existing = await existingJob(outputDir);
      if (
        existing !== undefined && (existing.numTasks !== numTasks ||
          !sameJobCommand(existing.options.command, options.command))
      ) {
        throw new JobDirError(
          `${outputDir} holds the records of another job (${existing.numTasks} tasks of ` +
            `${JSON.stringify(existing.options.command)}): choose another output directory, or ` +
            `delete ${path.join(outputDir, MANIFEST)} and ${path.join(outputDir, RECORDS_DIR)}`,
        );
      }
      if (resubmission && existing === undefined) {
        throw new JobDirError(`${outputDir} has no ${MANIFEST}: a resubmission needs its job`);
      }
      const scriptNames = plan.scripts.map((script) => path.relative(outputDir, script.path));
      // Stage every file, then rename them into place, the manifest last: an interruption or a
      // full disk leaves the old job or the new one, never a manifest for scripts not written.
      const renames: [string, string][] = [];
      for (const script of plan.scripts) {
        if (resubmission && await exists(script.path)) {
          throw new JobDirError(
            `${script.path} was written meanwhile by another resubmit: run resubmit again`,
          );
        }
        await Deno.mkdir(path.dirname(script.path), { recursive: true });
        if (script.chunkMap) {
          renames.push([
            stage(staged, script.chunkMap.path, script.chunkMap.text),
            script.chunkMap.path,
          ]);
        }
        renames.push([stage(staged, script.path, script.text, 0o755), script.path]);
      }
      const manifestPath = path.join(outputDir, MANIFEST);
      if (!resubmission) {
        const manifest: JobManifest = { version: 1, numTasks, options, scripts: scriptNames };
        renames.push([
          stage(staged, manifestPath, JSON.stringify(manifest, null, 2) + "\n"),
          manifestPath,
        ]);
      }
      await Deno.mkdir(path.join(outputDir, RECORDS_DIR), { recursive: true });
      // Renaming is quick and needs no space: a SIGINT or SIGTERM meanwhile waits for its end,
      // so that no half set of new parts sits beside the old manifest.
      // The parts of an earlier split that this job no longer has would run tasks twice.
      const dropped = resubmission || (existing?.scripts?.length ?? 0) <= 1
        ? []
        : (existing?.scripts ?? []).filter((name) =>
          !scriptNames.includes(name) && !name.startsWith("..") && !path.isAbsolute(name)
        ).map((name) => path.join(outputDir, name));
      await commit(async () => {
        // Only a SIGKILL leaves this list: what to remove unless the manifest then in place has it.
        const placing = path.join(outputDir, PLACING);
        const targets = renames.map(([, target]) => target).filter((t) => t !== manifestPath);
        await Deno.writeTextFile(placing, JSON.stringify([...targets, ...dropped]) + "\n");
        for (const [temporary, target] of renames) {
          await Deno.rename(temporary, target);
          staged.delete(temporary);
        }
        for (const file of dropped) await Deno.remove(file).catch(() => {});
        await Deno.remove(placing);
      });
      return plan.scripts.map((script) => script.path);
    });
  } catch (error) {
    if (created) await removeIfEmpty(outputDir);
    throw fileSystemRefusal(error, plan);
  }
}

// The file system's refusal as one line about the job's directory: Deno's own message names a
// staging file the user never asked for ("No space left on device (os error 28): writefile
// 'out/run.sh.1f2e3d4c.arrayjob-tmp'"), so only its reason is kept. Without Deno's write
// permission (a program's --cluster-script run with --allow-read alone), the flag to add.
function fileSystemRefusal(error: unknown, plan: JobPlan): unknown {
  if (error instanceof ArrayJobError || !(error instanceof Error)) return error;
  const { outputDir } = plan;
  if (error instanceof Deno.errors.NotCapable) {
    const dirs = new Set([outputDir, ...plan.scripts.map((script) => path.dirname(script.path))]);
    return new JobDirError(
      `writing the job into ${outputDir} needs write access: run deno with ` +
        `--allow-write=${[...dirs].join(",")} (or -A)`,
    );
  }
  const reason = error.message.replace(/ \(os error [0-9]+\).*$/, "");
  return new JobDirError(
    `cannot write the job into ${outputDir}: ${reason.charAt(0).toLowerCase()}${reason.slice(1)}`,
  );
}

const TEMPORARY_SUFFIX = ".arrayjob-tmp";

const LOCK = ".arrayjob.lock";

// After a render killed while renaming into place, the files it was placing or dropping that the
// manifest now in place does not list: they belong to no job, and a `run-*.sh` among them would
// run tasks twice. The list itself stays until a render completes (status refuses meanwhile).
async function removeStrayParts(outputDir: string): Promise<void> {
  let listed: unknown;
  let scripts: readonly string[] = [];
  try {
    listed = JSON.parse(await Deno.readTextFile(path.join(outputDir, PLACING)));
    if (await exists(path.join(outputDir, MANIFEST))) {
      scripts = (await readManifestFile(outputDir)).scripts ?? [];
    }
  } catch {
    return; // no list, or a manifest that cannot be read: existingJob refuses the render then
  }
  if (!Array.isArray(listed)) return;
  const kept = new Set(scripts.map((name) => path.resolve(outputDir, name)));
  for (const file of listed) {
    if (typeof file === "string" && !kept.has(file) && !file.endsWith(MANIFEST)) {
      await Deno.remove(file).catch(() => {});
    }
  }
}

// Creates the output directory; true when this call created it (so a failure removes it).
async function makeOutputDir(outputDir: string): Promise<boolean> {
  const found = await Deno.stat(outputDir).catch(() => undefined);
  if (found?.isDirectory) return false;
  if (found !== undefined) {
    throw new ArrayJobError(`${JSON.stringify(outputDir)} is a file, not a directory`, "outputDir");
  }
  await Deno.mkdir(outputDir, { recursive: true });
  return true;
}

async function removeIfEmpty(dir: string): Promise<void> {
  await Deno.remove(path.join(dir, RECORDS_DIR)).catch(() => {});
  await Deno.remove(dir).catch(() => {});
}

// Writes a temporary file beside `target`, remembered in `staged` until it is renamed.
// Synchronously: an asynchronous write runs on another thread, so a SIGINT handler could remove
// the staged files before that thread created this one, which then stayed behind.
function stage(staged: Set<string>, target: string, text: string, mode = 0o644): string {
  const temporary = `${target}.${crypto.randomUUID().slice(0, 8)}${TEMPORARY_SUFFIX}`;
  staged.add(temporary);
  Deno.writeTextFileSync(temporary, text, { mode, createNew: true });
  Deno.chmodSync(temporary, mode); // the umask may have narrowed it
  return temporary;
}

// Temporary files that a killed render (SIGKILL: no handler runs) left behind.
async function removeStaleTemporaries(outputDir: string): Promise<void> {
  for await (const entry of Deno.readDir(outputDir)) {
    if (entry.name.endsWith(TEMPORARY_SUFFIX)) {
      await Deno.remove(path.join(outputDir, entry.name)).catch(() => {});
    }
  }
}

/**
 * Runs `fn` holding the directory's lock, so that two renders or resubmits never interleave
 * their manifest, scripts and chunk maps: the second gets a one-line error. The lock names its
 * process; a lock whose process is gone is taken over. On SIGINT or SIGTERM the staged files and
 * the lock are removed before the process exits; one that arrives during `commit(step)` (the
 * renames into place) exits when that step is over.
 */
async function withJobLock<T>(
  outputDir: string,
  fn: (staged: Set<string>, commit: (step: () => Promise<void>) => Promise<void>) => Promise<T>,
): Promise<T> {
  const lock = path.join(outputDir, LOCK);
  let locked = false;
  const staged = new Set<string>();
  const cleanUp = () => {
    for (const file of staged) {
      try {
        Deno.removeSync(file);
      } catch { /* already renamed or never written */ }
    }
    try {
      if (locked) Deno.removeSync(lock);
    } catch { /* already gone */ }
  };
  let committing = false;
  let deferred: number | undefined;
  const exit = (code: number) => {
    cleanUp();
    Deno.exit(code);
  };
  // Listening before the lock is taken: a signal between the two would leave the lock behind.
  const signals = (["SIGINT", "SIGTERM"] as const).map((signal) => {
    const handler = () => {
      const code = signal === "SIGINT" ? 130 : 143;
      if (committing) deferred ??= code;
      else exit(code);
    };
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  });
  try {
    return await lockedRun(outputDir, lock, () => {
      locked = true;
    }, async () => {
      const commit = async (step: () => Promise<void>) => {
        committing = true;
        try {
          await step();
        } finally {
          committing = false;
        }
        if (deferred !== undefined) exit(deferred);
      };
      return await fn(staged, commit);
    });
  } finally {
    for (const remove of signals) remove();
    cleanUp();
  }
}

// Takes the lock (synchronously, for the same reason as `stage`), then runs `fn`.
async function lockedRun<T>(
  outputDir: string,
  lock: string,
  taken: () => void,
  fn: () => Promise<T>,
): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      Deno.writeTextFileSync(lock, `${Deno.pid}\n`, { createNew: true });
      taken();
      break;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) {
        // Created but not written (a full disk): an empty lock would block every later render.
        await Deno.remove(lock).catch(() => {});
        throw error;
      }
      const holder = (await Deno.readTextFile(lock).catch(() => "")).trim();
      const alive = /^[0-9]+$/.test(holder) &&
        (holder === String(Deno.pid) || await exists(`/proc/${holder}`));
      if (alive || attempt > 0 || holder === "") {
        throw new JobDirError(
          `${outputDir} is being written by another arrayjob (pid ${holder || "unknown"}): ` +
            `wait for it to finish, or delete ${lock} if none runs`,
        );
      }
      await Deno.remove(lock).catch(() => {});
    }
  }
  return await fn();
}

/** What {@linkcode writeProgramScripts} did: printed nothing, so the caller can say it. */
export type ProgramScripts =
  | { readonly text: string }
  | {
    readonly text?: undefined;
    readonly paths: readonly string[];
    readonly submitCommands: readonly (readonly string[])[];
    /** What to tell the user: how to submit each script, and how to try it first. */
    readonly hints: readonly string[];
  };

/**
 * Writes the array-job script of a program that runs itself (`runTasks --cluster-script`), from
 * its command-line flags (script_flags.ts) over `defaults`. With `--out -` it returns
 * the text instead. Errors name the flag (`--job-name`), as the user typed it.
 *
 * @param request The program, its number of tasks, the flags after `--cluster-script`, and
 *   defaults.
 * @returns The script's text, or the written paths and how to submit each.
 * @throws {ArrayJobError} On a bad flag or option.
 *
 * @example
 * ```ts
 * import { writeProgramScripts } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const written = await writeProgramScripts({
 *   numTasks: 4, program: "/home/me/fit.ts", args: ["--scheduler=slurm", "--out", "-"],
 * });
 * assert.match(written.text!, /^#SBATCH --job-name=fit$/m);
 * ```
 */
export async function writeProgramScripts(request: {
  numTasks: number;
  program: string | URL;
  args: readonly string[];
  defaults?: Partial<WriteClusterScriptsOptions>;
}): Promise<ProgramScripts> {
  try {
    const { options: fromArgs, positionals } = parseScriptFlags(request.args, "cluster-script");
    if (positionals.length > 0) {
      throw new ArrayJobError(
        `unexpected argument ${JSON.stringify(positionals[0])} after --cluster-script`,
      );
    }
    const settings = { ...request.defaults, ...fromArgs };
    const options = programOptions(request.numTasks, request.program, settings);
    if (options.out === "-") return { text: (await renderJob(options)).scripts[0]!.text };
    const paths = await writeClusterScripts(options);
    const scheduler = options.scheduler ?? DEFAULT_SCHEDULER;
    const submitCommands = paths.map((path) => submitCommand(scheduler, path, options.wait));
    return { paths, submitCommands, hints: submitHints(submitCommands, paths) };
  } catch (error) {
    throw error instanceof ArrayJobError ? withFlagName(error) : error;
  }
}

/**
 * The lines that follow a written job, on stderr, wherever it was written (`arrayjob script`,
 * `arrayjob resubmit`, `--cluster-script`): how to submit each script, and how to try the first
 * on the fake scheduler.
 *
 * @param submitCommands How to submit each script ({@linkcode submitCommand}).
 * @param paths The scripts.
 * @returns The lines.
 *
 * @example
 * ```ts
 * import { submitHints } from "./job_dir.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(submitHints([["sbatch", "/j/run.sh"]], ["/j/run.sh"]), [
 *   "submit with:  sbatch /j/run.sh",
 *   "try it first: arrayjob simulate /j/run.sh",
 * ]);
 * ```
 */
export function submitHints(
  submitCommands: readonly (readonly string[])[],
  paths: readonly string[],
): string[] {
  return [
    ...submitCommands.map((submit) => `submit with:  ${submit.map(shellQuote).join(" ")}`),
    `try it first: arrayjob simulate ${shellQuote(paths[0]!)}`,
  ];
}

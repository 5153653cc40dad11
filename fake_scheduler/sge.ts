/**
 * The Grid Engine face: qsub's options (`sge_options.ts`), the job and the `SGE_TASK_*`
 * environment each array task gets on a Son of Grid Engine 8.1.9 execution host, and what qsub
 * prints and exits with. Tables and rules only; `submit.ts` drives it and `qsub.ts` is its
 * command.
 *
 * Deliberate differences from a real cluster, all local-machine necessities:
 * - without `-cwd`/`-wd` the job runs in the submit directory (real SGE: `$HOME`), and relative
 *   `-o`/`-e` paths resolve there too;
 * - without `-S` the script runs under `/bin/sh`, whatever its `#!` line says, as on the measured
 *   SGE 8.1.9 queue (tests/real/FACTS.md; other sites' queues may use `/bin/csh`);
 * - in-process (`qsub()`), without `-sync y` qsub still runs every task before it returns; the
 *   command line (`queue.ts`) queues the job in the spool and returns at once, as real qsub;
 *
 * @example Log paths as qsub(1) expands them
 * ```ts
 * import { expandSgePath } from "./sge.ts";
 * import assert from "node:assert/strict";
 *
 * const vars = { JOB_ID: "7", TASK_ID: "3", JOB_NAME: "fit", HOME: "/h", USER: "u", HOSTNAME: "n" };
 * assert.equal(expandSgePath("logs/$JOB_NAME.o$JOB_ID.$TASK_ID", vars), "logs/fit.o7.3");
 * ```
 *
 * @example Checking a script as qsub would take it, without running it
 * ```ts
 * import { SGE } from "./sge.ts";
 * import { checkText } from "./submit.ts";
 * import assert from "node:assert/strict";
 *
 * const found = checkText(SGE, "#$ -t 1-3\n#$ -cwd\necho\n", { scriptName: "run.sh" });
 * assert.equal(found.at(-1)?.message, 'Grid Engine array job "run.sh": 3 task(s), -t 1-3:1');
 * ```
 *
 * @module
 */

import { basename } from "node:path";
import { splitWords } from "./diagnostics.ts";
import { absolute, type Face, type SubmitContext } from "./face.ts";
import type { FaceIO } from "./io.ts";
import { type ArrayTask, formatArrayIds, type Job, type TaskOutcome } from "./job.ts";
import { isDirectory } from "./logs.ts";
import { FAKE_OPTIONS_HELP } from "./options.ts";
import { parseSgeTime, QSUB_SYNTAX, type SgeRequest } from "./sge_options.ts";

/** Help text of the fake qsub. */
export const QSUB_HELP =
  `usage: qsub [options] SCRIPT [ARGS...]      (fake Grid Engine qsub, runs locally)

Runs SCRIPT once per array task on this machine, with the environment a Son of Grid Engine 8.1.9
execution host gives it. Directives in '#$' lines are read first; command-line options override.

Grid Engine options understood:
  -t n[-m[:s]]       array job: tasks n..m step s (a single n means only task n)
  -tc N              at most N tasks of the array at once
  -N NAME            job name (default: script file name)
  -o PATH, -e PATH   log files; $JOB_ID $TASK_ID $JOB_NAME $HOME $USER $HOSTNAME expand
                     ($TASK_ID is 0 outside arrays); a directory (or a path ending in /)
                     gets the default NAME.oJOB.TASK / NAME.eJOB.TASK inside
  -j y|n             merge stderr into the -o file
  -cwd, -wd DIR      working directory (fake default: the submit directory, real SGE: $HOME)
  -S SHELL           interpreter of the script; default /bin/sh, the #! line is ignored
                     (as a posix_compliant queue with shell /bin/sh; some sites use /bin/csh)
  -V, -v VAR[=VAL]   export the whole / parts of the submit environment (without -V:
                     PATH=$TMP:/usr/local/bin:/bin:/usr/bin, as an execution host sets it)
  -pe NAME N         parallel environment; sets NSLOTS=N
  -l RES=VAL,...     resources; h_rt (seconds or H:M:S) is enforced: a task past it gets SIGKILL
  -q QUEUE           queue name (sets QUEUE)
  -sync y            wait for all tasks, printing "Job ID.TASK exited with exit code N."
                     as each ends (failures on stderr); exit 0, or the exit code of the first
                     task to fail in completion order (1 for a killed task)
  -terse             print only the job id (JOB.FIRST-LAST:STEP for arrays)
  -b y|n, -shell y|n, -binding ...   accepted and recorded
  Accepted and ignored: -hold_jid -m -M -P -A -a -ac -ar -ckpt -c -dc -dl -js -p -r -now -w
                        -R -masterq -i -display -notify -hard -soft -h -clear -verify

Without -sync y the job is queued in the fake's spool ($ARRAYJOB_FAKE_SPOOL) and qsub returns at
once; qstat, qacct, qdel, qhold and qrls see and change it.
Every run ends with a summary on stderr: tasks run, failed array task ids (e.g. 3,17-20, ranges
inclusive as in -t), the slowest task.

${FAKE_OPTIONS_HELP}
`;

/** Expand the `-o`/`-e` pseudo environment variables of qsub(1). */
export function expandSgePath(
  path: string,
  vars: {
    JOB_ID: string;
    TASK_ID: string;
    JOB_NAME: string;
    HOME: string;
    USER: string;
    HOSTNAME: string;
  },
): string {
  return path.replace(
    /\$(JOB_ID|TASK_ID|JOB_NAME|HOME|USER|HOSTNAME)\b/g,
    (_m, name: keyof typeof vars) => vars[name],
  );
}

/** Build the job from a parsed request: one array task per `-t` index, with its environment. */
export function buildSgeJob(
  req: SgeRequest,
  script: string,
  scriptArgs: string[],
  ctx: SubmitContext,
  jobId: number,
): Job {
  const name = req.name ?? basename(script);
  const workdir = req.wd !== undefined ? absolute(ctx.submitDir, req.wd) : ctx.submitDir;
  const indices: number[] = [];
  if (req.range) {
    for (let i = req.range.first; i <= req.range.last; i += req.range.step) indices.push(i);
  }
  const base: Record<string, string> = {};
  if (req.exportAll) Object.assign(base, ctx.env);
  else {
    // Without -V an execution host gives a job a minimal PATH (tests/real/FACTS.md: TMP, then
    // /usr/local/bin:/bin:/usr/bin); TMP is prepended per task below.
    base.PATH = "/usr/local/bin:/bin:/usr/bin";
  }
  for (const [k, v] of req.vars) {
    const value = v ?? ctx.env[k];
    if (value !== undefined) base[k] = value;
  }
  // The queue's shell runs the script whatever its #! line says (shell_start_mode
  // posix_compliant); the measured 8.1.9 queue's shell is /bin/sh (tests/real/FACTS.md).
  // A -b y job is a command, exec'd (PATH lookup) with its arguments: no script file to interpret.
  const shell = req.binary ? "" : (req.shell ?? "/bin/sh");
  const queue = req.queue ?? "all.q";
  const pseudo = {
    JOB_ID: String(jobId),
    JOB_NAME: name,
    HOME: ctx.home,
    USER: ctx.user,
    HOSTNAME: ctx.host,
  };
  Object.assign(base, {
    HOME: ctx.home,
    USER: ctx.user,
    LOGNAME: ctx.user,
    SHELL: shell || "/bin/sh",
    HOSTNAME: ctx.host,
    JOB_ID: String(jobId),
    JOB_NAME: name,
    REQUEST: name,
    REQNAME: name,
    RESTARTED: "0",
    JOB_SCRIPT: req.binary ? script : absolute(ctx.submitDir, script),
    SGE_ACCOUNT: "sge",
    SGE_STDIN_PATH: "/dev/null",
    ARC: "lx-amd64",
    SGE_ARCH: "lx-amd64",
    NSLOTS: String(req.pe?.slots ?? 1),
    NHOSTS: "1",
    NQUEUES: "1",
    QUEUE: queue,
    SGE_O_HOME: ctx.home,
    SGE_O_HOST: ctx.host,
    SGE_O_PATH: ctx.env.PATH ?? "",
    SGE_O_SHELL: ctx.env.SHELL ?? "",
    SGE_O_WORKDIR: ctx.submitDir,
    SGE_CWD_PATH: workdir,
  });
  // Real 8.1.9 sets SGE_O_LOGNAME only when the submitter has LOGNAME (FACTS.md).
  if (ctx.env.LOGNAME !== undefined) base.SGE_O_LOGNAME = ctx.env.LOGNAME;
  if (req.pe) base.PE = req.pe.name;
  const tmpRoot = ctx.env.TMPDIR || "/tmp";
  const logPath = (given: string | undefined, kind: "o" | "e", taskId: string): string => {
    const defaultName = req.range ? `${name}.${kind}${jobId}.${taskId}` : `${name}.${kind}${jobId}`;
    if (given === undefined) return absolute(workdir, defaultName);
    // Outside arrays $TASK_ID expands to 0 in paths, though the environment says "undefined".
    const expanded = expandSgePath(given, { ...pseudo, TASK_ID: req.range ? taskId : "0" });
    const path = absolute(workdir, expanded);
    // A trailing / names a directory even when it is missing, which is then refused as missing.
    return expanded.endsWith("/") || isDirectory(path) ? absolute(path, defaultName) : path;
  };
  const makeTask = (index: number | null): ArrayTask => {
    const taskId = index === null ? "undefined" : String(index);
    const tmpDir = `${tmpRoot}/${jobId}.${index ?? 1}.${queue}`;
    const stdoutPath = logPath(req.output, "o", taskId);
    const stderrPath = req.join ? null : logPath(req.error, "e", taskId);
    const env: Record<string, string> = {
      ...base,
      SGE_TASK_ID: taskId,
      SGE_TASK_FIRST: req.range ? String(req.range.first) : "undefined",
      SGE_TASK_LAST: req.range ? String(req.range.last) : "undefined",
      SGE_TASK_STEPSIZE: req.range ? String(req.range.step) : "undefined",
      SGE_STDOUT_PATH: stdoutPath,
      SGE_STDERR_PATH: stderrPath ?? stdoutPath,
      // The execd's directory of the running task; the fake makes none.
      SGE_JOB_SPOOL_DIR: `${tmpRoot}/arrayjob-fake-execd/active_jobs/${jobId}.${index ?? 1}`,
      TMP: tmpDir,
    };
    if (!req.exportAll) env.PATH = `${tmpDir}:${env.PATH}`;
    return { index: index ?? 0, jobId: String(jobId), env, stdoutPath, stderrPath, tmpDir };
  };
  const hrt = req.resources.get("h_rt");
  const seconds = hrt === undefined ? null : parseSgeTime(hrt);
  return {
    scheduler: "sge",
    jobId: String(jobId),
    jobName: name,
    scriptPath: req.binary ? script : absolute(ctx.submitDir, script),
    shell: shell ? [shell] : [],
    scriptArgs,
    cwd: workdir,
    tasks: req.range ? indices.map(makeTask) : [makeTask(null)],
    throttle: req.throttle,
    // h_rt is a hard limit: the execution daemon sends SIGKILL when it is reached.
    timeLimit: seconds === null ? undefined : { seconds, signal: "SIGKILL", graceSeconds: 0 },
    appendLogs: true,
  };
}

/** The submission line qsub prints. */
export function submitLine(req: SgeRequest, jobId: number, name: string): string {
  if (req.range) {
    const r = `${jobId}.${req.range.first}-${req.range.last}:${req.range.step}`;
    return req.terse ? r : `Your job-array ${r} ("${name}") has been submitted`;
  }
  return req.terse ? String(jobId) : `Your job ${jobId} ("${name}") has been submitted`;
}

const PREFIX = "fake qsub";

/**
 * Grid Engine gives two exit codes a meaning of their own (qsub(1), sge_shepherd(8)): 99 re-queues
 * the task, so it runs again, and 100 puts the job in error state, where `qsub -sync y` waits
 * forever. The fake runs each task once either way, and says where the real one would differ.
 */
function warnSpecialExitCodes(tasks: TaskOutcome[], io: FaceIO): void {
  const rerun = tasks.filter((t) => !t.signal && t.exitCode === 99).map((t) => t.index);
  const held = tasks.filter((t) => !t.signal && t.exitCode === 100).map((t) => t.index);
  if (rerun.length) {
    io.stderr(
      `${PREFIX}: warning: task(s) ${formatArrayIds(rerun)} exited 99: real Grid Engine ` +
        `re-queues such a task and runs it again, so it would not run exactly once`,
    );
  }
  if (held.length) {
    io.stderr(
      `${PREFIX}: warning: task(s) ${formatArrayIds(held)} exited 100: real Grid Engine puts ` +
        `the job in error state, and 'qsub -sync y' would not return`,
    );
  }
}

/** The Grid Engine face, as `submit.ts` drives it. */
export const SGE: Face<SgeRequest> = {
  ...QSUB_SYNTAX,
  scheduler: "sge",
  prefix: PREFIX,
  help: QSUB_HELP,
  // -b y may come from the command line only: the script is then a command, not a file.
  readsScript: (words) =>
    !words.some((w, i) => w === "-b" && /^(y|yes)$/i.test(words[i + 1] ?? "")),
  jobIds: () => 1,
  build: (req, script, scriptArgs, _text, ctx, jobId) =>
    buildSgeJob(req, script, scriptArgs, ctx, jobId),
  // What real SGE accepts and then leaves in Eqw (so -sync y hangs).
  whenMissing: {
    logDir: "real SGE would put the task in Eqw and 'qsub -sync y' would hang",
    workDir: "real SGE: Eqw",
    workDirOption: "-wd",
  },
  hostProblems(job, req) {
    if (req.binary || job.shell.length === 0) return [];
    try {
      Deno.statSync(job.shell[0]);
      return [];
    } catch {
      return [`-S '${job.shell[0]}': no such shell on this host; real SGE: Eqw`];
    }
  },
  describe: (req, job) =>
    req.range
      ? `Grid Engine array job "${job.jobName}": ${job.tasks.length} task(s), -t ${req.range.first}-${req.range.last}:${req.range.step}`
      : `Grid Engine job "${job.jobName}": not an array, runs once`,
  submitLine: (req, job) => submitLine(req, Number(job.jobId), job.jobName),
  // Real qsub -sync y reports each task as it ends: successes on stdout (not with -terse),
  // failures on stderr (tests/real/FACTS.md, "What qsub prints").
  onTask: (req, job, io) =>
    req.sync
      ? (t: TaskOutcome) => {
        const id = req.range ? `${job.jobId}.${t.index}` : job.jobId;
        if (t.signal) io.stderr(`Job ${id} exited because of signal ${t.signal}`);
        else if (t.exitCode !== 0) io.stderr(`Job ${id} exited with exit code ${t.exitCode}.`);
        else if (!req.terse) io.stdout(`Job ${id} exited with exit code 0.`);
      }
      : undefined,
  // The first failure in completion order decides, 1 for a signal (FACTS.md, "-sync y exit code").
  exitCode: (req, outcome) =>
    req.sync && outcome.firstFailure
      ? (outcome.firstFailure.signal ? 1 : outcome.firstFailure.exitCode)
      : 0,
  afterRun: (outcome, io) => warnSpecialExitCodes(outcome.tasks, io),
  waits: (req) => req.sync,
  queued: (req, job) => ({
    partition: req.queue ?? "all.q",
    queue: req.queue ?? "all.q",
    slots: req.pe?.slots ?? 1,
    step: req.range?.step,
    cancelSignal: "SIGKILL",
    beginTime: req.begin,
    timeLimit: job.timeLimit?.seconds,
    hold: req.hold ? "user" : undefined,
  }),
  // Real: `verification: found suitable queue(s)` on stdout, nothing submitted (FACTS.md).
  validateOnly: (req) =>
    req.verify === "v"
      ? { stdout: ["verification: found suitable queue(s)"], stderr: [] }
      : undefined,
  expandArgs: (args, _scratch, cwd) => expandOptionFiles(args, cwd),
};

/** `qsub -@ FILE`: the options in FILE (words, `#` comments) put where `-@ FILE` stood. */
export function expandOptionFiles(args: string[], cwd: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "-@" || i + 1 >= args.length) {
      out.push(args[i]);
      continue;
    }
    const text = Deno.readTextFileSync(absolute(cwd, args[++i]));
    for (const line of text.split("\n")) {
      if (!line.trim().startsWith("#")) out.push(...splitWords(line));
    }
  }
  return out;
}

/**
 * The Slurm face: sbatch's options (`slurm_options.ts`), the job and the `SLURM_*` environment
 * each array task gets on a Slurm 22.05 compute node, and what sbatch prints and exits with.
 * Tables and rules only; `submit.ts` drives it and `sbatch.ts` is its command.
 *
 * Deliberate differences from a real cluster:
 * - in-process (`sbatch()`), without `--wait` sbatch still runs every task before it returns; the
 *   command line (`queue.ts`) queues the job in the spool and returns at once, as real sbatch;
 * - `--time` is enforced to the second (real Slurm rounds up to whole minutes and checks about
 *   every 30 s), with SIGTERM and SIGKILL 2 s later (real: after KillWait, default 30 s).
 *
 * @example Log file patterns as sbatch expands them
 * ```ts
 * import { expandSlurmPattern } from "./slurm.ts";
 * import assert from "node:assert/strict";
 *
 * const vars = { A: "40", a: "7", j: "47", x: "fit", N: "n1", u: "ada" };
 * assert.equal(expandSlurmPattern("%x-%A_%3a.out", vars), "fit-40_007.out");
 * ```
 *
 * @example Checking a script as sbatch would take it, without running it
 * ```ts
 * import { SLURM } from "./slurm.ts";
 * import { checkText } from "./submit.ts";
 * import assert from "node:assert/strict";
 *
 * const found = checkText(SLURM, "#!/bin/sh\n#SBATCH --array=1-4%2\necho\n", { scriptName: "r.sh" });
 * assert.equal(found.at(-1)?.message, 'Slurm array job "r.sh": 4 task(s), indices 1-4, at most 2 at once');
 * ```
 *
 * @module
 */

import { basename } from "node:path";
import { splitWords } from "./diagnostics.ts";
import { absolute, type Face, type SubmitContext } from "./face.ts";
import { type ArrayTask, formatArrayIds, type Job } from "./job.ts";
import { isDirectory } from "./logs.ts";
import { FAKE_OPTIONS_HELP } from "./options.ts";
import { SBATCH_SYNTAX, type SlurmRequest } from "./slurm_options.ts";

/** Help text of the fake sbatch. */
export const SBATCH_HELP =
  `usage: sbatch [options] SCRIPT [ARGS...]    (fake Slurm sbatch, runs locally)

Runs SCRIPT once per array task on this machine, with the environment a Slurm compute node gives
it. '#SBATCH' lines before the first command are read; the command line overrides them.

Slurm options understood:
  -a, --array=SPEC        indices: 0-15, 1-99:2, 1,3,8-10, with %N to run at most N at once;
                          indices must stay below MaxArraySize (1001 unless --max-array-size)
  -J, --job-name=NAME     job name (default: script file name)
  -o, --output=PATTERN    stdout file (default slurm-%A_%a.out, non-array slurm-%j.out);
  -e, --error=PATTERN     %A %a %j %x %N %u %% expand, %3a pads to 3 digits
  -c, --cpus-per-task=N   sets SLURM_CPUS_PER_TASK
  -t, --time=T            M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; enforced: SIGTERM, then SIGKILL
  --mem=SIZE, --mem-per-cpu=SIZE   recorded (MB default, K/M/G/T suffixes)
  -p, --partition=NAME    recorded (SLURM_JOB_PARTITION)
  -D, --chdir=DIR         working directory (default: the submit directory)
  --export=ALL|NONE|VARS  environment passed to the job (default ALL)
  --open-mode=append|truncate   log files (default truncate)
  -W, --wait              wait for all tasks; exit with the highest task exit code (1 for a
                          killed or timed-out task)
  --parsable              print only the job id
  Accepted and ignored: -n -N -A -q -d -C -w -x -G --ntasks-per-node --gres --gpus --qos
                        --mail-type --mail-user --exclusive --requeue --no-requeue --nice
                        --comment --signal --tmp --constraint --account --wckey --hint
                        --ntasks-per-core --threads-per-core --get-user-env --propagate
                        --kill-on-invalid-dep --mincpus --distribution --no-kill
                        --sockets-per-node --priority --deadline --time-min --oversubscribe
  -H, --hold              pending until 'scontrol release'
  -b, --begin=TIME        pending until TIME (now+N[minutes|hours], HH:MM, YYYY-MM-DDTHH:MM)
  --test-only             validate and say when it would start; submit nothing
  --wrap=CMD              run CMD as the job script

Without --wait the job is queued in the fake's spool ($ARRAYJOB_FAKE_SPOOL) and sbatch returns at
once; squeue, scontrol, scancel, sacct and srun see and change it.
Every run ends with a summary on stderr: tasks run, failed array task ids (e.g. 3,17-20, ranges
inclusive as in --array), the slowest task.

${FAKE_OPTIONS_HELP}
`;

/** Expand Slurm filename patterns (`%A %a %j %x %N %u %%`, with optional zero-padding width). */
export function expandSlurmPattern(
  pattern: string,
  v: { A: string; a: string; j: string; x: string; N: string; u: string },
): string {
  return pattern.replace(/%(\d*)([AajxNuJstn%])/g, (_m, width: string, c: string) => {
    let s: string;
    switch (c) {
      case "%":
        return "%";
      case "A":
        s = v.A;
        break;
      case "a":
        s = v.a;
        break;
      case "j":
        s = v.j;
        break;
      case "J": // the batch step's job id, same as %j (tests/real/FACTS.md)
        s = v.j;
        break;
      case "x":
        return v.x;
      case "N":
        return v.N;
      case "u":
        return v.u;
      default: // %s step, %t task rank, %n node rank: always the batch step on node 0
        s = c === "s" ? "batch" : "0";
    }
    return width ? s.padStart(Number(width), "0") : s;
  });
}

/** The partition a job gets without `-p` (scripts/slurm-up.sh's, so that outputs compare). */
export const DEFAULT_PARTITION = "debug";

// The DefMemPerCPU a node of this machine would have: its memory over its CPUs, in MB.
function defaultMemPerCpu(): number {
  const mb = Math.floor(Deno.systemMemoryInfo().total / 1024 / 1024);
  return Math.floor(mb / (navigator.hardwareConcurrency || 1));
}

/**
 * `sbatch --wrap CMD`: the command becomes a script (as sbatch writes one) in `scratch`, named
 * `wrap` unless `-J` says otherwise; other words are kept. Returns `args` unchanged without it.
 */
export function expandWrap(args: string[], scratch: string): string[] {
  const at = args.findIndex((a) => a === "--wrap" || a.startsWith("--wrap="));
  if (at < 0) return args;
  const inline = args[at].startsWith("--wrap=");
  const command = inline ? args[at].slice("--wrap=".length) : args[at + 1] ?? "";
  const rest = [...args.slice(0, at), ...args.slice(at + (inline ? 1 : 2))];
  const path = `${scratch}/wrap-${crypto.randomUUID()}.sh`;
  Deno.writeTextFileSync(
    path,
    `#!/bin/sh\n# This script was created by sbatch --wrap.\n\n${command}\n`,
  );
  return ["--job-name=wrap", ...rest, path];
}

// Slurm's NO_VAL, which %a expands to in a job that is not an array.
const NO_VAL = "4294967294";

/** Build the job: one array task per `--array` index, each with its own job id and environment. */
export function buildSlurmJob(
  req: SlurmRequest,
  script: string,
  scriptArgs: string[],
  scriptText: string,
  ctx: SubmitContext,
  firstJobId: number,
): Job {
  const name = req.name ?? basename(script);
  const workdir = req.chdir !== undefined ? absolute(ctx.submitDir, req.chdir) : ctx.submitDir;
  const host = ctx.host.split(".")[0];
  const indices = req.array ?? [];
  const count = Math.max(1, indices.length);
  const arrayJobId = firstJobId;
  // Real Slurm gives the array's own id to the highest index and fresh ids to the others.
  const jobIdOf = (pos: number) => pos === count - 1 ? arrayJobId : arrayJobId + 1 + pos;
  const base: Record<string, string> = {};
  const parts = req.export.split(",");
  if (parts.includes("ALL")) Object.assign(base, ctx.env);
  else {
    base.PATH = "/usr/local/bin:/usr/bin:/bin";
    for (const k of ["HOME", "USER", "LOGNAME"]) if (ctx.env[k]) base[k] = ctx.env[k];
  }
  for (const p of parts) {
    if (p === "ALL" || p === "NONE" || p === "") continue;
    const eq = p.indexOf("=");
    if (eq > 0) base[p.slice(0, eq)] = p.slice(eq + 1);
    else if (ctx.env[p] !== undefined) base[p] = ctx.env[p];
  }
  Object.assign(base, {
    SLURM_JOB_NAME: name,
    SLURM_SUBMIT_DIR: ctx.submitDir,
    SLURM_SUBMIT_HOST: ctx.host,
    SLURM_JOB_NODELIST: host,
    SLURM_NODELIST: host,
    SLURMD_NODENAME: host,
    SLURM_JOB_NUM_NODES: "1",
    SLURM_NNODES: "1",
    SLURM_CLUSTER_NAME: "fake",
    ENVIRONMENT: "BATCH",
    SLURM_JOB_PARTITION: req.partition ?? DEFAULT_PARTITION,
    SLURM_JOB_UID: String(Deno.uid() ?? 0),
    SLURM_JOB_GID: String(Deno.gid() ?? 0),
    SLURM_JOB_USER: ctx.user,
    SLURM_PROCID: "0",
    SLURM_LOCALID: "0",
    SLURM_NODEID: "0",
    SLURM_GTIDS: "0",
    SLURM_PRIO_PROCESS: "0",
    SLURM_TASKS_PER_NODE: "1",
  });
  if (!parts.includes("ALL")) {
    // --export=NONE: the login environment a fresh login shell gives (FACTS.md, "Task environment").
    Object.assign(base, { SHELL: ctx.env.SHELL ?? "/bin/sh", HOSTNAME: ctx.host, PWD: workdir });
  }
  if (req.cpus !== undefined) base.SLURM_CPUS_PER_TASK = String(req.cpus);
  // Measured on Slurm 22.05 (tests/real/FACTS.md): the node's share follows -c, TMPDIR is /tmp.
  base.SLURM_CPUS_ON_NODE = String(req.cpus ?? 1);
  base.SLURM_JOB_CPUS_PER_NODE = String(req.cpus ?? 1);
  base.TMPDIR = "/tmp";
  if (req.mem !== undefined) base.SLURM_MEM_PER_NODE = String(req.mem);
  // Without --mem/--mem-per-cpu a job gets the partition's DefMemPerCPU: here, the machine's share.
  else base.SLURM_MEM_PER_CPU = String(req.memPerCpu ?? defaultMemPerCpu());
  if (req.array) {
    Object.assign(base, {
      SLURM_ARRAY_JOB_ID: String(arrayJobId),
      SLURM_ARRAY_TASK_MIN: String(indices[0]),
      SLURM_ARRAY_TASK_MAX: String(indices[indices.length - 1]),
      SLURM_ARRAY_TASK_STEP: String(req.arrayStep ?? 1),
      SLURM_ARRAY_TASK_COUNT: String(indices.length),
    });
  }
  const outPattern = req.output ?? (req.array ? "slurm-%A_%a.out" : "slurm-%j.out");
  const makeTask = (pos: number): ArrayTask => {
    const jobId = String(jobIdOf(pos));
    const index = req.array ? indices[pos] : 0;
    const vars = {
      A: req.array ? String(arrayJobId) : jobId,
      a: req.array ? String(index) : NO_VAL,
      j: jobId,
      x: name,
      N: host,
      u: ctx.user,
    };
    const env: Record<string, string> = { ...base, SLURM_JOB_ID: jobId, SLURM_JOBID: jobId };
    if (req.array) env.SLURM_ARRAY_TASK_ID = String(index);
    const stdoutPath = absolute(workdir, expandSlurmPattern(outPattern, vars));
    const stderrPath = req.error === undefined
      ? null
      : absolute(workdir, expandSlurmPattern(req.error, vars));
    return {
      index,
      jobId,
      env,
      stdoutPath,
      stderrPath: stderrPath === stdoutPath ? null : stderrPath,
    };
  };
  const shebang = scriptText.startsWith("#!") ? splitWords(scriptText.split("\n")[0].slice(2)) : [];
  return {
    scheduler: "slurm",
    jobId: String(arrayJobId),
    jobName: name,
    scriptPath: absolute(ctx.submitDir, script),
    // slurmd execs the script itself; running its #! interpreter explicitly spares the fake from
    // needing the execute bit (real Slurm copies the script and sets it).
    shell: shebang.length ? shebang : ["/bin/sh"],
    scriptArgs,
    cwd: workdir,
    tasks: Array.from({ length: count }, (_, pos) => makeTask(pos)),
    throttle: req.throttle,
    timeLimit: req.time === undefined || req.time === null ? undefined : {
      seconds: req.time,
      signal: "SIGTERM",
      graceSeconds: 2,
      logLine:
        `slurmstepd-${host}: error: *** JOB {jobId} ON ${host} CANCELLED AT {time} DUE TO TIME LIMIT ***`,
    },
    appendLogs: req.append,
  };
}

/** The Slurm face, as `submit.ts` drives it. */
export const SLURM: Face<SlurmRequest> = {
  ...SBATCH_SYNTAX,
  scheduler: "slurm",
  prefix: "fake sbatch",
  help: SBATCH_HELP,
  readsScript: () => true,
  // Real Slurm gives every array task a job id of its own.
  jobIds: (req) => Math.max(1, req.array?.length ?? 1),
  build: (req, script, scriptArgs, text, ctx, firstJobId) =>
    buildSlurmJob(req, script, scriptArgs, text ?? "", ctx, firstJobId),
  // What real Slurm accepts and then fails where nobody looks.
  whenMissing: {
    logDir: "real Slurm fails the task and says so only in the slurmd log",
    workDir: "real Slurm runs the job in /tmp instead",
    workDirOption: "--chdir",
  },
  hostProblems(job) {
    for (const t of job.tasks) {
      const path = [t.stdoutPath, t.stderrPath].find((p) => p !== null && isDirectory(p));
      if (path) {
        return [
          `log path '${path}' is a directory; real Slurm writes nothing and fails the task ` +
          `(tests/real/FACTS.md); name a file, e.g. DIR/%x.o%A.%a`,
        ];
      }
    }
    return [];
  },
  describe: (req, job) =>
    req.array
      ? `Slurm array job "${job.jobName}": ${req.array.length} task(s), indices ${
        formatArrayIds(req.array)
      }${req.throttle ? `, at most ${req.throttle} at once` : ""}`
      : `Slurm job "${job.jobName}": not an array, runs once`,
  submitLine: (req, job) => req.parsable ? job.jobId : `Submitted batch job ${job.jobId}`,
  // --wait exits with the highest task exit code, 1 for a killed or timed-out task.
  exitCode: (req, outcome) =>
    req.wait
      ? Math.max(0, ...outcome.tasks.map((t) => t.signal || t.timedOut ? 1 : t.exitCode))
      : 0,
  waits: (req) => req.wait,
  queued: (req, job) => ({
    partition: req.partition ?? DEFAULT_PARTITION,
    queue: req.partition ?? DEFAULT_PARTITION,
    slots: req.cpus ?? 1,
    cancelSignal: "SIGTERM",
    beginTime: req.begin,
    timeLimit: job.timeLimit?.seconds,
    hold: req.hold ? "user" : undefined,
  }),
  // Real: `sbatch: Job N to start at TIME using 1 processors on nodes HOST in partition P`, on
  // stderr, for arrays and --parsable alike (FACTS.md, "Slurm: sbatch, srun").
  validateOnly: (req, job, ctx) =>
    req.testOnly
      ? {
        stdout: [],
        stderr: [
          `sbatch: Job ${job.jobId} to start at ${
            new Date(req.begin ?? Date.now()).toISOString().slice(0, 19)
          } using ${req.cpus ?? 1} processors on nodes ${ctx.host.split(".")[0]} in partition ${
            req.partition ?? DEFAULT_PARTITION
          }`,
        ],
      }
      : undefined,
  expandArgs: (args, scratch) => expandWrap(args, scratch),
};

/**
 * The Slurm face: what a local `sbatch` needs to read `#SBATCH` directives (only those before the
 * first command, as Slurm does) and the command line (which overrides them), the `SLURM_*`
 * environment each array task gets, and what sbatch prints and exits with. Tables and rules only;
 * `submit.ts` drives it and `sbatch.ts` is its command.
 *
 * Deliberate differences from a real cluster:
 * - without `--wait` sbatch still runs every task before it exits (no daemon), then exits 0;
 * - `--time` is enforced to the second (real Slurm rounds up to whole minutes and checks about
 *   every 30 s), with SIGTERM and SIGKILL 2 s later (real: after KillWait, default 30 s).
 *
 * @example `--array` as sbatch reads it
 * ```ts
 * import { parseSlurmArray } from "./slurm.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseSlurmArray("1-5:2,8%2"), { indices: [1, 3, 5, 8], throttle: 2, step: 1 });
 * ```
 *
 * @module
 */

import { basename } from "node:path";
import { type DirectiveLine, type Findings, splitWords } from "./diagnostics.ts";
import { absolute, type Face, type SubmitContext } from "./face.ts";
import { type ArrayTask, formatArrayIds, type Job, UsageError } from "./job.ts";
import { isDirectory } from "./logs.ts";
import { FAKE_OPTIONS_HELP, type OptionSpec, type OptionTable } from "./options.ts";

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
                        --begin --comment --signal --tmp --hold --constraint --account

Without --wait the fake still runs all tasks before exiting (no daemon), then exits 0.
Every run ends with a summary on stderr: tasks run, failed array task ids (e.g. 3,17-20, ranges
inclusive as in --array), the slowest task.

${FAKE_OPTIONS_HELP}
`;

/** Parsed Slurm request: `#SBATCH` directives merged with the command line. */
export interface SlurmRequest {
  /** `--array` indices, ascending and unique; undefined for a non-array job. */
  array?: number[];
  /** The `%N` of `--array`. */
  throttle?: number;
  /** `SLURM_ARRAY_TASK_STEP`: the `:S` of a single range, else 1. */
  arrayStep?: number;
  /** `--job-name`. */
  name?: string;
  /** `--output`. */
  output?: string;
  /** `--error`. */
  error?: string;
  /** `--cpus-per-task`. */
  cpus?: number;
  /** `--time` in seconds; null = unlimited; undefined = not given. */
  time?: number | null;
  /** `--mem` in MB. */
  mem?: number;
  /** `--mem-per-cpu` in MB. */
  memPerCpu?: number;
  /** `--partition`. */
  partition?: string;
  /** `--chdir`. */
  chdir?: string;
  /** `--export` as given (default ALL). */
  export: string;
  /** `--open-mode=append`. */
  append: boolean;
  /** `--wait`. */
  wait: boolean;
  /** `--parsable`. */
  parsable: boolean;
  /** Script line each option (by long name, `--array`) came from; absent: the command line. */
  lines: Map<string, number | undefined>;
}

/**
 * Parse `--array` syntax: comma-separated `N`, `N-M`, `N-M:S`, optionally followed by `%T`.
 * Throws a one-line error for empty, inverted or malformed specs and indices at or above
 * `maxArraySize`.
 */
export function parseSlurmArray(
  spec: string,
  maxArraySize = 1001,
): { indices: number[]; throttle?: number; step: number } {
  let body = spec;
  let throttle: number | undefined;
  const pct = spec.indexOf("%");
  if (pct >= 0) {
    const t = spec.slice(pct + 1);
    if (!/^[0-9]+$/.test(t) || Number(t) < 1) {
      throw new UsageError(`--array '${spec}': the throttle after % must be a positive integer`);
    }
    throttle = Number(t);
    body = spec.slice(0, pct);
  }
  if (body === "") throw new UsageError(`--array '${spec}' is empty; give indices like 0-9`);
  const set = new Set<number>();
  const items = body.split(",");
  // SLURM_ARRAY_TASK_STEP is the :S of a single range, else 1 (even for a regular list such as
  // 1,4,7: tests/real/FACTS.md).
  let step = 1;
  for (const item of items) {
    const m = /^([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?$/.exec(item);
    if (!m) {
      throw new UsageError(
        `--array '${spec}': '${item}' is malformed; use N, N-M or N-M:S, comma-separated, ` +
          `optionally ending in %T`,
      );
    }
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    const stride = m[3] === undefined ? 1 : Number(m[3]);
    if (last < first) {
      throw new UsageError(
        `--array '${spec}': '${item}' is an inverted range (real sbatch: 'Invalid job array specification')`,
      );
    }
    if (stride < 1) {
      throw new UsageError(
        `--array '${spec}': step in '${item}' must be at least 1 (real sbatch: 'Invalid job array specification')`,
      );
    }
    if (last >= maxArraySize) {
      throw new UsageError(
        `--array '${spec}': index ${last} is above MaxArraySize-1 = ${maxArraySize - 1}; real ` +
          `sbatch says 'Invalid job array specification' (fake: raise with --max-array-size)`,
      );
    }
    for (let i = first; i <= last; i += stride) set.add(i);
    if (items.length === 1) step = stride;
  }
  return { indices: [...set].sort((a, b) => a - b), throttle, step };
}

/** Parse a Slurm `--time` value to seconds; null means unlimited. */
export function parseSlurmTime(value: string): number | null {
  if (/^(UNLIMITED|INFINITE|unlimited|infinite)$/.test(value)) return null;
  let m = /^([0-9]+)-([0-9]+)(?::([0-9]+)(?::([0-9]+))?)?$/.exec(value);
  if (m) {
    return Number(m[1]) * 86400 + Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
  }
  m = /^([0-9]+)(?::([0-9]+)(?::([0-9]+))?)?$/.exec(value);
  if (m) {
    if (m[3] !== undefined) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    if (m[2] !== undefined) return Number(m[1]) * 60 + Number(m[2]);
    return Number(m[1]) * 60;
  }
  throw new UsageError(
    `--time '${value}' is not a Slurm time; use M, M:S, H:M:S, D-H, D-H:M or D-H:M:S`,
  );
}

/** Parse a Slurm memory size to MB (default unit MB). */
export function parseSlurmMemory(option: string, value: string): number {
  const m = /^([0-9]+)([KMGT]?)B?$/i.exec(value);
  if (!m) {
    throw new UsageError(
      `${option} '${value}' is not a size; use a number with optional K, M, G or T`,
    );
  }
  const factor: Record<string, number> = { "": 1, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
  return Math.ceil(Number(m[1]) * factor[m[2].toUpperCase()]);
}

function maxArraySizeFromEnv(): number {
  const v = Deno.env.get("ARRAYJOB_FAKE_MAX_ARRAY_SIZE");
  if (!v) return 1001;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) {
    throw new UsageError(`ARRAYJOB_FAKE_MAX_ARRAY_SIZE '${v}' must be a positive integer`);
  }
  return Number(v);
}

type Spec = OptionSpec<SlurmRequest>;

// Each option sbatch(1) has that the fake honours, with what it does to the request.
const HONOURED: Spec[] = [
  {
    names: ["--array", "-a"],
    values: 1,
    apply(req, [v], { fake }) {
      const a = parseSlurmArray(v, fake.maxArraySize ?? maxArraySizeFromEnv());
      req.array = a.indices;
      req.throttle = a.throttle;
      req.arrayStep = a.step;
    },
  },
  { names: ["--job-name", "-J"], values: 1, apply: (req, [v]) => req.name = v },
  { names: ["--output", "-o"], values: 1, apply: (req, [v]) => req.output = v },
  { names: ["--error", "-e"], values: 1, apply: (req, [v]) => req.error = v },
  {
    names: ["--cpus-per-task", "-c"],
    values: 1,
    apply(req, [v]) {
      if (!/^[0-9]+$/.test(v) || Number(v) < 1) {
        throw new UsageError(`--cpus-per-task '${v}' must be a positive integer`);
      }
      req.cpus = Number(v);
    },
  },
  { names: ["--time", "-t"], values: 1, apply: (req, [v]) => req.time = parseSlurmTime(v) },
  { names: ["--mem"], values: 1, apply: (req, [v]) => req.mem = parseSlurmMemory("--mem", v) },
  {
    names: ["--mem-per-cpu"],
    values: 1,
    apply: (req, [v]) => req.memPerCpu = parseSlurmMemory("--mem-per-cpu", v),
  },
  { names: ["--partition", "-p"], values: 1, apply: (req, [v]) => req.partition = v },
  { names: ["--chdir", "-D", "--workdir"], values: 1, apply: (req, [v]) => req.chdir = v },
  { names: ["--export"], values: 1, apply: (req, [v]) => req.export = v },
  {
    names: ["--open-mode"],
    values: 1,
    apply(req, [v]) {
      if (v !== "append" && v !== "truncate") {
        throw new UsageError(`--open-mode '${v}' must be append or truncate`);
      }
      req.append = v === "append";
    },
  },
  { names: ["--wait", "-W"], values: 0, apply: (req) => req.wait = true },
  { names: ["--parsable"], values: 0, apply: (req) => req.parsable = true },
];

// Accepted and ignored: they change nothing a single local machine could honour.
const IGNORED: Spec[] = [
  ...[
    "--ntasks -n",
    "--nodes -N",
    "--account -A",
    "--qos -q",
    "--dependency -d",
    "--constraint -C",
    "--nodelist -w",
    "--exclude -x",
    "--gpus -G",
    "--ntasks-per-node",
    "--gres",
    "--mail-type",
    "--mail-user",
    "--nice",
    "--begin",
    "--comment",
    "--signal",
    "--tmp",
    "--gpus-per-node",
    "--gpus-per-task",
    "--mem-per-gpu",
    "--licenses",
  ].map((names): Spec => ({ names: names.split(" "), values: 1 })),
  ...["--exclusive", "--requeue", "--no-requeue", "--hold -H", "--test-only", "--quiet -Q"]
    .map((names): Spec => ({ names: names.split(" "), values: 0 })),
];

/** sbatch's options, in GNU spelling. */
export const SBATCH_OPTIONS: OptionTable<SlurmRequest> = {
  command: "sbatch",
  spelling: "gnu",
  options: [...HONOURED, ...IGNORED],
};

/** The `#SBATCH` lines Slurm reads (before the first command) and those it ignores (after). */
export function slurmDirectives(text: string): { used: DirectiveLine[]; ignored: DirectiveLine[] } {
  const used: DirectiveLine[] = [];
  const ignored: DirectiveLine[] = [];
  let seenCommand = false;
  text.split("\n").forEach((l, i) => {
    if (l.startsWith("#SBATCH")) {
      const d = { words: splitWords(l.slice("#SBATCH".length), true), line: i + 1 };
      (seenCommand ? ignored : used).push(d);
    } else if (!/^\s*(#.*)?$/.test(l)) seenCommand = true;
  });
  return { used, ignored };
}

// The directives sbatch reads, after what it says about the script as a whole.
function directives(text: string, findings: Findings): DirectiveLine[] {
  if (!text.startsWith("#!")) {
    findings.add(
      "fatal",
      "the script does not start with '#!': real sbatch refuses it ('This does not look like " +
        "a batch script'); add e.g. #!/bin/bash as the first line",
      1,
    );
  }
  const { used, ignored } = slurmDirectives(text);
  for (const d of ignored) {
    findings.add(
      "suspicious",
      `'#SBATCH ${d.words.join(" ")}' comes after the first command; Slurm ignores it`,
      d.line,
    );
  }
  return used;
}

function validate(req: SlurmRequest, findings: Findings, text: string | null): void {
  if (req.partition !== undefined) {
    findings.add(
      "suspicious",
      `--partition ${req.partition}: partitions are site-defined; sbatch rejects one the cluster lacks`,
      req.lines.get("--partition"),
    );
  }
  // A refused --array is still an array request: no "not an array job" note then.
  if (text !== null && req.array === undefined && !req.lines.has("--array")) {
    findings.add("note", "no --array directive: this is not an array job; it runs once");
  }
}

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
  });
  if (req.cpus !== undefined) base.SLURM_CPUS_PER_TASK = String(req.cpus);
  // Measured on Slurm 22.05 (tests/real/FACTS.md): the node's share follows -c, TMPDIR is /tmp.
  base.SLURM_CPUS_ON_NODE = String(req.cpus ?? 1);
  base.SLURM_JOB_CPUS_PER_NODE = String(req.cpus ?? 1);
  base.TMPDIR = "/tmp";
  if (req.partition !== undefined) base.SLURM_JOB_PARTITION = req.partition;
  if (req.mem !== undefined) base.SLURM_MEM_PER_NODE = String(req.mem);
  if (req.memPerCpu !== undefined) base.SLURM_MEM_PER_CPU = String(req.memPerCpu);
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
      logLine: (t) =>
        `slurmstepd-${host}: error: *** JOB ${t.jobId} ON ${host} CANCELLED AT ${
          new Date().toISOString().slice(0, 19)
        } DUE TO TIME LIMIT ***`,
    },
    appendLogs: req.append,
  };
}

/** The Slurm face, as `submit.ts` drives it. */
export const SLURM: Face<SlurmRequest> = {
  scheduler: "slurm",
  prefix: "fake sbatch",
  help: SBATCH_HELP,
  options: SBATCH_OPTIONS,
  directive: "#SBATCH",
  newRequest: () => ({
    export: "ALL",
    append: false,
    wait: false,
    parsable: false,
    lines: new Map(),
  }),
  directives,
  validate,
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
};

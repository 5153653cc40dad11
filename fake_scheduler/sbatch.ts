/**
 * Slurm face of the fake scheduler: a local `sbatch` that reads `#SBATCH` directives (only those
 * before the first command, as Slurm does) and the command line (which overrides them), builds one
 * task per `--array` index with the `SLURM_*` environment, and runs them through the core. Run it
 * as `fake_scheduler/bin/sbatch`, by URL, or in-process via {@link sbatch}.
 *
 * Deliberate differences from a real cluster:
 * - without `--wait` sbatch still runs every task before it exits (no daemon), then exits 0;
 * - `--time` is enforced to the second (real Slurm rounds up to whole minutes and checks about
 *   every 30 s), with SIGTERM and SIGKILL 2 s later (real: after KillWait, default 30 s).
 *
 * @module
 */

import { basename } from "node:path";
import { type JobDescription, type TaskSpec, UsageError } from "./core.ts";
import { type DirectiveLine, type Findings, splitWords } from "./diagnostics.ts";
import {
  absolute,
  type Dialect,
  faceMain,
  type FaceOptions,
  FAKE_OPTIONS_HELP,
  type FakeOptions,
  isDirectory,
  refuseMissingDirs,
  submit,
  type SubmitContext,
  type SubmitResult,
} from "./face.ts";

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
  /** Script line each option (by long name) came from; absent: the command line. */
  lines: Map<string, number | undefined>;
}

interface OptionSpec {
  key: string;
  arg: boolean;
}

const LONG: Record<string, OptionSpec> = {};
const SHORT: Record<string, OptionSpec> = {};
function def(key: string, arg: boolean, short?: string, ...aliases: string[]): void {
  const spec = { key, arg };
  LONG[key] = spec;
  for (const a of aliases) LONG[a] = spec;
  if (short) SHORT[short] = spec;
}
def("array", true, "a");
def("job-name", true, "J");
def("output", true, "o");
def("error", true, "e");
def("cpus-per-task", true, "c");
def("time", true, "t");
def("mem", true);
def("mem-per-cpu", true);
def("partition", true, "p");
def("chdir", true, "D", "workdir");
def("export", true);
def("open-mode", true);
def("wait", false, "W");
def("parsable", false);
// Accepted and ignored: they change nothing a single local machine could honour.
for (const [k, s] of [["ntasks", "n"], ["nodes", "N"], ["account", "A"], ["qos", "q"]]) {
  def(k, true, s);
}
for (
  const [k, s] of [["dependency", "d"], ["constraint", "C"], ["nodelist", "w"], ["exclude", "x"]]
) {
  def(k, true, s);
}
def("gpus", true, "G");
for (const k of ["ntasks-per-node", "gres", "mail-type", "mail-user", "nice", "begin", "comment"]) {
  def(k, true);
}
for (const k of ["signal", "tmp", "gpus-per-node", "gpus-per-task", "mem-per-gpu", "licenses"]) {
  def(k, true);
}
for (const k of ["exclusive", "requeue", "no-requeue", "hold", "test-only", "quiet"]) def(k, false);
SHORT["H"] = LONG["hold"];
SHORT["Q"] = LONG["quiet"];

const USED = new Set([
  "array",
  "job-name",
  "output",
  "error",
  "cpus-per-task",
  "time",
  "mem",
  "mem-per-cpu",
  "partition",
  "chdir",
  "export",
  "open-mode",
  "wait",
  "parsable",
]);

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

function newRequest(): SlurmRequest {
  return { export: "ALL", append: false, wait: false, parsable: false, lines: new Map() };
}

/** Apply words to `req`; returns the index of the first non-option word. */
function applyWords(
  words: string[],
  req: SlurmRequest,
  findings: Findings,
  line: number | undefined,
  fake: FakeOptions,
): number {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith("-") || w === "-") return i;
    let spec: OptionSpec | undefined;
    let value: string | undefined;
    let shown = w;
    if (w.startsWith("--")) {
      const eq = w.indexOf("=");
      const name = eq > 0 ? w.slice(2, eq) : w.slice(2);
      shown = `--${name}`;
      spec = LONG[name];
      if (eq > 0) value = w.slice(eq + 1);
    } else {
      shown = w.slice(0, 2);
      spec = SHORT[w[1]];
      if (w.length > 2) value = w.slice(2);
    }
    if (!spec) throw new UsageError(`unknown sbatch option '${shown}'`);
    if (spec.arg && value === undefined) {
      if (i + 1 >= words.length) throw new UsageError(`sbatch option ${shown} needs a value`);
      value = words[++i];
    } else if (!spec.arg && value !== undefined) {
      throw new UsageError(`sbatch option ${shown} takes no value, got '${value}'`);
    }
    applyOption(spec.key, value ?? "", req, findings, line, fake);
  }
  return words.length;
}

function applyOption(
  key: string,
  v: string,
  req: SlurmRequest,
  findings: Findings,
  line: number | undefined,
  fake: FakeOptions,
): void {
  req.lines.set(key, line);
  switch (key) {
    case "array": {
      const a = parseSlurmArray(v, fake.maxArraySize ?? envMaxArraySize());
      req.array = a.indices;
      req.throttle = a.throttle;
      req.arrayStep = a.step;
      break;
    }
    case "job-name":
      req.name = v;
      break;
    case "output":
      req.output = v;
      break;
    case "error":
      req.error = v;
      break;
    case "cpus-per-task":
      if (!/^[0-9]+$/.test(v) || Number(v) < 1) {
        throw new UsageError(`--cpus-per-task '${v}' must be a positive integer`);
      }
      req.cpus = Number(v);
      break;
    case "time":
      req.time = parseSlurmTime(v);
      break;
    case "mem":
      req.mem = parseSlurmMemory("--mem", v);
      break;
    case "mem-per-cpu":
      req.memPerCpu = parseSlurmMemory("--mem-per-cpu", v);
      break;
    case "partition":
      req.partition = v;
      break;
    case "chdir":
      req.chdir = v;
      break;
    case "export":
      req.export = v;
      break;
    case "open-mode":
      if (v !== "append" && v !== "truncate") {
        throw new UsageError(`--open-mode '${v}' must be append or truncate`);
      }
      req.append = v === "append";
      break;
    case "wait":
      req.wait = true;
      break;
    case "parsable":
      req.parsable = true;
      break;
    default:
      if (!USED.has(key)) {
        findings.add(
          "note",
          `sbatch option --${key} is accepted but has no effect in the fake`,
          line,
        );
      }
  }
}

function envMaxArraySize(): number {
  const v = Deno.env.get("ARRAYJOB_FAKE_MAX_ARRAY_SIZE");
  if (!v) return 1001;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) {
    throw new UsageError(`ARRAYJOB_FAKE_MAX_ARRAY_SIZE '${v}' must be a positive integer`);
  }
  return Number(v);
}

/**
 * Parse an sbatch command line (options only, no script) plus the script's `#SBATCH` lines.
 * Usage errors become error findings; `fake` receives fake-only options met on the command line.
 */
export function parseSbatch(
  commandWords: string[],
  scriptText: string | null,
  findings: Findings,
  fake: FakeOptions = {},
): SlurmRequest {
  const req = newRequest();
  if (scriptText !== null) {
    if (!scriptText.startsWith("#!")) {
      findings.add(
        "fatal",
        "the script does not start with '#!': real sbatch refuses it ('This does not look like " +
          "a batch script'); add e.g. #!/bin/bash as the first line",
        1,
      );
    }
    const { used, ignored } = slurmDirectives(scriptText);
    for (const d of used) {
      try {
        const stop = applyWords(d.words, req, findings, d.line, fake);
        if (stop < d.words.length) {
          findings.add(
            "fatal",
            `'#SBATCH' line has a word that is not an option: '${d.words[stop]}'`,
            d.line,
          );
        }
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        findings.add("fatal", e.message, d.line);
      }
    }
    for (const d of ignored) {
      findings.add(
        "suspicious",
        `'#SBATCH ${d.words.join(" ")}' comes after the first command; Slurm ignores it`,
        d.line,
      );
    }
  }
  try {
    applyWords(commandWords, req, findings, undefined, fake);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    findings.add("fatal", e.message);
  }
  if (req.partition !== undefined) {
    findings.add(
      "suspicious",
      `--partition ${req.partition}: partitions are site-defined; sbatch rejects one the cluster lacks`,
      req.lines.get("partition"),
    );
  }
  // A refused --array is still an array request: no "not an array job" note then.
  if (scriptText !== null && req.array === undefined && !req.lines.has("array")) {
    findings.add("note", "no --array directive: this is not an array job; it runs once");
  }
  return req;
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

/** Build the core's job description. */
export function buildSlurmJob(
  req: SlurmRequest,
  script: string,
  scriptArgs: string[],
  scriptText: string,
  ctx: SubmitContext,
  firstJobId: number,
): JobDescription {
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
    const min = indices[0];
    const max = indices[indices.length - 1];
    const step = req.arrayStep ?? 1;
    Object.assign(base, {
      SLURM_ARRAY_JOB_ID: String(arrayJobId),
      SLURM_ARRAY_TASK_MIN: String(min),
      SLURM_ARRAY_TASK_MAX: String(max),
      SLURM_ARRAY_TASK_STEP: String(step),
      SLURM_ARRAY_TASK_COUNT: String(indices.length),
    });
  }
  const outPattern = req.output ?? (req.array ? "slurm-%A_%a.out" : "slurm-%j.out");
  const makeTask = (pos: number): TaskSpec => {
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
  const tasks = Array.from({ length: count }, (_, pos) => makeTask(pos));
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
    tasks,
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

/** Options for an in-process {@link sbatch} call. */
export type SbatchOptions = FaceOptions;

/** The Slurm dialect, as {@link submit} drives it. */
export const SLURM_DIALECT: Dialect<SlurmRequest> = {
  prefix: "fake sbatch",
  help: SBATCH_HELP,
  valueCount(args, i) {
    const a = args[i];
    if (!a.startsWith("-") || a === "-") return null;
    const spec = a.startsWith("--")
      ? (a.includes("=") ? undefined : LONG[a.slice(2)])
      : (a.length === 2 ? SHORT[a[1]] : undefined);
    return spec?.arg && i + 1 < args.length ? 1 : 0;
  },
  readsScript: () => true,
  parse: parseSbatch,
  // Real Slurm gives every array task a job id of its own.
  jobIds: (req) => Math.max(1, req.array?.length ?? 1),
  build: (req, script, scriptArgs, text, ctx, firstJobId) =>
    buildSlurmJob(req, script, scriptArgs, text ?? "", ctx, firstJobId),
  checkRunnable,
  submitLine: (req, job) => req.parsable ? job.jobId : `Submitted batch job ${job.jobId}`,
  // --wait exits with the highest task exit code, 1 for a killed or timed-out task.
  exitCode: (req, report) =>
    req.wait ? Math.max(0, ...report.tasks.map((t) => t.signal || t.timedOut ? 1 : t.exitCode)) : 0,
};

/**
 * Run `sbatch ARGS` in-process: parse, validate, print the submission line, run every task and
 * return the exit code the real sbatch would give, with the report.
 */
export function sbatch(args: string[], options: SbatchOptions = {}): Promise<SubmitResult> {
  return submit(SLURM_DIALECT, args, options);
}

// What real Slurm accepts and then fails where nobody looks: the fake refuses it up front.
function checkRunnable(job: JobDescription, _req: SlurmRequest, findings: Findings): void {
  refuseMissingDirs(
    job,
    findings,
    (dir) =>
      `log directory '${dir}' does not exist; real Slurm fails the task and says so only ` +
      `in the slurmd log; create it before submitting`,
    (dir) => `--chdir '${dir}' does not exist; real Slurm runs the job in /tmp instead`,
  );
  for (const t of job.tasks) {
    const path = [t.stdoutPath, t.stderrPath].find((p) => p !== null && isDirectory(p));
    if (path) {
      findings.add(
        "fatal",
        `log path '${path}' is a directory; real Slurm writes nothing and fails the task ` +
          `(tests/real/FACTS.md); name a file, e.g. DIR/%x.o%A.%a`,
      );
      break;
    }
  }
}

/** Command-line entry point: run sbatch with `args` on the console and return the exit code. */
export function sbatchMain(args: string[]): Promise<number> {
  return faceMain(SLURM_DIALECT, args);
}

if (import.meta.main) Deno.exit(await sbatchMain(Deno.args));

/**
 * Grid Engine face of the fake scheduler: a local `qsub` that reads `#$` directives and the
 * command line the way qsub(1) of Son of Grid Engine 8.1.9 does (command line overrides the
 * script), builds one task per `-t` index with the `SGE_TASK_*` environment, and runs them through
 * the core. Run it as `fake_scheduler/bin/qsub`, by URL, or in-process via {@link qsub}.
 *
 * Deliberate differences from a real cluster, all local-machine necessities:
 * - without `-cwd`/`-wd` the job runs in the submit directory (real SGE: `$HOME`), and relative
 *   `-o`/`-e` paths resolve there too;
 * - without `-S` the script runs under `/bin/sh`, whatever its `#!` line says, as on the measured
 *   SGE 8.1.9 queue (tests/real/FACTS.md; other sites' queues may use `/bin/csh`);
 * - without `-sync y` qsub still runs every task before it exits (there is no daemon to hand the
 *   job to), but exits 0 like a successful submission.
 *
 * @module
 */

import { basename } from "node:path";
import {
  type FaceIO,
  formatArrayIds,
  type JobDescription,
  type TaskRecord,
  type TaskSpec,
  UsageError,
} from "./core.ts";
import { type DirectiveLine, type Findings, splitWords } from "./diagnostics.ts";
import {
  absolute,
  type Dialect,
  faceMain,
  type FaceOptions,
  FAKE_OPTIONS_HELP,
  isDirectory,
  refuseMissingDirs,
  submit,
  type SubmitContext,
  type SubmitResult,
} from "./face.ts";

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

Without -sync y the fake still runs all tasks before exiting (no daemon), then exits 0.
Every run ends with a summary on stderr: tasks run, failed array task ids (e.g. 3,17-20, ranges
inclusive as in -t), the slowest task.

${FAKE_OPTIONS_HELP}
`;

/** Parsed Grid Engine request: the merge of `#$` directives and the command line. */
export interface SgeRequest {
  /** `-t`: first, last (corrected to the last real task), step; undefined for non-array jobs. */
  range?: { first: number; last: number; step: number };
  /** `-tc`. */
  throttle?: number;
  /** `-N`. */
  name?: string;
  /** `-o`. */
  output?: string;
  /** `-e`. */
  error?: string;
  /** `-j y`. */
  join: boolean;
  /** `-cwd`. */
  cwd: boolean;
  /** `-wd`. */
  wd?: string;
  /** `-S`. */
  shell?: string;
  /** `-V`. */
  exportAll: boolean;
  /** `-v` entries: name → value, or null for "take it from the submit environment". */
  vars: Map<string, string | null>;
  /** `-pe NAME N`. */
  pe?: { name: string; slots: number };
  /** `-l` resources, name → value. */
  resources: Map<string, string>;
  /** `-q`. */
  queue?: string;
  /** `-sync y`. */
  sync: boolean;
  /** `-terse`. */
  terse: boolean;
  /** `-b y`: the "script" is a command, directives are not read. */
  binary: boolean;
  /** `-shell y|n`. */
  useShell: boolean;
  /** `-binding` as given. */
  binding?: string;
  /** Script line each setting came from ("-q", "-pe", "-N", "-l NAME"); absent: command line. */
  lines: Map<string, number | undefined>;
}

function newRequest(): SgeRequest {
  return {
    join: false,
    cwd: false,
    exportAll: false,
    vars: new Map(),
    resources: new Map(),
    sync: false,
    terse: false,
    binary: false,
    useShell: true,
    lines: new Map(),
  };
}

// Arity of every qsub(1) option the fake knows. Options it accepts but ignores are listed too, so
// a script written for a real cluster is not refused for them.
const ARITY: Record<string, number> = {
  "-t": 1,
  "-tc": 1,
  "-N": 1,
  "-o": 1,
  "-e": 1,
  "-j": 1,
  "-cwd": 0,
  "-wd": 1,
  "-S": 1,
  "-V": 0,
  "-v": 1,
  "-pe": 2,
  "-l": 1,
  "-q": 1,
  "-sync": 1,
  "-terse": 0,
  "-b": 1,
  "-shell": 1,
  "-binding": 1,
  "-hold_jid": 1,
  "-hold_jid_ad": 1,
  "-m": 1,
  "-M": 1,
  "-P": 1,
  "-A": 1,
  "-a": 1,
  "-ac": 1,
  "-ar": 1,
  "-ckpt": 1,
  "-c": 1,
  "-dc": 1,
  "-dl": 1,
  "-js": 1,
  "-p": 1,
  "-r": 1,
  "-now": 1,
  "-w": 1,
  "-R": 1,
  "-masterq": 1,
  "-i": 1,
  "-display": 1,
  "-notify": 0,
  "-hard": 0,
  "-soft": 0,
  "-h": 0,
  "-clear": 0,
  "-verify": 0,
};

// Options that accumulate rather than replace when given again.
const MULTI = new Set(["-l", "-v", "-hold_jid", "-M", "-ac", "-dc"]);

/** Grid Engine complexes of a default Son of Grid Engine 8.1.9 install. */
export const SGE8_COMPLEXES: ReadonlySet<string> = new Set([
  "arch",
  "calendar",
  "cpu",
  "display_win_gui",
  "h_core",
  "h_cpu",
  "h_data",
  "h_fsize",
  "h_rss",
  "h_rt",
  "h_stack",
  "h_vmem",
  "hostname",
  "load_avg",
  "load_long",
  "load_medium",
  "load_short",
  "m_core",
  "m_socket",
  "m_thread",
  "m_topology",
  "m_topology_inuse",
  "mem_free",
  "mem_total",
  "mem_used",
  "min_cpu_interval",
  "np_load_avg",
  "np_load_long",
  "np_load_medium",
  "np_load_short",
  "num_proc",
  "qname",
  "rerun",
  "s_core",
  "s_cpu",
  "s_data",
  "s_fsize",
  "s_rss",
  "s_rt",
  "s_stack",
  "s_vmem",
  "seq_no",
  "slots",
  "swap_free",
  "swap_rate",
  "swap_rsvd",
  "swap_total",
  "swap_used",
  "tmpdir",
  "virtual_free",
  "virtual_total",
  "virtual_used",
]);

/** Complexes Univa/Altair Grid Engine adds on top of the SGE 8 set. */
export const UNIVA_ONLY_COMPLEXES: ReadonlySet<string> = new Set([
  "m_mem_free",
  "m_mem_free_n0",
  "m_mem_free_n1",
  "m_mem_used",
  "m_mem_total",
  "m_numa_nodes",
  "m_topology_numa",
  "m_cache_l1",
  "m_cache_l2",
  "m_cache_l3",
  "m_gpu",
  "d_rt",
  "h_rt_infinity",
]);

const MEMORY_COMPLEXES = new Set([
  "h_vmem",
  "s_vmem",
  "h_data",
  "s_data",
  "h_rss",
  "s_rss",
  "h_stack",
  "s_stack",
  "h_fsize",
  "s_fsize",
  "mem_free",
  "virtual_free",
  "m_mem_free",
]);

/**
 * Parse `-t n[-m[:s]]`; returns the range with `last` corrected to the last task that runs. An
 * inverted `m-n` is swapped, as SGE 8.1.9 does silently (tests/real/FACTS.md, "-t and -tc"), and
 * flagged `inverted`. Errors carry qsub's exit codes: 7 for syntax, 1 for a task id of 0.
 */
export function parseSgeRange(
  value: string,
): { first: number; last: number; step: number; inverted: boolean } {
  const m = /^([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?$/.exec(value);
  if (!m) {
    const why = value.includes(",")
      ? "Grid Engine allows one range per -t (lists like 1,3,5 are Slurm syntax)"
      : "Grid Engine takes n[-m[:s]], e.g. 1-14 or 1-100:10";
    throw new UsageError(`-t '${value}' is malformed: ${why}`, 7);
  }
  let first = Number(m[1]);
  let lastGiven = m[2] === undefined ? first : Number(m[2]);
  const step = m[3] === undefined ? 1 : Number(m[3]);
  if (step < 1) throw new UsageError(`-t '${value}': step must be at least 1`, 7);
  const inverted = lastGiven < first;
  if (inverted) [first, lastGiven] = [lastGiven, first];
  if (first < 1) {
    throw new UsageError(`-t '${value}': ${first} is an invalid task id; task ids start at 1`);
  }
  // qmaster's job verification calls range_correct_end(): 1-9:3 becomes 1-7:3, so both the
  // submission line and SGE_TASK_LAST show 7.
  const last = first + Math.floor((lastGiven - first) / step) * step;
  return { first, last, step, inverted };
}

/** Parse an SGE time value: seconds, or `[[H:]M:]S` with empty fields meaning 0. */
export function parseSgeTime(value: string): number | null {
  if (/^(INFINITY|infinity)$/.test(value)) return null;
  if (/^[0-9]+$/.test(value)) return Number(value);
  const m = /^([0-9]*):([0-9]*):([0-9]*)$/.exec(value);
  if (!m) {
    throw new UsageError(
      `h_rt '${value}' is not a Grid Engine time; use seconds (3600) or H:M:S (1:00:00)`,
    );
  }
  return Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0);
}

function yesNo(option: string, value: string): boolean {
  if (/^(y|yes|true)$/i.test(value)) return true;
  if (/^(n|no|false)$/i.test(value)) return false;
  throw new UsageError(`${option} '${value}' must be y or n`);
}

/**
 * Apply one group of words (a `#$` line or the command line) to `req`. Returns the index of the
 * first non-option word (the script on the command line), or `words.length`.
 */
function applyWords(
  words: string[],
  req: SgeRequest,
  findings: Findings,
  line: number | undefined,
): number {
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (!w.startsWith("-")) return i;
    const arity = ARITY[w];
    if (arity === undefined) {
      throw new LineError(`unknown qsub option '${w}'`, line);
    }
    if (i + arity >= words.length) {
      throw new LineError(`qsub option ${w} needs ${arity === 2 ? "two values" : "a value"}`, line);
    }
    const v = words[i + 1];
    try {
      applyOption(w, v, words[i + 2], req, findings, line);
    } catch (e) {
      if (e instanceof UsageError) throw new LineError(e.message, line, e.exitCode);
      throw e;
    }
    i += arity;
  }
  return words.length;
}

/** A usage error that knows the script line it came from. */
export class LineError extends UsageError {
  /** Create an error for `line` (undefined: the command line). */
  constructor(message: string, readonly line?: number, exitCode = 1) {
    super(message, exitCode);
  }
}

function applyOption(
  option: string,
  v: string,
  v2: string | undefined,
  req: SgeRequest,
  findings: Findings,
  line: number | undefined,
): void {
  req.lines.set(option, line);
  switch (option) {
    case "-t": {
      const { inverted, ...range } = parseSgeRange(v);
      req.range = range;
      if (inverted) {
        findings.add(
          "suspicious",
          `-t ${v} is an inverted range; SGE 8.1.9 silently swaps it to ` +
            `${range.first}-${range.last}:${range.step}, which the fake runs too`,
          line,
        );
      }
      break;
    }
    case "-tc":
      if (!/^[0-9]+$/.test(v)) throw new UsageError(`-tc '${v}' must be a non-negative integer`);
      // -tc 0 means "no limit" in Grid Engine.
      req.throttle = Number(v) === 0 ? undefined : Number(v);
      break;
    case "-N":
      req.name = v;
      break;
    case "-o":
      req.output = stripHost(v);
      break;
    case "-e":
      req.error = stripHost(v);
      break;
    case "-j":
      req.join = yesNo("-j", v);
      break;
    case "-cwd":
      req.cwd = true;
      break;
    case "-wd":
      req.wd = v;
      break;
    case "-S":
      req.shell = stripHost(v);
      break;
    case "-V":
      req.exportAll = true;
      break;
    case "-v":
      for (const item of v.split(",")) {
        if (item === "") continue;
        const eq = item.indexOf("=");
        if (eq === 0) throw new UsageError(`-v '${item}': variable name is empty`);
        if (eq > 0) req.vars.set(item.slice(0, eq), item.slice(eq + 1));
        else req.vars.set(item, null);
      }
      break;
    case "-pe": {
      const slots = v2 ?? "";
      const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(slots);
      if (!m) throw new UsageError(`-pe ${v} '${slots}': slot count must be N or N-M`);
      // With a slot range the scheduler grants something in between; the fake grants the minimum.
      const n = Number(m[1]);
      if (n < 1) throw new UsageError(`-pe ${v} '${slots}': slot count must be at least 1`);
      req.pe = { name: v, slots: n };
      if (n === 1) {
        findings.add(
          "suspicious",
          `-pe ${v} 1 requests a 1-slot parallel environment: legal on sge8 and univa, but a ` +
            `plain job gets the same single slot without tying up a PE`,
          line,
        );
      }
      break;
    }
    case "-l":
      for (const item of v.split(",")) {
        if (item === "") continue;
        const eq = item.indexOf("=");
        if (eq <= 0) {
          // Boolean complexes may be requested bare (-l gpu) meaning TRUE.
          req.resources.set(item, "TRUE");
        } else req.resources.set(item.slice(0, eq), item.slice(eq + 1));
        req.lines.set(`-l ${eq <= 0 ? item : item.slice(0, eq)}`, line);
      }
      break;
    case "-q":
      req.queue = v;
      break;
    case "-sync":
      req.sync = yesNo("-sync", v);
      break;
    case "-terse":
      req.terse = true;
      break;
    case "-b":
      req.binary = yesNo("-b", v);
      break;
    case "-shell":
      req.useShell = yesNo("-shell", v);
      break;
    case "-binding":
      req.binding = v;
      break;
    default:
      findings.add("note", `qsub option ${option} is accepted but has no effect in the fake`, line);
  }
}

// "-o host:path" names the host the path is on; locally there is one host.
function stripHost(v: string): string {
  const colon = v.indexOf(":");
  return colon > 0 && !v.startsWith("/") ? v.slice(colon + 1) : v;
}

/** The `#$` lines of a script, tokenized. Grid Engine reads them anywhere in the file. */
export function sgeDirectives(text: string): DirectiveLine[] {
  const out: DirectiveLine[] = [];
  text.split("\n").forEach((l, i) => {
    if (l.startsWith("#$")) out.push({ words: splitWords(l.slice(2)), line: i + 1 });
  });
  return out;
}

// Grid Engine refuses object names containing these (sge_types(1), "name").
const BAD_NAME_CHARS = /[\s/:@\\*?]/;

/**
 * Parse a qsub command line plus the script's `#$` directives into a request. `scriptText` is null
 * for `-b y` jobs or when only the command line is checked. Usage errors become error findings.
 */
export function parseQsub(
  commandWords: string[],
  scriptText: string | null,
  findings: Findings,
): SgeRequest {
  const req = newRequest();
  if (scriptText !== null) {
    const seen = new Set<string>();
    for (const d of sgeDirectives(scriptText)) {
      // Real qsub warns when a script sets a single-valued option twice; the later one wins.
      const option = d.words[0];
      if (option && ARITY[option] !== undefined && !MULTI.has(option)) {
        if (seen.has(option)) {
          findings.add(
            "suspicious",
            `"${option}" option has already been set, overriding previous setting`,
            d.line,
          );
        }
        seen.add(option);
      }
      try {
        const stop = applyWords(d.words, req, findings, d.line);
        if (stop < d.words.length) {
          findings.add(
            "fatal",
            `'#$' line has a word that is not an option: '${d.words[stop]}'`,
            d.line,
          );
        }
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        findings.add("fatal", e.message, d.line, [], e.exitCode);
      }
    }
  }
  try {
    applyWords(commandWords, req, findings, undefined);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    findings.add("fatal", e.message, undefined, [], e.exitCode);
  }
  validateRequest(req, findings, scriptText);
  return req;
}

function validateRequest(req: SgeRequest, findings: Findings, scriptText: string | null): void {
  if (req.name !== undefined) {
    if (req.name === "") findings.add("fatal", `-N '': job name must not be empty`);
    else if (req.name.includes("/")) {
      findings.add(
        "fatal",
        `-N '${req.name}': qsub refuses a job name containing '/' (exit 2)`,
        req.lines.get("-N"),
        [],
        2,
      );
    } else if (BAD_NAME_CHARS.test(req.name)) {
      findings.add(
        "fatal",
        `-N '${req.name}' is refused by Grid Engine: names must not contain whitespace or / : @ \\ * ?`,
        req.lines.get("-N"),
      );
    } else if (/^[0-9]/.test(req.name)) {
      findings.add(
        "fatal",
        `-N '${req.name}' is refused by Grid Engine: a job name cannot start with a digit`,
        req.lines.get("-N"),
      );
    }
  }
  for (const [name, value] of req.resources) {
    const at = req.lines.get(`-l ${name}`);
    if (UNIVA_ONLY_COMPLEXES.has(name)) {
      findings.add(
        "suspicious",
        `-l ${name}=${value}: '${name}' exists on univa (Univa/Altair Grid Engine) only; ` +
          `sge8 (Son of Grid Engine 8.1.9) rejects the job with 'unknown resource "${name}"'`,
        at,
        ["sge8"],
      );
    } else if (!SGE8_COMPLEXES.has(name)) {
      findings.add(
        "suspicious",
        `-l ${name}=${value}: '${name}' is not a default complex of sge8 or univa; ` +
          `it must be defined by the site, or qsub rejects the job`,
        at,
      );
    }
    if (MEMORY_COMPLEXES.has(name) && !/^[0-9]+(\.[0-9]+)?[kKmMgGtT]?$/.test(value)) {
      findings.add(
        "fatal",
        `-l ${name}=${value}: not a Grid Engine memory value; use a number with optional K, M, G or T`,
        at,
      );
    }
    if (name === "h_rt" || name === "s_rt") {
      try {
        parseSgeTime(value);
      } catch (e) {
        findings.add("fatal", (e as Error).message, at);
      }
    }
  }
  if (req.queue !== undefined && req.queue !== "all.q") {
    findings.add(
      "suspicious",
      `-q ${req.queue}: queues are site-defined and only all.q exists on a fresh install; ` +
        `sge8 rejects an unknown queue ('job requests unknown queue "${req.queue}"')`,
      req.lines.get("-q"),
      ["sge8"],
    );
  }
  if (req.pe !== undefined && req.pe.name !== "smp" && req.pe.name !== "make") {
    findings.add(
      "suspicious",
      `-pe ${req.pe.name}: parallel environments are site-defined; sge8 rejects one the ` +
        `cluster lacks ('the requested parallel environment "${req.pe.name}" does not exist')`,
      req.lines.get("-pe"),
      ["sge8"],
    );
  }
  if (scriptText !== null && !req.binary && req.range === undefined && !req.lines.has("-t")) {
    findings.add("note", "no -t directive: this is not an array job; it runs once");
  }
  if (!req.cwd && req.wd === undefined) {
    findings.add(
      "note",
      "no -cwd or -wd: real Grid Engine runs the job in $HOME; the fake uses the submit directory",
    );
  }
}

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

/** Build the core's job description from a parsed request. */
export function buildSgeJob(
  req: SgeRequest,
  script: string,
  scriptArgs: string[],
  ctx: SubmitContext,
  jobId: number,
): JobDescription {
  const name = req.name ?? basename(script);
  const workdir = req.wd !== undefined ? absolute(ctx.submitDir, req.wd) : ctx.submitDir;
  const scriptPath = req.binary ? script : absolute(ctx.submitDir, script);
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
    RESTARTED: "0",
    ENVIRONMENT: "BATCH",
    NSLOTS: String(req.pe?.slots ?? 1),
    NHOSTS: "1",
    NQUEUES: "1",
    QUEUE: queue,
    SGE_O_HOME: ctx.home,
    SGE_O_HOST: ctx.host,
    SGE_O_LOGNAME: ctx.user,
    SGE_O_PATH: ctx.env.PATH ?? "",
    SGE_O_SHELL: ctx.env.SHELL ?? "",
    SGE_O_WORKDIR: ctx.submitDir,
    SGE_CWD_PATH: workdir,
  });
  if (req.pe) base.PE = req.pe.name;
  const tmpRoot = ctx.env.TMPDIR || "/tmp";
  const logPath = (given: string | undefined, kind: "o" | "e", taskId: string): string => {
    const defaultName = req.range ? `${name}.${kind}${jobId}.${taskId}` : `${name}.${kind}${jobId}`;
    if (given === undefined) return absolute(workdir, defaultName);
    // Outside arrays $TASK_ID expands to 0 in paths, though the environment says "undefined".
    const expanded = expandSgePath(given, { ...pseudo, TASK_ID: req.range ? taskId : "0" });
    const path = absolute(workdir, expanded);
    // A trailing / names a directory even when it is missing, which missingLogDirs then reports.
    return expanded.endsWith("/") || isDirectory(path) ? absolute(path, defaultName) : path;
  };
  const makeTask = (index: number | null): TaskSpec => {
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
      TMP: tmpDir,
    };
    if (!req.exportAll) env.PATH = `${tmpDir}:${env.PATH}`;
    return { index: index ?? 0, jobId: String(jobId), env, stdoutPath, stderrPath, tmpDir };
  };
  const tasks = req.range ? indices.map(makeTask) : [makeTask(null)];
  const hrt = req.resources.get("h_rt");
  const seconds = hrt === undefined ? null : parseSgeTime(hrt);
  return {
    scheduler: "sge",
    jobId: String(jobId),
    jobName: name,
    scriptPath,
    shell: shell ? [shell] : [],
    scriptArgs,
    cwd: workdir,
    tasks,
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

/** Options for an in-process {@link qsub} call. */
export type QsubOptions = FaceOptions;

const PREFIX = "fake qsub";

/** The Grid Engine dialect, as {@link submit} drives it. */
export const SGE_DIALECT: Dialect<SgeRequest> = {
  prefix: PREFIX,
  help: QSUB_HELP,
  valueCount: (args, i) => args[i].startsWith("-") ? ARITY[args[i]] ?? 0 : null,
  // -b y may come from the command line only: the script is then a command, not a file.
  readsScript: (words) =>
    !words.some((w, i) => w === "-b" && /^(y|yes)$/i.test(words[i + 1] ?? "")),
  parse: (words, text, findings) => parseQsub(words, text, findings),
  jobIds: () => 1,
  build: (req, script, scriptArgs, _text, ctx, jobId) =>
    buildSgeJob(req, script, scriptArgs, ctx, jobId),
  checkRunnable,
  submitLine: (req, job) => submitLine(req, Number(job.jobId), job.jobName),
  // Real qsub -sync y reports each task as it ends: successes on stdout (not with -terse),
  // failures on stderr (tests/real/FACTS.md, "What qsub prints").
  onTask: (req, job, io) =>
    req.sync
      ? (t: TaskRecord) => {
        const id = req.range ? `${job.jobId}.${t.index}` : job.jobId;
        if (t.signal) io.stderr(`Job ${id} exited because of signal ${t.signal}`);
        else if (t.exitCode !== 0) io.stderr(`Job ${id} exited with exit code ${t.exitCode}.`);
        else if (!req.terse) io.stdout(`Job ${id} exited with exit code 0.`);
      }
      : undefined,
  // The first failure in completion order decides, 1 for a signal (FACTS.md, "-sync y exit code").
  exitCode: (req, report) =>
    req.sync && report.firstFailure
      ? (report.firstFailure.signal ? 1 : report.firstFailure.exitCode)
      : 0,
  afterRun: (report, io) => warnSpecialExitCodes(report.tasks, io),
};

/**
 * Run `qsub ARGS` in-process: parse, validate, print the submission line, run every task and
 * return the exit code the real qsub would give, with the report.
 */
export function qsub(args: string[], options: QsubOptions = {}): Promise<SubmitResult> {
  return submit(SGE_DIALECT, args, options);
}

/**
 * Grid Engine gives two exit codes a meaning of their own (qsub(1), sge_shepherd(8)): 99 re-queues
 * the task, so it runs again, and 100 puts the job in error state, where `qsub -sync y` waits
 * forever. The fake runs each task once either way, and says where the real one would differ.
 */
function warnSpecialExitCodes(tasks: TaskRecord[], io: FaceIO): void {
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

// Conditions under which real SGE accepts the job and then leaves it in Eqw (so -sync y hangs):
// the fake refuses them before anything runs.
function checkRunnable(job: JobDescription, req: SgeRequest, findings: Findings): void {
  refuseMissingDirs(
    job,
    findings,
    (dir) =>
      `log directory '${dir}' does not exist; real SGE would put the task in Eqw ` +
      `and 'qsub -sync y' would hang; create it before submitting`,
    (dir) => `working directory '${dir}' (-wd) does not exist; real SGE: Eqw`,
  );
  if (!req.binary && job.shell.length > 0) {
    try {
      Deno.statSync(job.shell[0]);
    } catch {
      findings.add("fatal", `-S '${job.shell[0]}': no such shell on this host; real SGE: Eqw`);
    }
  }
}

/** Command-line entry point: run qsub with `args` on the console and return the exit code. */
export function qsubMain(args: string[]): Promise<number> {
  return faceMain(SGE_DIALECT, args);
}

if (import.meta.main) Deno.exit(await qsubMain(Deno.args));

/**
 * qsub's options as data: what each `#$` directive or command-line option of Son of Grid Engine
 * 8.1.9's qsub(1) does to a {@link SgeRequest}, how its values read (`-t`, `h_rt`), and the checks
 * of the whole request Grid Engine makes (job names, complexes, queues, PEs). `options.ts` parses
 * with this table; `sge.ts` turns the request into a job.
 *
 * @example `-t` as qmaster corrects it
 * ```ts
 * import { parseSgeRange } from "./sge_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseSgeRange("1-9:3"), { first: 1, last: 7, step: 3, inverted: false });
 * ```
 *
 * @module
 */

import { DIALECTS } from "../dialects.ts";
import { type DirectiveLine, type Findings, splitWords } from "./diagnostics.ts";
import { UsageError } from "./job.ts";
import type { OptionSpec, OptionTable, Syntax } from "./options.ts";

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
  /** `-h`: held (user hold) until released. */
  hold: boolean;
  /** `-a`: epoch ms before which it does not start. */
  begin?: number;
  /** `-w`: v (verify only: submit nothing), e, w, n, p. */
  verify?: string;
  /** Script line each option came from (`-q`, `-pe`, `-N`, also `-l NAME`); absent: command line. */
  lines: Map<string, number | undefined>;
}

/** Grid Engine complexes of a default Son of Grid Engine 8.1.9 install. */
export const SGE8_COMPLEXES: ReadonlySet<string> = new Set(
  ("arch calendar cpu display_win_gui h_core h_cpu h_data h_fsize h_rss h_rt h_stack h_vmem " +
    "hostname load_avg load_long load_medium load_short m_core m_socket m_thread m_topology " +
    "m_topology_inuse mem_free mem_total mem_used min_cpu_interval np_load_avg np_load_long " +
    "np_load_medium np_load_short num_proc qname rerun s_core s_cpu s_data s_fsize s_rss s_rt " +
    "s_stack s_vmem seq_no slots swap_free swap_rate swap_rsvd swap_total swap_used tmpdir " +
    "virtual_free virtual_total virtual_used").split(" "),
);

/** Complexes Univa/Altair Grid Engine adds on top of the SGE 8 set. */
export const UNIVA_ONLY_COMPLEXES: ReadonlySet<string> = new Set(
  ("m_mem_free m_mem_free_n0 m_mem_free_n1 m_mem_used m_mem_total m_numa_nodes m_topology_numa " +
    "m_cache_l1 m_cache_l2 m_cache_l3 m_gpu d_rt h_rt_infinity").split(" "),
);

const MEMORY_COMPLEXES = new Set(
  ("h_vmem s_vmem h_data s_data h_rss s_rss h_stack s_stack h_fsize s_fsize mem_free " +
    "virtual_free m_mem_free").split(" "),
);

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

// "-o host:path" names the host the path is on; locally there is one host.
function stripHost(v: string): string {
  const colon = v.indexOf(":");
  return colon > 0 && !v.startsWith("/") ? v.slice(colon + 1) : v;
}

type Spec = OptionSpec<SgeRequest>;

// Each option qsub(1) has that the fake honours, with what it does to the request.
const HONOURED: Spec[] = [
  {
    names: ["-t"],
    values: 1,
    apply(req, [v], { findings, line }) {
      const { inverted, ...range } = parseSgeRange(v);
      // qmaster's job verification counts the ids against the cluster's max_aj_tasks.
      const count = (range.last - range.first) / range.step + 1;
      const most = DIALECTS.sge.maxArraySize;
      if (count > most) {
        throw new UsageError(
          `-t '${v}' has ${count} array tasks, more than Grid Engine's default max_aj_tasks ` +
            `(${most}, sge_conf(5)); qsub says 'job rejected: You try to submit a job with more ` +
            `than ${most} tasks'`,
        );
      }
      req.range = range;
      if (inverted) {
        findings.add(
          "suspicious",
          `-t ${v} is an inverted range; SGE 8.1.9 silently swaps it to ` +
            `${range.first}-${range.last}:${range.step}, which the fake runs too`,
          line,
        );
      }
    },
  },
  {
    names: ["-tc"],
    values: 1,
    apply(req, [v]) {
      if (!/^[0-9]+$/.test(v)) throw new UsageError(`-tc '${v}' must be a non-negative integer`);
      req.throttle = Number(v) === 0 ? undefined : Number(v); // -tc 0: no limit
    },
  },
  { names: ["-N"], values: 1, apply: (req, [v]) => req.name = v },
  { names: ["-o"], values: 1, apply: (req, [v]) => req.output = stripHost(v) },
  { names: ["-e"], values: 1, apply: (req, [v]) => req.error = stripHost(v) },
  { names: ["-j"], values: 1, apply: (req, [v]) => req.join = yesNo("-j", v) },
  { names: ["-cwd"], values: 0, apply: (req) => req.cwd = true },
  { names: ["-wd"], values: 1, apply: (req, [v]) => req.wd = v },
  { names: ["-S"], values: 1, apply: (req, [v]) => req.shell = stripHost(v) },
  { names: ["-V"], values: 0, apply: (req) => req.exportAll = true },
  {
    names: ["-v"],
    values: 1,
    accumulates: true,
    apply(req, [v]) {
      for (const item of v.split(",")) {
        if (item === "") continue;
        const eq = item.indexOf("=");
        if (eq === 0) throw new UsageError(`-v '${item}': variable name is empty`);
        if (eq > 0) req.vars.set(item.slice(0, eq), item.slice(eq + 1));
        else req.vars.set(item, null);
      }
    },
  },
  {
    names: ["-pe"],
    values: 2,
    apply(req, [name, slots], { findings, line }) {
      const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(slots);
      if (!m) throw new UsageError(`-pe ${name} '${slots}': slot count must be N or N-M`);
      // With a slot range the scheduler grants something in between; the fake grants the minimum.
      const n = Number(m[1]);
      if (n < 1) throw new UsageError(`-pe ${name} '${slots}': slot count must be at least 1`);
      req.pe = { name, slots: n };
      if (n === 1) {
        findings.add(
          "suspicious",
          `-pe ${name} 1 requests a 1-slot parallel environment: legal on sge8 and univa, but a ` +
            `plain job gets the same single slot without tying up a PE`,
          line,
        );
      }
    },
  },
  {
    names: ["-l"],
    values: 1,
    accumulates: true,
    apply(req, [v], { line }) {
      for (const item of v.split(",")) {
        if (item === "") continue;
        const eq = item.indexOf("=");
        // Boolean complexes may be requested bare (-l gpu) meaning TRUE.
        const name = eq <= 0 ? item : item.slice(0, eq);
        req.resources.set(name, eq <= 0 ? "TRUE" : item.slice(eq + 1));
        req.lines.set(`-l ${name}`, line);
      }
    },
  },
  { names: ["-q"], values: 1, apply: (req, [v]) => req.queue = v },
  { names: ["-sync"], values: 1, apply: (req, [v]) => req.sync = yesNo("-sync", v) },
  { names: ["-terse"], values: 0, apply: (req) => req.terse = true },
  { names: ["-b"], values: 1, apply: (req, [v]) => req.binary = yesNo("-b", v) },
  { names: ["-shell"], values: 1, apply: (req, [v]) => req.useShell = yesNo("-shell", v) },
  { names: ["-binding"], values: 1, apply: (req, [v]) => req.binding = v },
  { names: ["-h"], values: 0, apply: (req) => req.hold = true },
  { names: ["-a"], values: 1, apply: (req, [v]) => req.begin = parseSgeDateTime(v) },
  {
    names: ["-w"],
    values: 1,
    apply(req, [v]) {
      if (!/^[ewnpv]$/.test(v)) throw new UsageError(`-w '${v}' must be one of e, w, n, p, v`);
      req.verify = v;
    },
  },
];

/** Parse qsub's `-a` date: `[[CC]YY]MMDDhhmm[.SS]` in local time; epoch ms. */
export function parseSgeDateTime(value: string, now = new Date()): number {
  const m = /^(\d{2})?(\d{2})?(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{2}))?$/.exec(value);
  if (!m) throw new UsageError(`-a '${value}' is not a date; use [[CC]YY]MMDDhhmm[.SS]`);
  let year = now.getFullYear();
  if (m[2] !== undefined) year = Number(m[1]) * 100 + Number(m[2]);
  else if (m[1] !== undefined) year = 2000 + Number(m[1]);
  return new Date(
    year,
    Number(m[3]) - 1,
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
    Number(m[7] ?? 0),
  )
    .getTime();
}

// Accepted and ignored, so that a script written for a real cluster is not refused for them.
const IGNORED: Spec[] = [
  ..."-hold_jid -hold_jid_ad -m -M -P -A -ac -ar -ckpt -c -dc -dl -js -p -r -now -R -masterq -i -display -pty"
    .split(" ").map((name): Spec => ({
      names: [name],
      values: 1,
      accumulates: ["-hold_jid", "-M", "-ac", "-dc"].includes(name),
    })),
  ..."-notify -hard -soft -clear -verify".split(" ").map((name): Spec => ({
    names: [name],
    values: 0,
  })),
];

/** qsub's options, in qsub(1) spelling. */
export const QSUB_OPTIONS: OptionTable<SgeRequest> = {
  command: "qsub",
  spelling: "qsub",
  options: [...HONOURED, ...IGNORED],
  warnsRepeated: true,
};

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

function validate(req: SgeRequest, findings: Findings, scriptText: string | null): void {
  if (req.name !== undefined) {
    const at = req.lines.get("-N");
    if (req.name === "") findings.add("fatal", `-N '': job name must not be empty`);
    else if (req.name.includes("/")) {
      findings.add(
        "fatal",
        `-N '${req.name}': qsub refuses a job name containing '/' (exit 2)`,
        at,
        [],
        2,
      );
    } else if (BAD_NAME_CHARS.test(req.name)) {
      findings.add(
        "fatal",
        `-N '${req.name}' is refused by Grid Engine: names must not contain whitespace or / : @ \\ * ?`,
        at,
      );
    } else if (/^[0-9]/.test(req.name)) {
      findings.add(
        "fatal",
        `-N '${req.name}' is refused by Grid Engine: a job name cannot start with a digit`,
        at,
      );
    }
  }
  for (const [name, value] of req.resources) validateResource(name, value, req, findings);
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

function validateResource(name: string, value: string, req: SgeRequest, findings: Findings) {
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

/** How qsub reads a script and a command line: its table and the rules around it. */
export const QSUB_SYNTAX: Syntax<SgeRequest> = {
  options: QSUB_OPTIONS,
  directive: "#$",
  newRequest: () => ({
    join: false,
    cwd: false,
    exportAll: false,
    vars: new Map(),
    resources: new Map(),
    sync: false,
    terse: false,
    binary: false,
    useShell: true,
    hold: false,
    lines: new Map(),
  }),
  directives: sgeDirectives,
  validate,
};

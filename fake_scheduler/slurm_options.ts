/**
 * sbatch's options as data: what each `#SBATCH` directive or command-line option of Slurm 22.05's
 * sbatch(1) does to a {@link SlurmRequest}, how its values read (`--array`, `--time`, `--mem`),
 * which `#SBATCH` lines Slurm reads at all, and the checks of the whole request. `options.ts`
 * parses with this table; `slurm.ts` turns the request into a job.
 *
 * @example `--array` as sbatch reads it
 * ```ts
 * import { parseSlurmArray } from "./slurm_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseSlurmArray("1-5:2,8%2"), { indices: [1, 3, 5, 8], throttle: 2, step: 1 });
 * ```
 *
 * @module
 */

import { type DirectiveLine, type Findings, splitWords } from "./diagnostics.ts";
import { UsageError } from "./job.ts";
import type { OptionSpec, OptionTable, Syntax } from "./options.ts";

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
  /** `--hold`: pending until released. */
  hold: boolean;
  /** `--begin`, as epoch ms. */
  begin?: number;
  /** `--test-only`: validate and print when it would start; submit nothing. */
  testOnly: boolean;
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
  { names: ["--hold", "-H"], values: 0, apply: (req) => req.hold = true },
  { names: ["--begin", "-b"], values: 1, apply: (req, [v]) => req.begin = parseSlurmBegin(v) },
  { names: ["--test-only"], values: 0, apply: (req) => req.testOnly = true },
];

/**
 * Parse `--begin`: `now[+N[seconds|minutes|hours|days|weeks]]`, `HH:MM[:SS]` (today, or tomorrow
 * once past), `YYYY-MM-DD[THH:MM[:SS]]`, `midnight`, `noon`, `teatime`; epoch ms.
 */
export function parseSlurmBegin(value: string, now = Date.now()): number {
  const rel = /^now(?:\+(\d+)(seconds?|minutes?|hours?|days?|weeks?|s|m|h|d|w)?)?$/i.exec(value);
  if (rel) {
    const unit: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
    return now + Number(rel[1] ?? 0) * unit[(rel[2] ?? "s")[0].toLowerCase()] * 1000;
  }
  const named: Record<string, string> = { midnight: "00:00", noon: "12:00", teatime: "16:00" };
  const clock = /^(\d\d?):(\d\d)(?::(\d\d))?$/.exec(named[value.toLowerCase()] ?? value);
  if (clock) {
    const d = new Date(now);
    d.setHours(Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0), 0);
    if (d.getTime() <= now) d.setDate(d.getDate() + 1);
    return d.getTime();
  }
  const date = /^\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d)?)?$/.exec(value);
  if (date) return new Date(value.includes("T") ? value : `${value}T00:00:00`).getTime();
  throw new UsageError(
    `--begin '${value}' is not a time; use now+N[minutes|hours|days], HH:MM[:SS] or ` +
      `YYYY-MM-DD[THH:MM[:SS]]`,
  );
}

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
    "--wckey",
    "--hint",
    "--ntasks-per-core",
    "--threads-per-core",
    "--kill-on-invalid-dep",
    "--mincpus",
    "--distribution -m",
    "--sockets-per-node",
    "--cores-per-socket",
    "--priority",
    "--deadline",
    "--time-min",
    "--reservation",
    "--cluster-constraint",
    "--comment",
    "--signal",
    "--tmp",
    "--gpus-per-node",
    "--gpus-per-task",
    "--mem-per-gpu",
    "--licenses",
  ].map((names): Spec => ({ names: names.split(" "), values: 1 })),
  ...[
    "--exclusive",
    "--requeue",
    "--no-requeue",
    "--quiet -Q",
    "--oversubscribe -s",
    "--overcommit -O",
  ]
    .map((names): Spec => ({ names: names.split(" "), values: 0 })),
  // An optional value, given only as --name=VALUE.
  ...["--get-user-env", "--propagate", "--no-kill -k"]
    .map((names): Spec => ({ names: names.split(" "), values: 0, optionalValue: true })),
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

/** How sbatch reads a script and a command line: its table and the rules around it. */
export const SBATCH_SYNTAX: Syntax<SlurmRequest> = {
  options: SBATCH_OPTIONS,
  directive: "#SBATCH",
  newRequest: () => ({
    export: "ALL",
    append: false,
    wait: false,
    parsable: false,
    hold: false,
    testOnly: false,
    lines: new Map(),
  }),
  directives,
  validate,
};

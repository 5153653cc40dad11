/**
 * One table-driven parser for everything the fake reads as options: a face's directive lines
 * (`#$`, `#SBATCH`) and command-line words, and the fake-only options (`--slots`, `--strict` ...).
 * A face describes its options as an {@link OptionTable} (names, how many values, what each does
 * to the request); {@link parseRequest} applies a script's directives and then the command line
 * (which overrides them), turning each refusal into a finding on its line. Both faces, `simulate`
 * and `check` go through it, so all of them say the same thing about the same words.
 *
 * Two spellings exist: `qsub` (every option one word, `-pe smp 4`: values are the next words) and
 * `gnu` (`--array=1-3`, `--array 1-3`, `-a1-3`, `-a 1-3`).
 *
 * @example A small table in GNU spelling
 * ```ts
 * import { Findings } from "./diagnostics.ts";
 * import { applyWords, type OptionTable } from "./options.ts";
 * import assert from "node:assert/strict";
 *
 * interface Req { lines: Map<string, number | undefined>; name?: string; wait: boolean }
 * const table: OptionTable<Req> = {
 *   command: "sbatch",
 *   spelling: "gnu",
 *   options: [
 *     { names: ["--job-name", "-J"], values: 1, apply: (req, [v]) => req.name = v },
 *     { names: ["--wait", "-W"], values: 0, apply: (req) => req.wait = true },
 *   ],
 * };
 * const req: Req = { lines: new Map(), wait: false };
 * const findings = new Findings();
 * applyWords(table, ["-Jfit", "--wait"], req, { findings, fake: {} });
 * assert.deepEqual([req.name, req.wait], ["fit", true]);
 * ```
 *
 * @module
 */

import { type DirectiveLine, Findings, type Flavour, FLAVOURS } from "./diagnostics.ts";
import { parsePositiveInt, UsageError } from "./job.ts";
import type { SlotPool } from "./run.ts";

/** What every parsed request has: the script line each option came from. */
export interface Parsed {
  /** Option (by its first name, e.g. `-q`, `--array`) → its script line; undefined: command line. */
  lines: Map<string, number | undefined>;
}

/** Where an option is being applied. */
export interface OptionContext {
  /** Where warnings and notes go. */
  findings: Findings;
  /** 1-based script line of the directive; undefined on the command line. */
  line?: number;
  /** The fake-only options given (e.g. `--max-array-size`, which `--array` is checked against). */
  fake: FakeOptions;
}

/** One option of a table. */
export interface OptionSpec<Req> {
  /** Its names as typed, the first the canonical one: `["-t"]`, `["--array", "-a"]`. */
  names: readonly string[];
  /** How many values follow it (2 only for qsub's `-pe NAME N`). */
  values: 0 | 1 | 2;
  /** Apply it to the request; absent: accepted, with a note that it has no effect in the fake. */
  apply?: (req: Req, values: string[], at: OptionContext) => void;
  /** Given again in a script, it adds to the earlier value instead of replacing it. */
  accumulates?: boolean;
  /** With `values: 0`: a value may still follow in the same word (`--propagate=ALL`). */
  optionalValue?: boolean;
}

/** A command's options, as data. */
export interface OptionTable<Req> {
  /** The command the options belong to, for messages ("qsub", "sbatch"). */
  command: string;
  /** How options are spelled (see the module doc). */
  spelling: "qsub" | "gnu";
  /** Every option the command accepts. */
  options: readonly OptionSpec<Req>[];
  /** Warn, as real qsub does, when a script sets a single-valued option twice. */
  warnsRepeated?: boolean;
}

interface Found<Req> {
  spec?: OptionSpec<Req>;
  /** The option as shown in messages: `-t`, `--array`, `-a`. */
  shown: string;
  /** A value given in the same word (`--array=1-3`, `-a1-3`). */
  inline?: string;
}

function lookup<Req>(table: OptionTable<Req>, word: string): Found<Req> {
  // A table has a few dozen options and a job a few dozen words: a scan is cheap enough.
  const specOf = (name: string) => table.options.find((spec) => spec.names.includes(name));
  if (table.spelling === "qsub") return { spec: specOf(word), shown: word };
  if (word.startsWith("--")) {
    const eq = word.indexOf("=");
    const shown = eq > 0 ? word.slice(0, eq) : word;
    return { spec: specOf(shown), shown, inline: eq > 0 ? word.slice(eq + 1) : undefined };
  }
  const shown = word.slice(0, 2);
  return { spec: specOf(shown), shown, inline: word.length > 2 ? word.slice(2) : undefined };
}

/** Whether `word` is spelled as an option (`-` alone is not: it names stdin). */
export function isOption(word: string): boolean {
  return word.startsWith("-") && word !== "-";
}

/**
 * How many of the words after the option `args[i]` are its values, for a first pass that only
 * splits a command line; null when `args[i]` is not an option (it is the script). An unknown
 * option takes none: the parse proper refuses it.
 */
export function valueCount<Req>(table: OptionTable<Req>, args: string[], i: number): number | null {
  if (!isOption(args[i])) return null;
  const { spec, inline } = lookup(table, args[i]);
  if (spec === undefined || inline !== undefined) return 0;
  return Math.min(spec.values, args.length - i - 1);
}

/**
 * Apply one group of words (a directive line or the command line) to `req`. Returns the index of
 * the first word that is not an option (the script, on a command line), or `words.length`.
 * Throws a {@link UsageError} for an unknown option, a missing value or a refused value.
 */
export function applyWords<Req extends Parsed>(
  table: OptionTable<Req>,
  words: string[],
  req: Req,
  at: OptionContext,
  seen?: Set<string>,
): number {
  for (let i = 0; i < words.length; i++) {
    if (!isOption(words[i])) return i;
    const { spec, shown, inline } = lookup(table, words[i]);
    if (spec === undefined) throw new UsageError(`unknown ${table.command} option '${shown}'`);
    let values: string[];
    if (inline !== undefined) {
      if (spec.values === 0 && !spec.optionalValue) {
        throw new UsageError(`${table.command} option ${shown} takes no value, got '${inline}'`);
      }
      values = [inline];
    } else {
      if (i + spec.values >= words.length) {
        const what = spec.values === 2 ? "two values" : "a value";
        throw new UsageError(`${table.command} option ${shown} needs ${what}`);
      }
      values = words.slice(i + 1, i + 1 + spec.values);
      i += spec.values;
    }
    const name = spec.names[0];
    if (seen !== undefined && !spec.accumulates) {
      if (seen.has(name)) {
        at.findings.add(
          "suspicious",
          `"${name}" option has already been set, overriding previous setting`,
          at.line,
        );
      }
      seen.add(name);
    }
    req.lines.set(name, at.line);
    if (spec.apply) spec.apply(req, values, at);
    else {
      at.findings.add(
        "note",
        `${table.command} option ${name} is accepted but has no effect in the fake`,
        at.line,
      );
    }
  }
  return words.length;
}

/** How a face's directives and command line read: its table and its few rules around it. */
export interface Syntax<Req extends Parsed> {
  /** The face's options. */
  readonly options: OptionTable<Req>;
  /** The directive prefix, e.g. `#$`, for messages. */
  readonly directive: string;
  /** A request with every default. */
  newRequest(): Req;
  /** The directive lines the scheduler reads; findings about the text (lines it ignores). */
  directives(text: string, findings: Findings): DirectiveLine[];
  /** Checks of the merged request that no single option can make (e.g. a job name's form). */
  validate(req: Req, findings: Findings, text: string | null): void;
}

/**
 * The request a script's directives and a command line make: directives first, then the command
 * line, which overrides them. `text` is null when there is no script to read (`qsub -b y`).
 * Every refusal becomes an error finding on its line, so that all of them show at once.
 */
export function parseRequest<Req extends Parsed>(
  syntax: Syntax<Req>,
  commandWords: string[],
  text: string | null,
  findings: Findings,
  fake: FakeOptions,
): Req {
  const req = syntax.newRequest();
  const table = syntax.options;
  const refused = (e: unknown, line?: number) => {
    if (!(e instanceof UsageError)) throw e;
    findings.add("fatal", e.message, line, [], e.exitCode);
  };
  if (text !== null) {
    const seen = table.warnsRepeated ? new Set<string>() : undefined;
    for (const d of syntax.directives(text, findings)) {
      try {
        const stop = applyWords(table, d.words, req, { findings, line: d.line, fake }, seen);
        if (stop < d.words.length) {
          findings.add(
            "fatal",
            `'${syntax.directive}' line has a word that is not an option: '${d.words[stop]}'`,
            d.line,
          );
        }
      } catch (e) {
        refused(e, d.line);
      }
    }
  }
  try {
    applyWords(table, commandWords, req, { findings, fake });
  } catch (e) {
    refused(e);
  }
  syntax.validate(req, findings, text);
  return req;
}

/** Options that exist only in the fake. Their names collide with no real qsub/sbatch option. */
export interface FakeOptions {
  /** Parallel task slots (`--slots N`, env `ARRAYJOB_FAKE_SLOTS`), or a shared pool. */
  slots?: number | SlotPool;
  /** Write the JSON report here (`--report FILE`). */
  report?: string;
  /** Turn "likely wrong" warnings into errors (`--strict`). */
  strict?: boolean;
  /** Target Grid Engine flavour (`--flavour sge8|univa`). */
  flavour?: Flavour;
  /** Slurm MaxArraySize stand-in (`--max-array-size N`, env `ARRAYJOB_FAKE_MAX_ARRAY_SIZE`). */
  maxArraySize?: number;
  /** `--help` was given. */
  help?: boolean;
}

/** The value of `--flavour`, or a one-line error naming it and the flavours there are. */
export function parseFlavour(value: string): Flavour {
  if (!FLAVOURS.includes(value as Flavour)) {
    throw new UsageError(`--flavour '${value}' is not known; use one of: ${FLAVOURS.join(", ")}`);
  }
  return value as Flavour;
}

/** The fake-only options, as a table (GNU spelling): each sets its field of `at.fake`. */
export const FAKE_OPTIONS: OptionTable<Parsed> = {
  command: "fake",
  spelling: "gnu",
  options: [
    {
      names: ["--slots"],
      values: 1,
      apply: (_, [v], at) => at.fake.slots = parsePositiveInt(v, "--slots"),
    },
    { names: ["--report"], values: 1, apply: (_, [v], at) => at.fake.report = v },
    { names: ["--strict"], values: 0, apply: (_, __, at) => at.fake.strict = true },
    {
      names: ["--flavour", "--flavor"],
      values: 1,
      apply: (_, [v], at) => at.fake.flavour = parseFlavour(v),
    },
    {
      names: ["--max-array-size"],
      values: 1,
      apply: (_, [v], at) => at.fake.maxArraySize = parsePositiveInt(v, "--max-array-size"),
    },
    { names: ["--help"], values: 0, apply: (_, __, at) => at.fake.help = true },
  ],
};

/** Help text for the fake-only options, appended to both faces' `--help`. */
export const FAKE_OPTIONS_HELP = `Fake-only options (no real qsub/sbatch has them):
  --slots N            run at most N tasks at once (default: $ARRAYJOB_FAKE_SLOTS or CPU count)
  --report FILE        write a JSON report: one record per task (index, exit code, signal,
                       duration, log paths) plus the summary; for a script arrayjob rendered,
                       also its tasks done, failed and never finished (from its records)
  --strict             make "legal but likely wrong" warnings errors (unknown queue, 1-slot PE,
                       a resource one Grid Engine flavour lacks)
  --flavour F          Grid Engine flavour to hold the script to: sge8 (Son of Grid Engine 8.1.9)
                       or univa (Univa/Altair Grid Engine); default: warn about both
  --max-array-size N   (sbatch) largest allowed array index + 1, as Slurm's MaxArraySize
                       (default 1001, or $ARRAYJOB_FAKE_MAX_ARRAY_SIZE)
  --help               this text`;

/**
 * Take the fake-only options out of `args` into `fake`, returning the other words in order. The
 * face's own `table` tells which words are values of its options (a `-N --slots` job name stays
 * the face's); with `stopAtScript`, the first word that is not an option ends the options, and it
 * and every word after it are returned untouched.
 */
export function takeFakeOptions<Req>(
  args: string[],
  fake: FakeOptions,
  table?: OptionTable<Req>,
  stopAtScript = false,
): { words: string[]; rest: string[] } {
  const words: string[] = [];
  const at = { findings: new Findings(), fake };
  for (let i = 0; i < args.length; i++) {
    if (isOption(args[i]) && lookup(FAKE_OPTIONS, args[i]).spec !== undefined) {
      const values = valueCount(FAKE_OPTIONS, args, i) ?? 0;
      applyWords(FAKE_OPTIONS, args.slice(i, i + 1 + values), { lines: new Map() }, at);
      i += values;
      continue;
    }
    const values = table === undefined
      ? (isOption(args[i]) ? 0 : null)
      : valueCount(table, args, i);
    if (values === null && stopAtScript) return { words, rest: args.slice(i) };
    words.push(...args.slice(i, i + (values ?? 0) + 1));
    i += values ?? 0;
  }
  return { words, rest: [] };
}

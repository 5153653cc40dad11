/**
 * Diagnostics shared by both faces and by `check`: what a script or command line gets wrong, how
 * serious it is for which scheduler flavour, and the tokenizer for directive lines. Keeping the
 * severity rules in one place is what makes `check` and `simulate` say the same thing.
 *
 * @module
 */

/** Grid Engine flavours the fake knows about. `sge8` is Son of Grid Engine 8.1.9. */
export type Flavour = "sge8" | "univa";

/** The flavours accepted by `--flavour`. */
export const FLAVOURS: readonly Flavour[] = ["sge8", "univa"];

/** How a finding is classed before the user's `--strict` / `--flavour` choice is applied. */
export type FindingKind =
  /** The real scheduler refuses it or hangs on it, whatever the site: always an error. */
  | "fatal"
  /** Legal, but likely wrong or site-dependent (unknown queue, 1-slot PE): error only with --strict. */
  | "suspicious"
  /** Informational: how the fake differs from the real thing. Never an error. */
  | "note";

/** One problem found in a script or command line. */
export interface Diagnostic {
  /** "error" stops the job (exit 1); "warning" and "note" are printed and the job runs. */
  severity: "error" | "warning" | "note";
  /** One-line message naming the bad value and what is allowed. */
  message: string;
  /** 1-based line of the script the directive came from; absent for command-line options. */
  line?: number;
  /** For errors: the exit code the real command gives when it refuses this (default 1). */
  exitCode?: number;
}

/** Options that decide how findings turn into errors. */
export interface Strictness {
  /** Make every "suspicious" finding an error. */
  strict?: boolean;
  /** Target flavour; findings rejected by this flavour become errors. Undefined: warn. */
  flavour?: Flavour;
}

/** Collects findings and classes them according to {@link Strictness}. */
export class Findings {
  /** Everything found so far, in order. */
  readonly list: Diagnostic[] = [];

  /** Create a collector for the given strictness. */
  constructor(readonly strictness: Strictness = {}) {}

  /**
   * Record a finding. `rejectedBy` lists the flavours whose real scheduler refuses it: it becomes
   * an error when that flavour is the target, and a warning naming the flavours otherwise.
   */
  add(
    kind: FindingKind,
    message: string,
    line?: number,
    rejectedBy: Flavour[] = [],
    exitCode?: number,
  ): void {
    let severity: Diagnostic["severity"];
    if (kind === "fatal") severity = "error";
    else if (kind === "note") severity = "note";
    else if (this.strictness.strict) severity = "error";
    else if (this.strictness.flavour && rejectedBy.includes(this.strictness.flavour)) {
      severity = "error";
    } else severity = "warning";
    const d: Diagnostic = { severity, message };
    if (line !== undefined) d.line = line;
    if (exitCode !== undefined && exitCode !== 1 && severity === "error") d.exitCode = exitCode;
    this.list.push(d);
  }

  /** The exit code for refusing the job: that of the first error, default 1. */
  get exitCode(): number {
    return this.list.find((d) => d.severity === "error")?.exitCode ?? 1;
  }

  /** True when any finding is an error. */
  get hasErrors(): boolean {
    return this.list.some((d) => d.severity === "error");
  }
}

/** Render a diagnostic as `file:line: severity: message`. */
export function formatDiagnostic(d: Diagnostic, file?: string): string {
  const where = file ? (d.line ? `${file}:${d.line}: ` : `${file}: `) : "";
  return `${where}${d.severity}: ${d.message}`;
}

/**
 * Split a directive's text into words the way the schedulers do: whitespace separates, single
 * and double quotes group. With `comments`, an unquoted `#` after whitespace ends the line
 * (Slurm does this for `#SBATCH`; Grid Engine does not).
 */
export function splitWords(text: string, comments = false): string[] {
  const words: string[] = [];
  let current = "";
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = null;
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = "";
      inWord = false;
    } else if (c === "#" && comments && !inWord) {
      break;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** A directive line found in a script: its words and 1-based line number. */
export interface DirectiveLine {
  /** Words after the prefix. */
  words: string[];
  /** 1-based line number in the script. */
  line: number;
}

/** Which dialect a script's directives call for, or null when it has neither kind. */
export function detectDialect(text: string): "sge" | "slurm" | null {
  let sge = false;
  let slurm = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#$")) sge = true;
    if (line.startsWith("#SBATCH")) slurm = true;
  }
  if (sge && !slurm) return "sge";
  if (slurm && !sge) return "slurm";
  if (sge && slurm) {
    // Mixed scripts exist (one file for both clusters); the first directive decides.
    for (const line of text.split("\n")) {
      if (line.startsWith("#$")) return "sge";
      if (line.startsWith("#SBATCH")) return "slurm";
    }
  }
  return null;
}

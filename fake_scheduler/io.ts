/**
 * Where a face's output goes: the console for a real command, arrays for tests and library
 * callers, so that a face runs in-process without writing to the real terminal.
 *
 * @example
 * ```ts
 * import { captureIO } from "./io.ts";
 * import assert from "node:assert/strict";
 *
 * const io = captureIO();
 * io.stdout("Submitted batch job 7");
 * assert.deepEqual(io.out, ["Submitted batch job 7"]);
 * ```
 *
 * @module
 */

/** Output sinks of a face. */
export interface FaceIO {
  /** Receives what the real command prints on stdout (submission line), one line per call. */
  stdout: (line: string) => void;
  /** Receives diagnostics and the summary, one or more lines per call. */
  stderr: (text: string) => void;
  /** Show a live progress line (only sensible on a terminal). */
  progress: boolean;
  /** Without a live line: print a progress line every this many seconds (undefined: never). */
  progressSeconds?: number;
}

/**
 * Seconds between progress lines when stderr is not a terminal: `ARRAYJOB_FAKE_PROGRESS_SECONDS`
 * (a positive number; 0 turns them off), else 10.
 */
export function progressSeconds(): number {
  const value = Deno.env.get("ARRAYJOB_FAKE_PROGRESS_SECONDS");
  return value !== undefined && /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : 10;
}

/**
 * The I/O of a real command: console output; a live progress line when stderr is a terminal,
 * else a progress line every {@link progressSeconds}.
 */
export function consoleIO(): FaceIO {
  const terminal = Deno.stderr.isTerminal();
  return {
    stdout: (line) => console.log(line),
    stderr: (text) => console.error(text),
    progress: terminal,
    progressSeconds: terminal ? undefined : progressSeconds(),
  };
}

/** I/O that collects everything into arrays (for tests and library callers). */
export function captureIO(): FaceIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(l), stderr: (t) => err.push(t), progress: false };
}

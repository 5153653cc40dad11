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
}

/** The I/O of a real command: console output, progress only when stderr is a terminal. */
export function consoleIO(): FaceIO {
  return {
    stdout: (line) => console.log(line),
    stderr: (text) => console.error(text),
    progress: Deno.stderr.isTerminal(),
  };
}

/** I/O that collects everything into arrays (for tests and library callers). */
export function captureIO(): FaceIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (l) => out.push(l), stderr: (t) => err.push(t), progress: false };
}

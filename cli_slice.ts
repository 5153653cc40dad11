/**
 * `arrayjob slice`: the task indices a spec selects, one a line, generated as they are written.
 *
 * @example
 * ```ts
 * import { SLICE_COMMAND } from "./cli_slice.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await SLICE_COMMAND.run(["--count", "10", "--", "-2:"]), 0); // prints 8 and 9
 * ```
 *
 * @module
 */

import { ArrayJobError, parseSlice, selectIndices } from "./mod.ts";
import { attachValues } from "./script_flags.ts";
import { type Command, parseOptions } from "./cli_command.ts";

/**
 * `arrayjob slice SPEC --count N`: prints the 0-based indices SPEC selects from N tasks.
 *
 * @example
 * ```ts
 * import { SLICE_COMMAND } from "./cli_slice.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await SLICE_COMMAND.run(["--count", "5", "1:3"]), 0); // prints 1 and 2
 * ```
 */
export const SLICE_COMMAND: Command = {
  synopsis: "slice SPEC --count N",
  summary: ["print the 0-based task indices SPEC selects from N tasks"],
  about: `Usage: arrayjob slice --count N [--] SPEC

Prints the 0-based indices that SPEC selects from a list of N tasks, one a line, with
Python's semantics of list[i] and list[a:b:c]; a comma list (1,5,7:9) is a union.
A SPEC that starts with "-" goes after "--": arrayjob slice --count 10 -- -3:`,
  options: [{ flag: "count", type: "string", value: "N", help: ["the number of tasks"] }],
  run: slice,
};

function slice(args: string[]): number {
  args = attachValues(args, SLICE_COMMAND.options!);
  const negative = args.find((a) => /^-[0-9:]/.test(a));
  if (negative !== undefined && !args.slice(0, args.indexOf(negative)).includes("--")) {
    throw new ArrayJobError(
      `a spec starting with "-" goes after "--": arrayjob slice --count N -- ${negative}`,
    );
  }
  const parsed = parseOptions(args, SLICE_COMMAND.options!, "see 'arrayjob slice --help'");
  const count = parsed.values.count as string | undefined;
  if (count === undefined || !/^[0-9]+$/.test(count)) {
    throw new ArrayJobError(
      `slice needs --count N, the number of tasks, as a whole number (got ${
        JSON.stringify(count ?? null)
      })`,
    );
  }
  if (parsed.positionals.length > 1) {
    throw new ArrayJobError(
      `slice takes one SPEC, got ${parsed.positionals.length}: ${
        parsed.positionals.map((p) => JSON.stringify(p)).join(" ")
      } (write a union as one comma list, like 1,5,7:9)`,
    );
  }
  writeLines(lazyIndices(parsed.positionals[0] ?? "", Number(count)));
  return 0;
}

// The indices of a spec, one slice generated as it is written: `slice --count 1000000000 ""`
// must not hold a billion numbers.
function* lazyIndices(spec: string, count: number): Generator<number> {
  const parsed = parseSlice(spec);
  const part = parsed.parts[0]!;
  if (parsed.parts.length > 1 || part.kind === "index") {
    yield* selectIndices(parsed, count);
    return;
  }
  selectIndices(parsed, 0); // validates
  const step = part.step ?? 1;
  const lower = step < 0 ? -1 : 0, upper = step < 0 ? count - 1 : count;
  const clamp = (v: number | undefined, d: number) =>
    v === undefined ? d : v < 0 ? Math.max(v + count, lower) : Math.min(v, upper);
  const start = clamp(part.start, step < 0 ? upper : lower);
  const stop = clamp(part.stop, step < 0 ? lower : upper);
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) yield i;
}

// Writes lines in blocks; a reader that stops early (`| head`) ends the output quietly.
function writeLines(values: Iterable<number>): void {
  const encoder = new TextEncoder();
  let block: string[] = [];
  const flush = () => {
    const bytes = encoder.encode(block.join("\n") + "\n");
    for (let done = 0; done < bytes.length;) done += Deno.stdout.writeSync(bytes.subarray(done));
    block = [];
  };
  try {
    for (const value of values) {
      block.push(String(value));
      if (block.length === 65536) flush();
    }
    if (block.length > 0) flush();
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/**
 * The list of a job's submissions (`submissions.jsonl` in its output directory): one JSON line
 * per submission of one of its scripts, so that later commands know which jobs to ask the
 * scheduler about.
 *
 * @example
 * ```ts
 * import { appendSubmission, readSubmissions } from "./submissions.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await appendSubmission(dir, { jobId: "8", script: `${dir}/run.sh`, submitted: "2026-12-01T20:00:00.000Z" });
 * assert.deepEqual((await readSubmissions(dir)).map((s) => s.jobId), ["8"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

/** One submission of one of the job's scripts, as {@linkcode appendSubmission} records it. */
export interface Submission {
  /** The scheduler's job id. */
  readonly jobId: string;
  /** The submitted script, absolute. */
  readonly script: string;
  /** When it was submitted, as an ISO 8601 UTC time. */
  readonly submitted: string;
}

/** The file in a job's output directory that lists its submissions, one JSON object a line. */
export const SUBMISSIONS = "submissions.jsonl";

/**
 * Appends one submission to the job's list (`submissions.jsonl`), the first run and every
 * resubmission alike, so that later commands know which jobs to ask the scheduler about.
 *
 * @param outputDir The job's output directory.
 * @param submission The job id, the script and the time.
 *
 * @example
 * ```ts
 * import { appendSubmission, readSubmissions } from "./submissions.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await appendSubmission(dir, { jobId: "31", script: `${dir}/run.sh`, submitted: "2026-12-01T20:00:00.000Z" });
 * assert.equal((await readSubmissions(dir))[0]!.jobId, "31");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function appendSubmission(outputDir: string, submission: Submission): Promise<void> {
  const { jobId, script, submitted } = submission;
  await Deno.writeTextFile(
    `${outputDir}/${SUBMISSIONS}`,
    JSON.stringify({ jobId, script, submitted }) + "\n",
    { append: true },
  );
}

/**
 * Reads the job's list of submissions, oldest first; empty when it was never submitted through
 * arrayjob (by hand, or only simulated).
 *
 * @param outputDir The job's output directory.
 * @returns The submissions.
 *
 * @example
 * ```ts
 * import { readSubmissions } from "./submissions.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(await readSubmissions("/nonexistent"), []);
 * ```
 */
export async function readSubmissions(outputDir: string): Promise<Submission[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${outputDir}/${SUBMISSIONS}`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const submissions: Submission[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const { jobId, script, submitted } = JSON.parse(line);
      if (typeof jobId === "string" && typeof script === "string") {
        submissions.push({ jobId, script, submitted: String(submitted) });
      }
    } catch {
      // A line cut short by a crash: the others still count.
    }
  }
  return submissions;
}

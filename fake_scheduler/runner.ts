/**
 * The detached runner of one spooled job (started by `queue.ts`, never by hand):
 * `runner.ts SPOOL_DIR JOB_ID SLOTS [REPORT_FILE]` runs the job's array tasks as the spool's
 * slots, holds and begin time let them start, records each end in the spool, writes the
 * `--report` file when one was asked for, and exits. SIGTERM takes its running tasks down.
 *
 * @module
 */

import { Cleanup, exitOnSignal } from "./cleanup.ts";
import { reportJob } from "./report.ts";
import { outcomeOf } from "./run.ts";
import { runSpooled } from "./queue.ts";
import { Spool } from "./spool.ts";

/** Run job `id` of the spool at `dir` to its end; `slots` is the spool's shared slot count. */
export async function runnerMain(args: string[]): Promise<number> {
  const [dir, id, slots, reportFile] = args;
  const spool = new Spool(dir);
  const job = spool.job(id);
  const cleanup = new Cleanup();
  exitOnSignal(cleanup);
  const started = performance.now();
  const outcomes = await runSpooled(spool, job, Number(slots), cleanup);
  if (reportFile) {
    const silent = { stdout: () => {}, stderr: () => {}, progress: false };
    await reportJob(job, outcomeOf(job, outcomes, performance.now() - started), {
      io: silent,
      prefix: "fake",
      submitDir: spool.read(id)?.submitDir ?? job.cwd,
      reportFile,
    });
  }
  return 0;
}

if (import.meta.main) Deno.exit(await runnerMain(Deno.args));

/**
 * What a local run tells its user (report.ts, io.ts, mod.ts `simulateMain`): progress lines with
 * elapsed time, tasks/s and the time left, without escape codes when not on a terminal; and
 * `simulate` as a local test, non-zero when any task fails, while qsub keeps the real exit code.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { captureIO } from "../../fake_scheduler/io.ts";
import { simulateMain } from "../../fake_scheduler/mod.ts";
import { progressLine } from "../../fake_scheduler/report.ts";
import { BIN, runQsub, tempDir } from "../fixtures/fake/helpers.ts";

Deno.test(`progressLine() gives done/total, failures, elapsed, tasks/s and the time left`, () => {
  assert.equal(
    progressLine("fake qsub", 100, 500, 2, 20_000),
    "fake qsub: 100/500 done, 2 failed, 0:20 elapsed, 5.0 tasks/s, about 1:20 left",
  );
  assert.equal(progressLine("p", 0, 5, 0, 1000), "p: 0/5 done, 0 failed, 0:01 elapsed");
  assert.equal(
    progressLine("p", 5, 5, 0, 3_725_000),
    "p: 5/5 done, 0 failed, 1:02:05 elapsed, 0.0 tasks/s",
  );
});

Deno.test(`through a pipe: a progress line every ARRAYJOB_FAKE_PROGRESS_SECONDS, no \\r, no escape codes`, async () => {
  const dir = await tempDir({ "s.sh": "#$ -t 1-6\n#$ -cwd\n#$ -o o.$TASK_ID\nsleep 0.4\n" });
  const run = await new Deno.Command(join(BIN, "qsub"), {
    // -sync y: a plain qsub returns at once (the job runs detached), as the real one does.
    args: ["-sync", "y", "--slots", "2", "s.sh"],
    cwd: dir,
    env: { ARRAYJOB_FAKE_PROGRESS_SECONDS: "0.3", ARRAYJOB_FAKE_SPOOL: join(dir, "spool") },
    stdout: "null",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(run.stderr);
  assert.equal(run.code, 0, err);
  const progress = err.split("\n").filter((l) => / done, \d+ failed, \d+:\d\d elapsed/.test(l));
  assert.ok(progress.length >= 2, `expected progress lines in:\n${err}`);
  assert.match(progress.at(-1)!, /tasks\/s, about \d+:\d\d left$/);
  assert.ok(!err.includes("\r") && !err.includes("\x1b"), "a carriage return or escape code");
});

Deno.test(`simulate exits non-zero when a task fails; 0 only when all succeed; qsub keeps 0`, async () => {
  const dir = await tempDir({
    "bad.sh": "#$ -t 1-3\n#$ -cwd\n#$ -o o.$TASK_ID\n[ $SGE_TASK_ID != 2 ]\n",
    "good.sh": "#$ -t 1-3\n#$ -cwd\n#$ -o o.$TASK_ID\ntrue\n",
  });
  const simulate = (args: string[]) => simulateMain(args, { io: captureIO(), cwd: dir });
  assert.equal(await simulate(["bad.sh"]), 1);
  assert.equal(await simulate(["good.sh"]), 0);
  assert.equal(await simulate(["-sync", "y", "bad.sh"]), 1); // qsub -sync y's own code
  // The fake's qsub is a submission: without -sync y it exits 0 whatever the tasks did.
  assert.equal((await runQsub(dir, ["bad.sh"])).exitCode, 0);
});

Deno.test(`simulate exits non-zero when an array task never finished; tasks outside the run do not count`, async () => {
  const { writeClusterScript } = await import("../../job_dir.ts");
  const dir = await tempDir({
    "slow.sh": "#$ -t 1-2\n#$ -cwd\n#$ -l h_rt=1\nsleep $SGE_TASK_ID$SGE_TASK_ID\n",
  });
  const simulate = (args: string[]) => simulateMain(args, { io: captureIO(), cwd: dir });
  assert.equal(await simulate(["slow.sh"]), 1); // task 2 (sleep 22) is killed at its limit
  const out = join(dir, "job");
  const script = await writeClusterScript({ numTasks: 4, command: ["true"], outputDir: out });
  assert.equal(await simulate(["-t", "1-2", script]), 0); // tasks 2 and 3 were not in this run
});

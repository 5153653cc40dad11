/**
 * arrayjob's bookkeeping on the real schedulers: the per-array-task records that jobStatus reads,
 * a resubmission of the failed tasks (a chunk-map script), and an array split into several
 * scripts because it exceeds the array-size limit (task offsets).
 */

import assert from "node:assert/strict";
import path from "node:path";
import { writeClusterScripts } from "../../job_dir.ts";
import { jobStatus } from "../../status.ts";
import type { Scheduler } from "../../mod.ts";
import { writeResubmitScript } from "../../resubmit.ts";
import { baseDir, detect, expand, lines, realTest, ROOT, run, TASK_SH } from "./_lib.ts";

const FLAKY = path.join(ROOT, "tests/real/fixtures/flaky.ts");
const SUBMIT: Record<Scheduler, string> = { sge: "qsub", slurm: "sbatch" };

for (const scheduler of ["sge", "slurm"] as const) {
  const reason = await detect(scheduler);

  realTest(
    scheduler,
    reason,
    "jobStatus after a run with failures, then a resubmission of the failed tasks completes the job",
    async () => {
      const dir = await baseDir(`${scheduler}-resubmit`);
      const out = path.join(dir, "out");
      await Deno.writeTextFile(path.join(dir, "fail.txt"), "4 7\n");
      const generate = await run([
        Deno.execPath(),
        "run",
        "-A",
        FLAKY,
        "--cluster-script",
        "--scheduler",
        scheduler,
        "--step",
        "3",
        "--wait",
        "--job-name",
        "flaky",
        "--output-dir",
        out,
      ], { cwd: dir });
      assert.equal(generate.code, 0, generate.stderr);

      // 8 tasks in chunks of 3: [0-2] ok, [3-5] has 4 failing, [6-7] has 7 failing.
      const first = await run([SUBMIT[scheduler], path.join(out, "run.sh")], { cwd: dir });
      assert.equal(first.code, 1, `${first.stdout}\n${first.stderr}`);
      const status = await jobStatus(out);
      assert.deepEqual([...status.done], [0, 1, 2, 3, 5, 6]);
      assert.deepEqual([...status.failed], [4, 7]);
      assert.deepEqual([...status.neverFinished], []);
      assert.equal(status.records, 3);
      for (const failure of status.failures) {
        assert.equal(failure.exitCode, 1);
        assert.ok(failure.log, `no log found for failed task ${failure.index}`);
        assert.match(
          await Deno.readTextFile(failure.log),
          new RegExp(`task ${failure.index} fails on purpose`),
        );
      }

      await Deno.remove(path.join(dir, "fail.txt"));
      const again = await writeResubmitScript(out, { which: "failed" });
      assert.deepEqual([...again.indices], [4, 7]);
      assert.equal(again.numArrayTasks, 1);
      const second = await run([SUBMIT[scheduler], again.path!], { cwd: dir });
      assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
      const final = await jobStatus(out);
      assert.deepEqual([...final.done], [0, 1, 2, 3, 4, 5, 6, 7]);
      assert.deepEqual([...final.failed], []);
      assert.equal(final.records, 4);

      const ran = (await lines(path.join(dir, "ran.txt"))).map(Number).sort((a, b) => a - b);
      assert.deepEqual(ran, [0, 1, 2, 3, 4, 4, 5, 6, 7, 7]);
    },
  );

  realTest(
    scheduler,
    reason,
    "an array split into scripts by maxArraySize runs every task once",
    async () => {
      const dir = await baseDir(`${scheduler}-split`);
      const marker = path.join(dir, "marker");
      const outputDir = path.join(dir, "out");
      const scripts = await writeClusterScripts({
        scheduler,
        numTasks: 5,
        step: 1,
        maxArraySize: 2,
        split: true,
        command: ["sh", TASK_SH, marker, path.join(dir, "env"), "-"],
        jobName: "split",
        outputDir,
        workDir: dir,
        wait: true,
      });
      assert.equal(scripts.length, 3);
      const outs = await Promise.all(scripts.map((s) => run([SUBMIT[scheduler], s], { cwd: dir })));
      for (const o of outs) assert.equal(o.code, 0, `${o.stdout}\n${o.stderr}`);
      assert.deepEqual(expand(await lines(marker), 5), [0, 1, 2, 3, 4]);
      const status = await jobStatus(outputDir);
      assert.deepEqual([...status.done], [0, 1, 2, 3, 4]);
      assert.equal(status.records, 5);
    },
  );
}

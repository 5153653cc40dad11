/**
 * A finished array task that the real Slurm runs again (`scontrol requeue`): while the scheduler
 * holds it, `status` shows its tasks pending, not failed (so nothing tells the user to rerun them);
 * its rerun writes a record of its own (`<job>.<task>.2`), which status reads beside the kept
 * summary of the finished first one; and once the rerun succeeds, its tasks are done.
 *
 * Slurm only: Grid Engine's `qmod -rj` reruns only a running job, which is no finished record.
 * Fails (never skips) when Slurm does not answer: start it with scripts/slurm-up.sh.
 */

import assert from "node:assert/strict";
import { writeClusterScript } from "../../job_dir.ts";
import { run, unavailable } from "./_lib.ts";
import { arrayjob, status as statusIn, until } from "./_lifecycle_checks.ts";

const env = { PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin" };
const status = (dir: string) => statusIn(env, dir);

Deno.test({
  name: "real Slurm: a requeued finished array task is pending, not failed, and its rerun's own " +
    "record makes it done",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const reason = await unavailable("slurm");
    if (reason) {
      throw new Error(
        `Slurm is not available (start it: sudo bash scripts/slurm-up.sh): ${reason}`,
      );
    }
    const dir = await Deno.makeTempDir({ prefix: "arrayjob-requeue-" });
    try {
      // Task 1 fails the first time it runs and succeeds the second; task 0 succeeds.
      await Deno.writeTextFile(
        `${dir}/flaky.sh`,
        [
          `spec=\${2#--tasks=}; task=\${spec%%:*}`,
          `[ "$task" = 0 ] && exit 0`,
          `if [ -e "$1/tried.$task" ]; then exit 0; fi`,
          `: >"$1/tried.$task"; exit 3`,
          "",
        ].join("\n"),
      );
      const out = `${dir}/out`;
      const script = await writeClusterScript({
        scheduler: "slurm",
        numTasks: 2,
        command: ["sh", `${dir}/flaky.sh`, dir],
        jobName: "requeue",
        outputDir: out,
        workDir: dir,
      });
      const submitted = await arrayjob(env, "submit", script, "--wait");
      const jobId = submitted.stdout.trim();
      assert.match(jobId, /^[0-9]+$/, `${submitted.stdout}\n${submitted.stderr}`);
      const first = await status(out);
      assert.deepEqual([first.done, first.failed], [1, "1"]);

      const requeue = await run(["scontrol", "requeue", `${jobId}_1`]);
      assert.equal(requeue.code, 0, requeue.stderr);
      // Held back 120 s by a begin time (FACTS.md): status says pending, not failed.
      const held = await status(out);
      assert.deepEqual([held.done, held.failed, held.pending], [1, "", "1"]);
      assert.ok(held.scheduler.asked && held.scheduler.answered, JSON.stringify(held.scheduler));

      const now = await run(["scontrol", "update", `JobId=${jobId}_1`, "StartTime=now"]);
      assert.equal(now.code, 0, now.stderr);
      await until("the rerun to end", 120, async () => {
        const q = await run(["squeue", "-h", "-t", "all", "-j", `${jobId}_1`, "-o", "%T"]);
        return q.stdout.trim() === "COMPLETED" ? true : undefined;
      });
      const done = await status(out);
      assert.deepEqual([done.done, done.failed, done.records], [2, "", 2]);
      for (const name of [`${jobId}.1`, `${jobId}.1.2`]) {
        const text = await Deno.readTextFile(`${out}/records/${name}`);
        assert.match(text, /\nexit\t[0-9]+\n$/, `${name} ends in its exit line:\n${text}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

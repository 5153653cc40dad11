/**
 * dialects.ts: the scheduler table is the one place scheduler facts live.
 */

import assert from "node:assert/strict";
import { DEFAULT_SCHEDULER, dialectOf, DIALECTS, SCHEDULERS, submitCommand } from "../dialects.ts";

Deno.test("submitCommand gives each scheduler's blocking form", () => {
  assert.deepEqual(submitCommand("sge", "r.sh"), ["qsub", "r.sh"]);
  assert.deepEqual(submitCommand("sge", "r.sh", true), ["qsub", "-sync", "y", "r.sh"]);
  assert.deepEqual(submitCommand("slurm", "r.sh", true), ["sbatch", "--wait", "r.sh"]);
});

Deno.test("the table: default scheduler, array limits, first indices, prefixes, variables", () => {
  assert.equal(DEFAULT_SCHEDULER, "sge");
  assert.deepEqual(SCHEDULERS, ["sge", "slurm"]);
  assert.equal(DIALECTS.sge.maxArraySize, 75000); // sge_conf(5) max_aj_tasks
  assert.equal(DIALECTS.slurm.maxArraySize, 1001); // slurm.conf(5) MaxArraySize
  assert.deepEqual(
    SCHEDULERS.map((s) => [DIALECTS[s].firstArrayIndex, DIALECTS[s].directivePrefix]),
    [[1, "#$"], [0, "#SBATCH"]],
  );
  assert.equal(DIALECTS.sge.arrayTaskVariable, "SGE_TASK_ID");
  assert.equal(DIALECTS.slurm.arrayTaskVariable, "SLURM_ARRAY_TASK_ID");
  assert.equal(DIALECTS.slurm.formatTime(2 * 86400 + 61), "2-00:01:01");
  assert.equal(DIALECTS.sge.formatTime(2 * 86400 + 61), "48:01:01");
});

Deno.test("an unknown scheduler is a one-line error naming the known ones", () => {
  assert.throws(
    () => dialectOf("pbs"),
    /^ArrayJobError: unknown scheduler "pbs": expected sge or slurm$/,
  );
  assert.throws(() => dialectOf("toString"), /unknown scheduler "toString"/);
  assert.throws(() => submitCommand("pbs" as "sge", "r.sh"), /unknown scheduler/);
});

/**
 * The query and control commands of the real Slurm and Grid Engine, one job per state: the
 * facts of FACTS.md ("Query and control commands") that the fake scheduler must copy. The checks
 * live in _query_checks.ts and take the commands' environment, so the fake runs the same ones.
 *
 * These tests fail (never skip) when a scheduler does not answer: start it with
 * scripts/slurm-up.sh or scripts/sge-up.sh.
 */

import { baseDir, unavailable } from "./_lib.ts";
import { checkSgeQueries, checkSlurmQueries, realFace } from "./_query_checks.ts";
import { fakeFace } from "../fixtures/fake/no_scheduler.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "real Slurm: squeue/scontrol/scancel/sacct/sbatch/srun on jobs pending, running, finished, failed, cancelled",
  ...options,
  fn: async (t) => {
    const reason = await unavailable("slurm");
    if (reason) {
      throw new Error(
        `Slurm is not available (start it: sudo bash scripts/slurm-up.sh): ${reason}`,
      );
    }
    await checkSlurmQueries(await realFace(), await baseDir("query-slurm"), t);
  },
});

Deno.test({
  name:
    "real Grid Engine: qstat/qacct/qdel/qhold/qrls/qsub on jobs pending, running, finished, failed, cancelled",
  ...options,
  fn: async (t) => {
    const reason = await unavailable("sge");
    if (reason) {
      throw new Error(
        `Grid Engine is not available (start it: sudo bash scripts/sge-up.sh): ${reason}`,
      );
    }
    await checkSgeQueries(await realFace(), await baseDir("query-sge"), t);
  },
});

// The differential half: the same checks, the same jobs, through the fake alone (no real command
// on PATH). tests/fake/query_test.ts runs these in `deno task test` too.
Deno.test({
  name: "fake Slurm (same checks): squeue/scontrol/scancel/sacct/sbatch/srun per job state",
  ...options,
  fn: async (t) => {
    const work = await baseDir("query-fake-slurm");
    await checkSlurmQueries(await fakeFace(work), work, t);
  },
});

Deno.test({
  name: "fake Grid Engine (same checks): qstat/qacct/qdel/qhold/qrls/qsub per job state",
  ...options,
  fn: async (t) => {
    const work = await baseDir("query-fake-sge");
    await checkSgeQueries(await fakeFace(work), work, t);
  },
});

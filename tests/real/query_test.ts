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

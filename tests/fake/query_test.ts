/**
 * The fake's query and control commands (squeue, scontrol, scancel, sacct, srun; qstat, qacct,
 * qdel, qhold, qrls) held to the facts measured on the real schedulers: the very checks of
 * tests/real/query_test.ts (tests/real/_query_checks.ts), with only the fake on PATH.
 */

import { baseDir } from "../real/_lib.ts";
import { checkSgeQueries, checkSlurmQueries } from "../real/_query_checks.ts";
import { fakeFace } from "../fixtures/fake/no_scheduler.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name:
    "fake Slurm: squeue/scontrol/scancel/sacct/sbatch/srun on jobs pending, running, finished, failed, cancelled",
  ...options,
  fn: async (t) => {
    const work = await baseDir("fake-query-slurm");
    await checkSlurmQueries(await fakeFace(work), work, t);
  },
});

Deno.test({
  name:
    "fake Grid Engine: qstat/qacct/qdel/qhold/qrls/qsub on jobs pending, running, finished, failed, cancelled",
  ...options,
  fn: async (t) => {
    const work = await baseDir("fake-query-sge");
    await checkSgeQueries(await fakeFace(work), work, t);
  },
});

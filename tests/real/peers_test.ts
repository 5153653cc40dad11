/**
 * Other people's scheduler clients (submitit, dask-jobqueue from ../shared/peers) against the real
 * Slurm and Grid Engine. The checks live in _peers.ts and take the commands' environment, so the
 * fake scheduler runs the same ones. These tests fail (never skip) when a scheduler, a client or
 * a Python library is missing.
 */

import { baseDir, unavailable } from "./_lib.ts";
import { checkDaskCluster, checkSubmititMapArray } from "./_peers.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const UP = { slurm: "scripts/slurm-up.sh", sge: "scripts/sge-up.sh" };

async function requireScheduler(scheduler: "slurm" | "sge"): Promise<void> {
  const reason = await unavailable(scheduler);
  if (reason) {
    throw new Error(
      `${scheduler} is not available (start it: sudo bash ${UP[scheduler]}): ${reason}`,
    );
  }
}

Deno.test({
  name: "real Slurm: submitit map_array of 6 calls returns 6 results, each call run once",
  ...options,
  fn: async () => {
    await requireScheduler("slurm");
    await checkSubmititMapArray(await baseDir("peers-submitit"));
  },
});

for (const kind of ["slurm", "sge"] as const) {
  Deno.test({
    name: `real ${kind === "slurm" ? "Slurm" : "Grid Engine"}: dask-jobqueue ${
      kind === "slurm" ? "SLURMCluster" : "SGECluster"
    } scale(jobs=2), compute, close() within 10 s, nothing left`,
    ...options,
    fn: async () => {
      await requireScheduler(kind);
      await checkDaskCluster(kind, await baseDir(`peers-dask-${kind}`));
    },
  });
}

/**
 * Other people's scheduler clients (submitit, dask-jobqueue from ../shared/peers) against the
 * fake scheduler alone: no real scheduler command on PATH. The same checks run against the real
 * schedulers in tests/real/peers_test.ts.
 */

import { baseDir } from "../real/_lib.ts";
import { checkDaskCluster, checkSubmititMapArray } from "../real/_peers.ts";
import { assertFakeOnly, fakeOnlyEnv } from "../fixtures/fake/no_scheduler.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "fake Slurm: submitit map_array of 6 calls returns 6 results, each call run once",
  ...options,
  fn: async () => {
    const work = await baseDir("fake-peers-submitit");
    const env = await fakeOnlyEnv(work);
    await assertFakeOnly(env);
    const { out } = await checkSubmititMapArray(work, env);
    console.log(`submitit on the fake: ${out.stdout.trim().split("\n").at(-1)}`);
  },
});

for (const kind of ["slurm", "sge"] as const) {
  Deno.test({
    name: `fake ${kind === "slurm" ? "Slurm" : "Grid Engine"}: dask-jobqueue ${
      kind === "slurm" ? "SLURMCluster" : "SGECluster"
    } scale(jobs=2), compute, close() within 10 s, nothing left`,
    ...options,
    fn: async () => {
      const work = await baseDir(`fake-peers-dask-${kind}`);
      const env = await fakeOnlyEnv(work);
      await assertFakeOnly(env);
      const { out } = await checkDaskCluster(kind, work, env);
      console.log(`dask ${kind} on the fake: ${out.stdout.trim().split("\n").at(-1)}`);
    },
  });
}

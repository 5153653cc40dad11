/**
 * scripts/*-up.sh and *-down.sh as CI uses them: refused for non-root users with one clear line,
 * and idempotent: a second up on a running cluster restarts nothing and still proves that a job
 * runs.
 */

import assert from "node:assert/strict";
import path from "node:path";
import type { Scheduler } from "../../mod.ts";
import { detect, realTest, ROOT, run } from "./_lib.ts";

const DAEMONS: Record<Scheduler, { state: string; names: string[] }> = {
  sge: { state: "/run/arrayjob-sge", names: ["sge_qmaster", "sge_execd"] },
  slurm: { state: "/run/arrayjob-slurm", names: ["slurmctld", "slurmd"] },
};
const isRoot = Deno.uid() === 0;

async function pids(scheduler: Scheduler): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const name of DAEMONS[scheduler].names) {
    try {
      result[name] = (await Deno.readTextFile(`${DAEMONS[scheduler].state}/${name}.pid`)).trim();
    } catch {
      result[name] = "(none: not started by scripts/)";
    }
  }
  return result;
}

for (const scheduler of ["sge", "slurm"] as const) {
  const reason = await detect(scheduler);
  const up = path.join(ROOT, "scripts", `${scheduler}-up.sh`);
  const down = path.join(ROOT, "scripts", `${scheduler}-down.sh`);

  for (const script of [up, down]) {
    Deno.test({
      name: `scripts/${path.basename(script)} refuses a non-root user with one line`,
      ignore: !isRoot, // needs root to switch to another user
      fn: async () => {
        const out = await run(["runuser", "-u", "nobody", "--", "bash", script]);
        assert.equal(out.code, 1);
        assert.equal(out.stdout, "");
        assert.match(out.stderr, /^[\w.-]+: must be run as root .*\n$/);
      },
    });
  }

  // Only a cluster that the scripts started (their pid files exist) can be checked this way; a
  // developer's own cluster would make up.sh refuse to touch it.
  const managed = await Deno.stat(`${DAEMONS[scheduler].state}/${DAEMONS[scheduler].names[0]}.pid`)
    .then(() => true, () => false);
  if (reason === undefined && !managed) {
    console.warn(
      `SKIPPING the ${scheduler}-up.sh idempotence test: this cluster was not started by it`,
    );
    Deno.test({ name: `${scheduler}-up.sh is idempotent`, ignore: true, fn: () => {} });
    continue;
  }
  realTest(scheduler, reason, "a second up on a running cluster restarts nothing", async () => {
    const before = await pids(scheduler);
    const out = await run(["bash", up], { timeoutSeconds: 120 });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /ready: /);
    assert.doesNotMatch(out.stderr, /starting /, "nothing is started again");
    assert.deepEqual(await pids(scheduler), before);
  });
}

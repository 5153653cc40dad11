/**
 * arrayjob's job lifecycle on the stateful fake scheduler: the very checks the real Slurm and Grid
 * Engine pass (tests/real/lifecycle_test.ts), with fake_scheduler/bin first on PATH. Every query
 * and control command arrayjob runs must come from the fake, so a missing one fails here instead
 * of quietly reaching a real scheduler installed on the machine.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { ROOT } from "./real/_lib.ts";
import { checkLiveJob, checkRetries } from "./real/_lifecycle_checks.ts";

const FAKE_BIN = path.join(ROOT, "fake_scheduler/bin");
const COMMANDS = ["sbatch", "squeue", "sacct", "scancel", "qsub", "qstat", "qacct", "qdel"];

async function fakeEnv(): Promise<Record<string, string>> {
  for (const command of COMMANDS) {
    const found = await Deno.stat(path.join(FAKE_BIN, command)).then(() => true, () => false);
    assert.ok(found, `the fake scheduler has no ${command} (fake_scheduler/bin/${command})`);
  }
  const spool = await Deno.makeTempDir({ prefix: "arrayjob-fake-spool-" });
  return {
    PATH: `${FAKE_BIN}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`,
    ARRAYJOB_FAKE_SPOOL: spool,
    HOME: Deno.env.get("HOME") ?? "/tmp",
  };
}

const options = { sanitizeOps: false, sanitizeResources: false };

for (const scheduler of ["slurm", "sge"] as const) {
  Deno.test({
    name: `fake ${scheduler}: a running 40-task job shows running and pending tasks, resubmit ` +
      `leaves them out, cancel --tasks stops some`,
    ...options,
    fn: async () => await checkLiveJob(scheduler, await fakeEnv()),
  });
  Deno.test({
    name: `fake ${scheduler}: submit --wait --retries 2 of tasks that fail once ends with every ` +
      `task done, each once`,
    ...options,
    fn: async () => {
      await checkRetries(scheduler, await fakeEnv());
    },
  });
}

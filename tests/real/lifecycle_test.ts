/**
 * arrayjob's job lifecycle (submit, status, resubmit, cancel, --wait --retries) on the real Slurm
 * and Grid Engine. The checks live in _lifecycle_checks.ts and take the commands' environment, so
 * the fake runs the same ones (tests/lifecycle_fake_test.ts).
 *
 * These tests fail (never skip) when a scheduler does not answer: start it with
 * scripts/slurm-up.sh or scripts/sge-up.sh.
 */

import type { Scheduler } from "../../dialects.ts";
import { NAMES, unavailable } from "./_lib.ts";
import { checkLiveJob, checkRetries } from "./_lifecycle_checks.ts";

const options = { sanitizeOps: false, sanitizeResources: false };
const env = { PATH: Deno.env.get("PATH") ?? "/usr/local/bin:/usr/bin:/bin" };

async function needs(scheduler: Scheduler): Promise<void> {
  const reason = await unavailable(scheduler);
  if (reason) {
    throw new Error(
      `${NAMES[scheduler]} is not available (start it: sudo bash scripts/${scheduler}-up.sh): ` +
        reason,
    );
  }
}

for (const scheduler of ["slurm", "sge"] as const) {
  Deno.test({
    name: `real ${NAMES[scheduler]}: a running 40-task job shows running and pending tasks, ` +
      `resubmit leaves them out, cancel --tasks stops some`,
    ...options,
    fn: async () => {
      await needs(scheduler);
      await checkLiveJob(scheduler, env);
    },
  });
  Deno.test({
    name: `real ${NAMES[scheduler]}: submit --wait --retries 2 of tasks that fail once ends ` +
      `with every task done, each once`,
    ...options,
    fn: async () => {
      await needs(scheduler);
      const out = await checkRetries(scheduler, env);
      console.log(out.stderr);
    },
  });
}

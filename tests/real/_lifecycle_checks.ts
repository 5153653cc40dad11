/**
 * The job lifecycle as a user drives it with the arrayjob command line, checked against whatever
 * `qsub`/`sbatch`/`squeue`/`qstat`/… come first on the PATH it is given: the real schedulers
 * (tests/real/lifecycle_test.ts) or the stateful fake (tests/lifecycle_fake_test.ts).
 *
 * 1. A 40-task job of slow tasks: while it runs, `status --json` shows running and pending
 *    tasks and none "never finished"; `resubmit` leaves them out; `cancel --tasks` stops some,
 *    which then never finish; `cancel` stops the rest.
 * 2. `submit --wait --retries 2` of a job whose every task fails the first time it runs ends
 *    with every task done, each successful exactly once.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { selectIndices } from "../../mod.ts";
import type { Scheduler } from "../../dialects.ts";
import { writeClusterScript } from "../../job_dir.ts";
import { ROOT, run } from "./_lib.ts";

const CLI = path.join(ROOT, "cli.ts");

/** The arrayjob command line with the given environment (its PATH picks the scheduler). */
export function arrayjob(env: Record<string, string>, ...args: string[]) {
  return run([Deno.execPath(), "run", "-A", CLI, ...args], {
    env: { ...env, NO_COLOR: "1" },
    timeoutSeconds: 600,
  });
}

/** What `arrayjob status --json` prints, as these checks read it. */
export interface StatusJson {
  numTasks: number;
  done: number;
  failed: string;
  running: string;
  pending: string;
  neverFinished: string;
  unsubmitted: string;
  records: number;
  runningOrLost: string;
  pendingOrLost: string;
  scheduler: { asked: boolean; answered: boolean; note?: string };
}

/** `arrayjob status DIR --json`, parsed. */
export async function status(env: Record<string, string>, dir: string): Promise<StatusJson> {
  const out = await arrayjob(env, "status", dir, "--json");
  assert.ok(out.code === 0 || out.code === 1, out.stderr);
  return JSON.parse(out.stdout) as StatusJson;
}

// An empty list is "", which as a task spec would select every task.
const tasks = (spec: string, n: number) => spec === "" ? [] : selectIndices(spec, n);

/** Polls `probe` every 0.5 s until it gives a value; fails after `seconds`. */
export async function until<T>(
  what: string,
  seconds: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `waited ${seconds} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Check 1: live state while a 40-task job of slow tasks runs, resubmit, cancel.
 *
 * @param scheduler Which scheduler's scripts to write.
 * @param env The environment of every arrayjob command (PATH chooses real or fake).
 */
export async function checkLiveJob(scheduler: Scheduler, env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: `arrayjob-life-${scheduler}-` });
  try {
    const script = await writeClusterScript({
      scheduler,
      numTasks: 40,
      command: ["sh", "-c", "sleep 6", "sh"],
      jobName: "life_slow",
      outputDir: `${dir}/out`,
      workDir: dir,
    });
    const submitted = await arrayjob(env, "submit", script);
    assert.equal(submitted.code, 0, submitted.stderr);
    const jobId = submitted.stdout.trim();
    assert.match(jobId, /^[0-9]+$/);
    assert.match(submitted.stderr, new RegExp(`submitted .*run\\.sh as job ${jobId}`));

    // While it runs: running and pending, never "never finished".
    const live = await until("a running task", 120, async () => {
      const s = await status(env, `${dir}/out`);
      return tasks(s.running, 40).length > 0 ? s : undefined;
    });
    assert.deepEqual(live.scheduler, { asked: true, answered: true });
    assert.ok(tasks(live.pending, 40).length > 0, JSON.stringify(live));
    assert.equal(live.neverFinished, "", JSON.stringify(live));
    assert.equal(live.unsubmitted, "");
    assert.equal(live.failed, "");
    assert.equal(
      live.done + tasks(live.running, 40).length + tasks(live.pending, 40).length,
      40,
      JSON.stringify(live),
    );

    // resubmit leaves the live tasks out; every task not done is live, so nothing is written.
    const again = await arrayjob(env, "resubmit", `${dir}/out`);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /left out [0-9]+ tasks that are running or pending: /);
    assert.match(again.stderr, /nothing to resubmit/);
    assert.equal(again.stdout, "");
    assert.equal(await Deno.stat(`${dir}/out/resubmit-1.sh`).then(() => true, () => false), false);

    // cancel --tasks stops those (pending ones: the job runs 2 at a time for ~6 s each).
    const cancelled = await arrayjob(env, "cancel", `${dir}/out`, "--tasks", "30:35");
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, new RegExp(`^cancelled job ${jobId}: array tasks `, "m"));
    assert.match(cancelled.stdout, /^their tasks: 30:35$/m);
    const after = await until("the cancelled tasks to leave the queue", 60, async () => {
      const s = await status(env, `${dir}/out`);
      return tasks(s.neverFinished, 40).length >= 5 ? s : undefined;
    });
    assert.deepEqual(tasks(after.neverFinished, 40), [30, 31, 32, 33, 34]);
    for (const list of [after.running, after.pending]) {
      assert.ok(tasks(list, 40).every((t) => t < 30 || t >= 35), JSON.stringify(after));
    }
    assert.ok(tasks(after.pending, 40).length > 0, "the rest is still queued");

    // cancel stops the rest; then nothing is live.
    const all = await arrayjob(env, "cancel", `${dir}/out`);
    assert.equal(all.code, 0, all.stderr);
    const ended = await until("the job to end", 60, async () => {
      const s = await status(env, `${dir}/out`);
      return s.running === "" && s.pending === "" ? s : undefined;
    });
    // A running task that Slurm's SIGTERM let write its end has failed (exit 143); the others
    // never finished.
    assert.equal(
      ended.done + tasks(ended.failed, 40).length + tasks(ended.neverFinished, 40).length,
      40,
      JSON.stringify(ended),
    );
    assert.equal(ended.unsubmitted, "");
  } finally {
    await arrayjob(env, "cancel", `${dir}/out`);
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Check 2: `submit --wait --retries 2` of tasks that fail once.
 *
 * @param scheduler Which scheduler's scripts to write.
 * @param env The environment of every arrayjob command.
 */
export async function checkRetries(scheduler: Scheduler, env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: `arrayjob-retry-${scheduler}-` });
  try {
    await Deno.mkdir(`${dir}/marks`);
    // Fails the first time each task runs, succeeds the second; one line per success.
    await Deno.writeTextFile(
      `${dir}/flaky.sh`,
      [
        `spec=\${2#--tasks=}; task=\${spec%%:*}`,
        `if [ -e "$1/tried.$task" ]; then echo ok >>"$1/ok.$task"; exit 0; fi`,
        `: >"$1/tried.$task"; exit 1`,
        "",
      ].join("\n"),
    );
    const numTasks = 10;
    const script = await writeClusterScript({
      scheduler,
      numTasks,
      command: ["sh", `${dir}/flaky.sh`, `${dir}/marks`],
      jobName: "life_retry",
      outputDir: `${dir}/out`,
      workDir: dir,
    });
    const out = await arrayjob(
      env,
      "submit",
      script,
      "--wait",
      "--retries",
      "2",
      "--interval",
      "1",
    );
    assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
    assert.match(out.stderr, /retry: 10 tasks \(0:10\) in .*resubmit-1\.sh as job [0-9]+/);
    assert.doesNotMatch(out.stderr, /resubmit-2\.sh/);
    assert.match(out.stderr, /every task of the script is done/);
    assert.equal(out.stdout.trim().split("\n").length, 2, "two job ids: the job and one retry");
    for (let task = 0; task < numTasks; task++) {
      const ok = await Deno.readTextFile(`${dir}/marks/ok.${task}`).catch(() => "");
      assert.equal(ok, "ok\n", `task ${task} succeeded exactly once`);
    }
    const final = await status(env, `${dir}/out`);
    assert.equal(final.done, numTasks);
    const submissions = (await Deno.readTextFile(`${dir}/out/submissions.jsonl`)).trim().split(
      "\n",
    );
    assert.equal(submissions.length, 2);
    assert.match(submissions[1]!, /resubmit-1\.sh/);
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

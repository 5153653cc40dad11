/**
 * The heart of the suite: scripts rendered by mod.ts, run through both fake schedulers in-process,
 * must run every task index 0..numTasks-1 exactly once and nothing else, for every numTasks 1..60
 * and step 1..25, plus seeded random sizes up to 2000 tasks. The command is the shell's `printf
 * '%s\n'`, so each array task prints the `--tasks=START:STOP` it was given into its own log; the
 * test reads every array task's log, expands the slices and counts. (A builtin, not a program: a
 * second process per array task added a fifth to the suite's time and tested nothing more here.)
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { clusterScript } from "../../script.ts";
import type { Scheduler } from "../../mod.ts";
import { captureIO } from "../../fake_scheduler/io.ts";
import { SlotPool } from "../../fake_scheduler/run.ts";
import { qsub } from "../../fake_scheduler/qsub.ts";
import { sbatch } from "../../fake_scheduler/sbatch.ts";

interface Combo {
  numTasks: number;
  step: number;
}

function allCombos(): Combo[] {
  const out: Combo[] = [];
  for (let numTasks = 1; numTasks <= 60; numTasks++) {
    for (let step = 1; step <= 25; step++) out.push({ numTasks, step });
  }
  return out;
}

// A small seeded generator (mulberry32) so a failing random case can be reproduced from the seed.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCombos(seed: number, count: number): Combo[] {
  const r = rng(seed);
  const out: Combo[] = [];
  for (let i = 0; i < count; i++) {
    const numTasks = 1 + Math.floor(r() * 2000);
    // Log-uniform steps: as many cases with hundreds of array tasks as with a handful.
    const step = Math.max(1, Math.floor(Math.exp(r() * Math.log(numTasks))));
    out.push({ numTasks, step });
  }
  return out;
}

/** Expand each log's one `--tasks=START:STOP` line to indices, checking each slice is sane. */
function recordedIndices(logs: string[], combo: Combo): number[] {
  const indices: number[] = [];
  for (const log of logs) {
    const text = Deno.readTextFileSync(log);
    const m = /^--tasks=([0-9]+):([0-9]+)\n$/.exec(text);
    assert.ok(m, `${log} should hold one --tasks line, holds '${text}'`);
    const line = text.trim();
    const start = Number(m[1]);
    const stop = Number(m[2]);
    assert.equal(stop - start, combo.step, `slice ${line} is not one step of ${combo.step}`);
    // The program slices like Python: STOP past the end is clipped, an empty slice is a bug.
    assert.ok(start < combo.numTasks, `slice ${line} is empty for ${combo.numTasks} tasks`);
    for (let i = start; i < Math.min(stop, combo.numTasks); i++) indices.push(i);
  }
  return indices;
}

async function runCombo(
  scheduler: Scheduler,
  combo: Combo,
  root: string,
  pool: SlotPool,
): Promise<number> {
  const dir = join(root, `${scheduler}-${combo.numTasks}-${combo.step}`);
  await Deno.mkdir(dir);
  const text = await clusterScript({
    scheduler,
    numTasks: combo.numTasks,
    step: combo.step,
    command: ["printf", "%s\\n"],
    outputDir: dir,
    jobName: "once",
    wait: true,
    // Keep the requested step even past Slurm's default 1001 (the fake is raised to match below).
    maxArraySize: 100000,
  });
  const script = join(dir, "run.sh");
  await Deno.writeTextFile(script, text);
  const io = captureIO();
  const face = scheduler === "sge" ? qsub : sbatch;
  const result = await face([script], {
    io,
    cwd: dir,
    fake: { slots: pool, maxArraySize: 100000 },
  });
  const where = `${scheduler} numTasks=${combo.numTasks} step=${combo.step}`;
  assert.equal(result.exitCode, 0, `${where}: exit ${result.exitCode}\n${io.err.join("\n")}`);
  const arrayTasks = Math.ceil(combo.numTasks / combo.step);
  assert.equal(result.report?.tasksRun, arrayTasks, `${where}: array task count`);
  const logs = result.report!.tasks.map((t) => t.log);
  assert.equal(new Set(logs).size, arrayTasks, `${where}: one log per array task`);
  const seen = recordedIndices(logs, combo).sort((a, b) => a - b);
  assert.deepEqual(
    seen,
    Array.from({ length: combo.numTasks }, (_, i) => i),
    `${where}: indices did not run exactly once`,
  );
  return arrayTasks;
}

/**
 * Run `items` through `fn` with at most `limit` in flight. After a failure no new item starts,
 * but the ones in flight finish before the first error is thrown, so cleanup never races them.
 */
async function pooled<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<number>,
): Promise<number> {
  let next = 0;
  let total = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length && !failure) {
      try {
        const done = await fn(items[next++]);
        total += done;
      } catch (error) {
        failure ??= { error };
      }
    }
  }));
  if (failure) throw failure.error;
  return total;
}

Deno.test("every task runs exactly once: numTasks 1..60 x step 1..25 and random up to 2000, both faces", async () => {
  const root = await Deno.makeTempDir({ prefix: "arrayjob-once-" });
  try {
    const seed = Number(Deno.env.get("ARRAYJOB_TEST_SEED") ?? "20261127");
    // Always one array just past Slurm's default MaxArraySize (indices 0..1001), whatever the seed.
    const combos = [...allCombos(), { numTasks: 1002, step: 1 }, ...randomCombos(seed, 20)];
    // One machine-wide budget for both faces, a little above the core count because tasks spend
    // much of their life in fork/exec and file I/O.
    const pool = new SlotPool(Math.max(2, 2 * (navigator.hardwareConcurrency || 1)));
    const started = performance.now();
    // allSettled: a failing face must not leave the other still writing while root is removed.
    const settled = await Promise.allSettled(
      (["sge", "slurm"] as const).map((s) => pooled(combos, 8, (c) => runCombo(s, c, root, pool))),
    );
    const [sgeTasks, slurmTasks] = settled.map((r) => {
      if (r.status === "rejected") throw r.reason;
      return r.value;
    });
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `exactly-once: ${combos.length} combinations x 2 faces (seed ${seed}), ` +
        `${sgeTasks} SGE + ${slurmTasks} Slurm array tasks in ${seconds.toFixed(1)} s`,
    );
    assert.equal(sgeTasks, slurmTasks);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

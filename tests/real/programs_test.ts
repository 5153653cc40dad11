/**
 * Users' programs on the real schedulers, end to end as the README tells users to run them:
 * a Deno script that calls runTasks writes its own cluster script (`--cluster-script`), and a
 * Python program gets one from `cli.ts script`; both are submitted with plain qsub/sbatch (the
 * scripts ask to wait) and every task's result file is checked.
 */

import assert from "node:assert/strict";
import path from "node:path";
import type { Scheduler } from "../../mod.ts";
import { baseDir, detect, realTest, ROOT, run, schedulerRecords } from "./_lib.ts";

const SWEEP = path.join(ROOT, "tests/real/fixtures/sweep.ts");
const SQUARES = path.join(ROOT, "tests/real/fixtures/squares.py");
const CLI = path.join(ROOT, "cli.ts");
const SUBMIT: Record<Scheduler, string> = { sge: "qsub", slurm: "sbatch" };

function jobIdOf(scheduler: Scheduler, stdout: string): string {
  const match = scheduler === "sge"
    ? /Your job(?:-array)? (\d+)/.exec(stdout)
    : /Submitted batch job (\d+)/.exec(stdout);
  assert.ok(match, `no job id in ${JSON.stringify(stdout)}`);
  return match[1]!;
}

for (const scheduler of ["sge", "slurm"] as const) {
  const reason = await detect(scheduler);
  const first = scheduler === "sge" ? 1 : 0;

  realTest(
    scheduler,
    reason,
    "a Deno script's runTasks --cluster-script job: every task once, the throwing one fails its chunk",
    async () => {
      const dir = await baseDir(`${scheduler}-sweep`);
      const generate = await run([
        Deno.execPath(),
        "run",
        "-A",
        SWEEP,
        "--cluster-script",
        "--scheduler",
        scheduler,
        "--step",
        "5",
        "--wait",
        "--job-name",
        "sweep",
        "--output-dir",
        "out",
      ], { cwd: dir });
      assert.equal(generate.code, 0, generate.stderr);
      const script = path.join(dir, "out/run.sh");
      const submitted = await run([SUBMIT[scheduler], script], { cwd: dir });
      // 12 tasks in chunks of 5: the last chunk (10, 11) holds the throwing task 11.
      assert.equal(submitted.code, 1, `${submitted.stdout}\n${submitted.stderr}`);
      const jobId = jobIdOf(scheduler, submitted.stdout);
      for (let index = 0; index < 12; index++) {
        const file = path.join(dir, "results", `${index}.json`);
        if (index === 11) {
          await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
          continue;
        }
        const result = JSON.parse(await Deno.readTextFile(file));
        const [a, b] = [[1, 2, 3][Math.floor(index / 4)]!, [10, 20, 30, 40][index % 4]!];
        assert.deepEqual(result, {
          index,
          a,
          b,
          product: a * b,
          arrayTask: String(first + Math.floor(index / 5)),
        });
      }
      const records = await schedulerRecords(scheduler, jobId, 3);
      assert.deepEqual(
        [...records].map(([id, r]) => [id, r.exit]).sort(),
        [[first, 0], [first + 1, 0], [first + 2, 1]],
      );
      const log = await Deno.readTextFile(path.join(dir, "out", `sweep.o${jobId}.${first + 2}`));
      assert.match(log, /task 11 failed: Error: task \(3, 40\) fails on purpose/);
    },
  );

  realTest(
    scheduler,
    reason,
    "a Python program through 'cli.ts script': every task once, in the right array task",
    async () => {
      const dir = await baseDir(`${scheduler}-python`);
      const generate = await run([
        Deno.execPath(),
        "run",
        "-A",
        CLI,
        "script",
        "--scheduler",
        scheduler,
        "--num-tasks",
        "10",
        "--step",
        "4",
        "--wait",
        "--job-name",
        "squares",
        "--output-dir",
        "out",
        "--",
        "python3",
        SQUARES,
        "--count",
        "10",
      ], { cwd: dir });
      assert.equal(generate.code, 0, generate.stderr);
      const submitted = await run([SUBMIT[scheduler], path.join(dir, "out/run.sh")], { cwd: dir });
      assert.equal(submitted.code, 0, `${submitted.stdout}\n${submitted.stderr}`);
      const jobId = jobIdOf(scheduler, submitted.stdout);
      const results = [];
      for await (const entry of Deno.readDir(path.join(dir, "results"))) results.push(entry.name);
      assert.equal(results.length, 10);
      for (let i = 0; i < 10; i++) {
        const text = await Deno.readTextFile(path.join(dir, "results", `${i}.txt`));
        assert.equal(text, `${i * i} ${first + Math.floor(i / 4)}\n`);
      }
      const logs = [];
      for await (const entry of Deno.readDir(path.join(dir, "out"))) {
        if (entry.name.startsWith("squares.o")) logs.push(entry.name);
      }
      assert.deepEqual(logs.sort(), [0, 1, 2].map((k) => `squares.o${jobId}.${first + k}`));
    },
  );
}

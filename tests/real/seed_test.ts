/**
 * The seed's workflow on the real schedulers (tests/seed_test.ts does the same on the fakes):
 * the seed's template rendered and run on Grid Engine, and the seed's str_to_slice program
 * through failure → status → resubmit --step K → all done on both, per chunk and per task.
 *
 * Grid Engine 8.1.9 refuses two site-specific lines of the seed's template as written (the
 * `m_mem_free` complex, which only Univa knows, and a `smp` parallel environment a fresh install
 * lacks), so this test runs it with `mem_free` and without the `-pe`/`-binding` lines; every
 * other line is the seed's, and the fake test runs it verbatim.
 */

import assert from "node:assert/strict";
import path from "node:path";
import type { Scheduler } from "../../mod.ts";
import { baseDir, detect, realTest, ROOT, run } from "./_lib.ts";

const CLI = path.join(ROOT, "cli.ts");
const SEED = path.join(ROOT, "tests/fixtures/seed");
const PROGRAM = path.join(SEED, "do_something.py");
const WAIT: Record<Scheduler, string[]> = {
  sge: ["qsub", "-sync", "y"],
  slurm: ["sbatch", "--wait"],
};
const FAILING = [1, 5, 6, 13];

const arrayjob = (args: string[], cwd: string) =>
  run([Deno.execPath(), "run", "-A", CLI, ...args], { cwd });

// `python` and `python3` for the array tasks, first on PATH (exported by -V and by sbatch).
async function jobEnv(dir: string): Promise<Record<string, string>> {
  const found = await run(["python3", "-c", "import sys; print(sys.executable)"]);
  const python3 = found.stdout.trim();
  assert.ok(python3, "python3 is needed: the seed's program is Python");
  await Deno.mkdir(`${dir}/bin`, { recursive: true });
  await Deno.symlink(python3, `${dir}/bin/python`);
  await Deno.symlink(python3, `${dir}/bin/python3`);
  await Deno.mkdir(`${dir}/state`);
  return {
    PATH: `${dir}/bin:${Deno.env.get("PATH")}`,
    SEED_LOG: `${dir}/ran.txt`,
    SEED_STATE: `${dir}/state`,
  };
}

async function runs(dir: string): Promise<{ ran: number[]; ok: number[] }> {
  const ran = Array(14).fill(0), ok = Array(14).fill(0);
  const text = await Deno.readTextFile(`${dir}/ran.txt`).catch(() => "");
  for (const line of text.split("\n").filter(Boolean)) {
    const [index, outcome] = line.split(" ");
    ran[Number(index)]++;
    if (outcome === "ok") ok[Number(index)]++;
  }
  return { ran, ok };
}

const sge = await detect("sge");
realTest("sge", sge, "the seed's template renders and runs every task exactly once", async () => {
  const dir = await baseDir("seed-template");
  const env = await jobEnv(dir);
  const template = (await Deno.readTextFile(`${SEED}/seed.mustache`))
    .replace("m_mem_free=", "mem_free=")
    .replace("#$ -pe smp {{{cpus}}}\n#$ -binding linear:1\n", "");
  await Deno.writeTextFile(`${dir}/seed.mustache`, template);
  const rendered = await arrayjob([
    "script",
    "--template",
    `${dir}/seed.mustache`,
    "--num-tasks",
    "14",
    "--step",
    "3",
    "--memory",
    "1G",
    "--time",
    "600",
    "--wait",
    "--output-dir",
    `${dir}/out`,
    "--",
    PROGRAM,
  ], dir);
  assert.equal(rendered.code, 0, rendered.stderr);
  const ran = await run(["qsub", "-sync", "y", `${dir}/out/run.sh`], {
    cwd: dir,
    env,
    timeoutSeconds: 300,
  });
  assert.equal(ran.code, 0, ran.stdout + ran.stderr);
  const { ran: counts, ok } = await runs(dir);
  assert.deepEqual(counts, Array(14).fill(1), "every task exactly once");
  assert.deepEqual(ok, Array(14).fill(1));
});

for (const scheduler of ["sge", "slurm"] as const) {
  const reason = scheduler === "sge" ? sge : await detect(scheduler);
  for (
    const { step, report } of [{ step: 2, report: false }, { step: 5, report: false }, {
      step: 4,
      report: true,
    }]
  ) {
    realTest(
      scheduler,
      reason,
      `the seed's str_to_slice program, ${
        report ? "reporting each task" : "reporting nothing"
      }: fail → status → resubmit --step ${step} → all done`,
      async () => {
        const dir = await baseDir(`seed-${scheduler}-${step}`);
        const env = {
          ...await jobEnv(dir),
          SEED_FAIL_ONCE: FAILING.join(","),
          SEED_REPORT: report ? "1" : "0",
        };
        const out = `${dir}/out`;
        const rendered = await arrayjob([
          "script",
          "--scheduler",
          scheduler,
          "--num-tasks",
          "14",
          "--step",
          "3",
          "--time",
          "600",
          "--output-dir",
          out,
          "--",
          "python3",
          PROGRAM,
        ], dir);
        assert.equal(rendered.code, 0, rendered.stderr);
        const first = await run([...WAIT[scheduler], `${out}/run.sh`], {
          cwd: dir,
          env,
          timeoutSeconds: 300,
        });
        assert.notEqual(first.code, 0, "some array tasks failed");

        const status = await arrayjob(["status", out], dir);
        assert.equal(status.code, 1);
        const failed = report ? "1,5:7,13" : "0:9,12:14";
        assert.match(status.stdout, new RegExp(`^failed: ${failed}$`, "m"), status.stdout);

        const again = await arrayjob(["resubmit", out, "--step", String(step)], dir);
        assert.equal(again.code, 0, again.stderr);
        const script = again.stdout.trim();
        const map = (await Deno.readTextFile(script.replace(/\.sh$/, ".chunks"))).trimEnd().split(
          "\n",
        );
        for (const line of map) assert.match(line, /^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$/);
        const second = await run([...WAIT[scheduler], script], {
          cwd: dir,
          env,
          timeoutSeconds: 300,
        });
        assert.equal(second.code, 0, second.stdout + second.stderr);

        const after = await arrayjob(["status", out], dir);
        assert.equal(after.code, 0, after.stdout);
        assert.match(after.stdout, /^14 tasks: 14 done, 0 failed,/);
        const { ran, ok } = await runs(dir);
        assert.ok(ok.every((n) => n >= 1), "every task succeeded");
        assert.deepEqual(
          ran.map((n, i) => n - ok[i]),
          ran.map((_, i) => FAILING.includes(i) ? 1 : 0),
        );
        const twice = ran.flatMap((n, i) => n === 2 ? [i] : []);
        assert.deepEqual(twice, report ? FAILING : [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13]);
      },
    );
  }
}

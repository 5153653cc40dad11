/**
 * Scripts rendered by arrayjob, submitted to the real Grid Engine (`qsub`, the script says
 * `#$ -sync y`) and the real Slurm (`sbatch`, the script says `#SBATCH --wait`), and then the
 * same scripts through the fake scheduler's faces: both must agree.
 *
 * Each scheduler gets five array jobs, submitted at once: step 1 (with a throttle), a step
 * larger than the task list, a last partial chunk (with memory and time requests), 2 CPUs per
 * array task, and two failing chunks (exit 3, then exit 5 two seconds later).
 */

import assert from "node:assert/strict";
import type { Scheduler } from "../../mod.ts";
import {
  arrayIds,
  baseDir,
  type Case,
  detect,
  environments,
  expand,
  expectedLogs,
  lines,
  logNames,
  realTest,
  render,
  schedulerRecords,
  submit,
  type Submitted,
} from "./_lib.ts";

const CASES: Case[] = [
  { name: "step1", numTasks: 7, step: 1, throttle: 3 },
  { name: "bigstep", numTasks: 5, step: 8 },
  { name: "partial", numTasks: 10, step: 3, memory: "200M", time: 600 },
  { name: "cpus2", numTasks: 6, step: 2, cpus: 2 },
  { name: "fails", numTasks: 6, step: 1, fails: "2:3:0,5:5:2" },
];
const FAILS = CASES.find((c) => c.fails)!;

/**
 * Chunks that sleep past their time limit. Grid Engine kills at h_rt=3 s within ~5 s; Slurm's
 * limit is whole minutes and is checked every ~30 s (a task with --time=1 ran 74-78 s), so the
 * Slurm case runs only with ARRAYJOB_REAL_SLOW=1.
 */
const TIMEOUT: Case = { name: "timeout", numTasks: 2, step: 1, time: 3, fails: "0:0:100,1:0:100" };
const SLOW = Boolean(Deno.env.get("ARRAYJOB_REAL_SLOW"));
const casesFor = (scheduler: Scheduler): Case[] =>
  scheduler === "sge" || SLOW ? [...CASES, { ...TIMEOUT, killed: true }] : CASES;

/**
 * What the wait exit code is when chunk 2 exits 3 and chunk 5 exits 5 later (FACTS.md):
 * Grid Engine reports the first failure to finish, Slurm the highest exit code.
 */
const WAIT_EXIT: Record<Scheduler, number> = { sge: 3, slurm: 5 };

for (const scheduler of ["sge", "slurm"] as const) {
  const reason = await detect(scheduler);
  const runs: Partial<Record<"real" | "fake", Promise<Map<string, Submitted>>>> = {};
  const submitAll = (face: "real" | "fake") =>
    runs[face] ??= (async () => {
      const base = await baseDir(`${scheduler}-${face}`);
      const rendered = await Promise.all(
        casesFor(scheduler).map((c) => render(scheduler, c, base, face)),
      );
      const submitted = await Promise.all(rendered.map((r) => submit(r, face)));
      return new Map(submitted.map((s) => [s.rendered.case.name, s]));
    })();

  realTest(
    scheduler,
    reason,
    "every task index runs exactly once, and the submit command blocks until all have run",
    async (t) => {
      const real = await submitAll("real");
      for (const c of casesFor(scheduler)) {
        await t.step(c.name, () => {
          const s = real.get(c.name)!;
          const all = Array.from({ length: c.numTasks }, (_, i) => i);
          const context = `stdout: ${s.out.stdout}\nstderr: ${s.out.stderr}`;
          if (c.killed) assert.equal(s.out.code, 1, context);
          else if (!c.fails) assert.equal(s.out.code, 0, context);
          assert.deepEqual(expand(s.markerAtReturn, c.numTasks), all, context);
          assert.equal(s.markerAtReturn.length, arrayIds(scheduler, c).length);
        });
      }
    },
  );

  realTest(scheduler, reason, "log files are named as the script asked", async (t) => {
    const real = await submitAll("real");
    for (const c of casesFor(scheduler)) {
      await t.step(c.name, async () => {
        const s = real.get(c.name)!;
        const names = (await logNames(s.rendered, s.jobId)).map((n) =>
          n.replace(".oJOBID.", `.o${s.jobId}.`)
        );
        assert.deepEqual(names, expectedLogs(s.rendered, s.jobId));
      });
    }
  });

  realTest(
    scheduler,
    reason,
    "failing tasks: the wait exit code and each array task's own record",
    async () => {
      const s = (await submitAll("real")).get(FAILS.name)!;
      assert.equal(s.out.code, WAIT_EXIT[scheduler], `stderr: ${s.out.stderr}`);
      const ids = arrayIds(scheduler, FAILS);
      const records = await schedulerRecords(scheduler, s.jobId, ids.length);
      const first = ids[0]!;
      const expected = new Map(ids.map((id) => [id, 0]));
      expected.set(first + 2, 3);
      expected.set(first + 5, 5);
      assert.deepEqual(
        new Map([...records].map(([id, r]) => [id, r.exit])),
        expected,
        `${scheduler} records: ${JSON.stringify([...records])}`,
      );
      // arrayjob's own records agree: "end <status>", then the array task's "exit <status>".
      for (const id of ids) {
        const record = await lines(`${s.rendered.outputDir}/records/${s.jobId}.${id}`);
        const kinds = record.slice(-2).map((line) => line.split("\t").slice(0, 2).join(" "));
        assert.deepEqual(kinds, [`end ${expected.get(id)}`, `exit ${expected.get(id)}`]);
      }
    },
  );

  if (casesFor(scheduler).some((c) => c.killed)) {
    realTest(scheduler, reason, "a chunk past its time limit is killed and recorded", async () => {
      const s = (await submitAll("real")).get(TIMEOUT.name)!;
      assert.equal(s.out.code, 1, `stdout: ${s.out.stdout}\nstderr: ${s.out.stderr}`);
      const ids = arrayIds(scheduler, TIMEOUT);
      const records = await schedulerRecords(scheduler, s.jobId, ids.length);
      for (const id of ids) {
        const r = records.get(id);
        // Grid Engine: exit_status 137, failed "37 : qmaster enforced h_rt..."; Slurm: TIMEOUT.
        if (scheduler === "sge") {
          assert.equal(r?.exit, 137, JSON.stringify(r));
          assert.match(r!.state, /^37\b.*h_rt/);
        } else assert.equal(r?.state, "TIMEOUT", JSON.stringify(r));
        // arrayjob's own record has the start and no end (nor exit): the task was killed.
        const record = await lines(`${s.rendered.outputDir}/records/${s.jobId}.${id}`);
        assert.equal(record.length, 1, record.join("\n"));
        assert.match(record[0]!, /^start\t/);
      }
    });
  }

  realTest(
    scheduler,
    reason,
    "fake vs real: task ids, array variables, log names and wait exit code agree",
    async (t) => {
      const real = await submitAll("real");
      const fake = await submitAll("fake");
      for (const c of casesFor(scheduler)) {
        await t.step(c.name, async () => {
          const r = real.get(c.name)!, f = fake.get(c.name)!;
          const [envReal, envFake] = [
            await environments(r.rendered),
            await environments(f.rendered),
          ];
          assert.deepEqual(
            [...envFake.keys()].sort(),
            [...envReal.keys()].sort(),
            "array task ids",
          );
          for (const [id, vars] of envReal) {
            assert.deepEqual(envFake.get(id), vars, `array variables of task ${id}`);
          }
          assert.deepEqual(
            await logNames(f.rendered, f.jobId),
            await logNames(r.rendered, r.jobId),
            "log file names",
          );
          assert.equal(f.out.code, r.out.code, `wait exit code; fake stderr: ${f.out.stderr}`);
          assert.deepEqual(
            expand(f.markerAtReturn, c.numTasks),
            expand(r.markerAtReturn, c.numTasks),
          );
        });
      }
    },
  );
}

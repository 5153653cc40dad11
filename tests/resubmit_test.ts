/**
 * Know what ran, resubmit only what failed: records written by the rendered scripts and by
 * runTasks, `status`, `resubmit` through chunk maps, and array-size limits, all run through the
 * fake scheduler.
 */

import assert from "node:assert/strict";
import { clusterScript } from "../script.ts";
import { writeClusterScript, writeClusterScripts } from "../job_dir.ts";
import { jobStatus } from "../status.ts";
import { type Scheduler, selectIndices } from "../mod.ts";
import { writeResubmitScript } from "../resubmit.ts";
import { simulateMain } from "../fake_scheduler/mod.ts";
import { captureIO } from "../fake_scheduler/mod.ts";

const FLAKY = new URL("./fixtures/flaky_fixture.ts", import.meta.url).pathname;
const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function simulate(script: string, cwd: string): Promise<number> {
  const io = captureIO();
  return await simulateMain([script], { cwd, io });
}

async function ranCounts(dir: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const text = await Deno.readTextFile(`${dir}/ran.txt`).catch(() => "");
  for (const line of text.split("\n").filter(Boolean)) {
    counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  }
  return counts;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-resubmit-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const scheduler of ["sge", "slurm"] as const) {
  Deno.test(`${scheduler}: failure → status → resubmit → status: every task ends done, each successful exactly once`, async () => {
    await withDir(async (dir) => {
      const failing = [3, 17, 18, 19, 41];
      await Deno.writeTextFile(`${dir}/fail.txt`, failing.join(" "));
      const run = await writeClusterScript({
        scheduler,
        numTasks: 60,
        step: 7,
        command: [Deno.execPath(), "run", "--allow-read", "--allow-write", "--allow-env", FLAKY],
        workDir: dir,
        outputDir: "out",
        wait: true,
      });
      assert.equal(await simulate(run, dir), 1, "-sync y / --wait reports the failures");
      const first = await jobStatus(`${dir}/out`);
      assert.deepEqual([...first.failed], failing);
      assert.equal(first.done.length, 55);
      assert.deepEqual([...first.neverFinished], []);
      assert.ok(
        first.failures.every((f) =>
          f.exitCode === 1 && f.log?.startsWith(`${dir}/out/flaky_fixture.o`)
        ),
      );

      await Deno.writeTextFile(`${dir}/fail.txt`, "");
      const again = await writeResubmitScript(`${dir}/out`, {
        which: "failed",
        overrides: { step: 2 },
      });
      assert.deepEqual([...again.indices], failing);
      assert.equal(again.numArrayTasks, 3);
      assert.equal(
        await Deno.readTextFile(`${dir}/out/resubmit-1.chunks`),
        "3:4,17:18\n18:20\n41:42\n",
      );
      assert.equal(await simulate(again.path!, dir), 0);

      const after = await jobStatus(`${dir}/out`);
      assert.equal(after.done.length, 60);
      assert.deepEqual([after.failed.length, after.neverFinished.length], [0, 0]);
      // Every task ran once in the first run; the five failed ones once more, and nothing else.
      const counts = await ranCounts(dir);
      for (let i = 0; i < 60; i++) {
        assert.equal(counts.get(i), failing.includes(i) ? 2 : 1, `task ${i}`);
      }
      assert.equal(
        (await writeResubmitScript(`${dir}/out`)).path,
        undefined,
        "nothing left to run",
      );
    });
  });

  Deno.test(`${scheduler}: an array task killed by its runtime limit leaves its tasks never finished, not done`, async () => {
    await withDir(async (dir) => {
      // A generic program (no runTasks): the chunk containing task 4 outlives its limit.
      const program = `case "$1" in --tasks=4:6) sleep 5 ;; esac; echo "$1" >> ran.txt`;
      const run = await writeClusterScript({
        scheduler,
        numTasks: 8,
        step: 2,
        time: 1,
        command: ["/bin/sh", "-c", program, "program"],
        workDir: dir,
        outputDir: "out",
      });
      await simulate(run, dir);
      const status = await jobStatus(`${dir}/out`);
      assert.deepEqual([...status.done], [0, 1, 2, 3, 6, 7]);
      assert.deepEqual([...status.neverFinished], [4, 5]);
      assert.deepEqual([...status.failed], []);

      const again = await writeResubmitScript(`${dir}/out`, {
        which: "missing",
        overrides: { time: 60 },
      });
      assert.deepEqual([...again.indices], [4, 5]);
      assert.equal(await Deno.readTextFile(`${dir}/out/resubmit-1.chunks`), "4:6\n");
      const program2 = await Deno.readTextFile(again.path!);
      assert.match(program2, scheduler === "sge" ? /h_rt=0:01:00/ : /--time=0:01:00/);
    });
  });
}

Deno.test("a generic program's exit status counts for every task of its chunk", async () => {
  await withDir(async (dir) => {
    const run = await writeClusterScript({
      numTasks: 10,
      step: 3,
      command: ["/bin/sh", "-c", 'test "$1" != --tasks=3:6', "program"],
      workDir: dir,
      outputDir: "out",
    });
    await simulate(run, dir);
    const status = await jobStatus(`${dir}/out`);
    assert.deepEqual([...status.failed], [3, 4, 5]);
    assert.deepEqual([...status.done], [0, 1, 2, 6, 7, 8, 9]);
  });
});

Deno.test("cli: status and resubmit, as a user types them", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/fail.txt`, "2 5");
    const run = await writeClusterScript({
      numTasks: 8,
      command: [Deno.execPath(), "run", "--allow-read", "--allow-write", "--allow-env", FLAKY],
      workDir: dir,
      outputDir: "out",
    });
    await simulate(run, dir);
    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, ...args],
        cwd: dir,
        env: { NO_COLOR: "1" },
      }).output();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
    };
    const status = await cli("status", "out");
    assert.equal(status.code, 1);
    assert.match(
      status.stdout,
      /^8 tasks: 6 done, 2 failed, 0 running, 0 pending, 0 never finished, 0 unsubmitted \(8 array-task records\)$/m,
    );
    assert.match(status.stdout, /^failed: 2,5$/m);
    assert.match(status.stdout, /^ {2}task 2: exit 1, log out\/flaky_fixture\.o[0-9]+\.3$/m);
    const json = JSON.parse((await cli("status", "out", "--json")).stdout);
    assert.deepEqual([json.done, json.failed, json.neverFinished], [6, "2,5", ""]);

    await Deno.writeTextFile(`${dir}/fail.txt`, "");
    const resubmit = await cli("resubmit", "out", "--failed", "--time", "2:00:00");
    assert.equal(resubmit.code, 0, resubmit.stderr);
    assert.match(resubmit.stderr, /wrote .*resubmit-1\.sh: 2 tasks \(2,5\) in 2 array tasks/);
    assert.match(await Deno.readTextFile(resubmit.stdout.trim()), /^#\$ -l h_rt=2:00:00$/m);
    await simulate(resubmit.stdout.trim(), dir);
    const done = await cli("status", "out");
    assert.equal(done.code, 0);
    assert.match(
      done.stdout,
      /^8 tasks: 8 done, 0 failed, 0 running, 0 pending, 0 never finished/m,
    );
    const nothing = await cli("resubmit", "out");
    assert.equal(nothing.code, 0);
    assert.match(nothing.stderr, /nothing to resubmit/);
    assert.match((await cli("status", dir)).stderr, /has no arrayjob\.json/);
    assert.match((await cli("resubmit", "out", "--failed", "--missing")).stderr, /give one of/);
  });
});

/** The tasks each array task of a rendered script would run, by evaluating its arithmetic. */
function coverage(scheduler: Scheduler, numTasks: number, text: string): number[] {
  const size = Number(
    scheduler === "sge"
      ? /^#\$ -t 1-([0-9]+)$/m.exec(text)![1]
      : /^#SBATCH --array=0-([0-9]+)/m.exec(text)![1],
  );
  const step = Number(/^STEP_SIZE=([0-9]+)$/m.exec(text)![1]);
  const offset = Number(/^START_TASK=\$\(\(START_TASK \+ ([0-9]+)\)\)$/m.exec(text)?.[1] ?? 0);
  const arrayTasks = scheduler === "sge" ? size : size + 1;
  const indices: number[] = [];
  for (let k = 0; k < arrayTasks; k++) {
    const start = k * step + offset;
    indices.push(...selectIndices(`${start}:${start + step}`, numTasks));
  }
  return indices;
}

Deno.test("array limits: N = limit-1, limit, limit+1 and 10^6 fit, with a raised step and a notice in the script", async () => {
  for (const scheduler of ["sge", "slurm"] as const) {
    const limit = scheduler === "sge" ? 75000 : 1001;
    for (const numTasks of [limit - 1, limit, limit + 1, 1_000_000]) {
      const notices: string[] = [];
      const text = await clusterScript({
        scheduler,
        numTasks,
        command: ["x"],
        workDir: "/tmp",
        onNotice: (n) => notices.push(n),
      });
      const covered = coverage(scheduler, numTasks, text);
      assert.equal(covered.length, numTasks, `${scheduler} ${numTasks}`);
      assert.equal(new Set(covered).size, numTasks);
      const size = Number(
        (scheduler === "sge" ? /-t 1-([0-9]+)/ : /--array=0-([0-9]+)/).exec(text)![1],
      );
      assert.ok(
        scheduler === "sge" ? size <= limit : size <= limit - 1,
        `${scheduler} ${numTasks}: ${size}`,
      );
      if (numTasks > limit) {
        assert.equal(notices.length, 1);
        assert.match(notices[0]!, new RegExp(`array-size limit of ${limit}`));
        assert.ok(text.includes(`# ${notices[0]}`));
      } else assert.deepEqual(notices, []);
    }
  }
});

Deno.test("--split keeps the step and writes parts that together run every task exactly once on the fake", async () => {
  await withDir(async (dir) => {
    const paths = await writeClusterScripts({
      scheduler: "slurm",
      numTasks: 234,
      step: 1,
      maxArraySize: 100,
      split: true,
      command: ["/bin/sh", "-c", 'echo "$1" >> ran.txt', "rec"],
      workDir: dir,
      outputDir: "out",
    });
    assert.deepEqual(paths.map((p) => p.slice(dir.length)), [
      "/out/run-1.sh",
      "/out/run-2.sh",
      "/out/run-3.sh",
    ]);
    for (const path of paths) assert.equal(await simulate(path, dir), 0);
    const ran = (await Deno.readTextFile(`${dir}/ran.txt`)).split("\n").filter(Boolean)
      .flatMap((line) => selectIndices(line.replace("--tasks=", ""), 234));
    assert.equal(ran.length, 234);
    assert.equal(new Set(ran).size, 234);
    assert.equal((await jobStatus(`${dir}/out`)).done.length, 234);
  });
});

Deno.test("10^6 tasks on Slurm's default limit run exactly once through the fake sbatch", async () => {
  await withDir(async (dir) => {
    const path = await writeClusterScript({
      scheduler: "slurm",
      numTasks: 1_000_000,
      command: ["/bin/sh", "-c", 'echo "$1" >> ran.txt', "rec"],
      workDir: dir,
      outputDir: "out",
      onNotice: () => {},
    });
    assert.match(await Deno.readTextFile(path), /^#SBATCH --array=0-999$/m);
    assert.equal(await simulate(path, dir), 0);
    const seen = new Uint8Array(1_000_000);
    for (const line of (await Deno.readTextFile(`${dir}/ran.txt`)).split("\n").filter(Boolean)) {
      for (const i of selectIndices(line.replace("--tasks=", ""), 1_000_000)) seen[i]!++;
    }
    assert.ok(seen.every((n) => n === 1));
    const status = await jobStatus(`${dir}/out`);
    assert.equal(status.done.length, 1_000_000);
    assert.equal(status.records, 1000);
  });
});

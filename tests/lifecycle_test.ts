/**
 * The lifecycle as a specification: how records and the scheduler's answer merge into each
 * task's one state, and what submit, status, cancel and resubmit do with a scheduler that
 * answers as the real ones did (outputs from tests/real/probes/, or written in their format).
 */

import assert from "node:assert/strict";
import {
  cancel,
  estimateSecondsLeft,
  liveStatus,
  mergeStatus,
  submit,
  type SubmittedJob,
} from "../lifecycle.ts";
import { type ArrayTaskRecord, summarizeRecords } from "../records.ts";
import { TaskSet } from "../task_set.ts";
import { readSubmissions, writeClusterScript, writeClusterScripts } from "../job_dir.ts";
import type { ArrayTaskState, CommandOutput, SchedulerAnswer } from "../queries.ts";

const chunks = (...specs: [number, number[]][]) =>
  new Map(specs.map(([k, tasks]) => [k, TaskSet.of(tasks)]));
// A record whose one run has no end yet: tasks without an outcome are still running or lost.
const record = (
  jobId: string,
  arrayTaskId: number,
  tasks: number[],
  outcomes: [number, number][] = [],
): ArrayTaskRecord => ({
  jobId,
  arrayTaskId,
  runs: [{
    tasks: TaskSet.of(tasks),
    outcomes: outcomes.map(([task, status]) => ({ start: task, stop: task + 1, status })),
    ended: false,
  }],
});
const answer = (jobId: string, states: [number, ArrayTaskState][]): SchedulerAnswer => ({
  states: new Map([[jobId, new Map(states)]]),
});
const RUNNING: ArrayTaskState = { state: "running", detail: "R" };
const PENDING: ArrayTaskState = { state: "pending", detail: "Resources" };
const GONE: ArrayTaskState = { state: "finished", ok: false, detail: "CANCELLED" };
const ok = (stdout = ""): CommandOutput => ({ code: 0, stdout, stderr: "" });

Deno.test("mergeStatus() puts each task in exactly one list: done, running, pending, failed, never finished, unsubmitted", () => {
  const job: SubmittedJob = {
    jobId: "9",
    chunks: chunks([0, [0, 1]], [1, [2, 3]], [2, [4, 5]], [3, [6]], [4, [7]]),
  };
  const status = mergeStatus({
    numTasks: 10,
    submissions: [job],
    records: summarizeRecords([
      record("9", 0, [0, 1], [[0, 0], [1, 3]]), // ended: 0 done, 1 failed
      record("9", 1, [2, 3], [[2, 0]]), // still running task 3
      record("9", 3, [6]), // started, killed: the scheduler says it was cancelled
    ]),
    answer: answer("9", [[1, RUNNING], [2, PENDING], [3, GONE]]),
  });
  assert.deepEqual([...status.done], [0, 2]);
  assert.deepEqual([...status.failed], [1]);
  assert.deepEqual([...status.running], [3]);
  assert.deepEqual([...status.pending], [4, 5]);
  assert.deepEqual([...status.neverFinished], [6, 7]); // 7: submitted, never started, gone
  assert.deepEqual([...status.unsubmitted], [8, 9]);
  assert.deepEqual(status.failures, [{ index: 1, count: 1, exitCode: 3, record: "9.0" }]);
  assert.equal(status.runningArrayTasks, 1);
  assert.equal(status.pendingArrayTasks, 1);
  assert.equal(status.schedulerNote, undefined);
});

Deno.test("mergeStatus() counts a task live in a resubmission as running or pending, not failed", () => {
  const status = mergeStatus({
    numTasks: 3,
    submissions: [
      { jobId: "5", chunks: chunks([1, [0]], [2, [1]], [3, [2]]) },
      { jobId: "6", chunks: chunks([1, [1]], [2, [2]]) },
    ],
    records: summarizeRecords([
      record("5", 1, [0], [[0, 0]]),
      record("5", 2, [1], [[1, 2]]),
      record("5", 3, [2]),
    ]),
    answer: {
      states: new Map([["6", new Map<number, ArrayTaskState>([[1, RUNNING], [2, PENDING]])]]),
    },
  });
  assert.deepEqual([[...status.done], [...status.running], [...status.pending]], [[0], [1], [2]]);
  assert.deepEqual([...status.failed], []);
  assert.deepEqual([...status.neverFinished], []);
});

Deno.test("mergeStatus() never says 'never finished' when the scheduler cannot be asked", () => {
  const status = mergeStatus({
    numTasks: 4,
    submissions: [{ jobId: "5", chunks: chunks([1, [0]], [2, [1]], [3, [2]], [4, [3]]) }],
    records: summarizeRecords([record("5", 1, [0], [[0, 0]]), record("5", 2, [1])]),
    answer: { states: new Map(), unavailable: "squeue: not found on PATH" },
  });
  assert.deepEqual([...status.done], [0]);
  assert.deepEqual([...status.runningOrLost], [1]);
  assert.deepEqual([...status.pendingOrLost], [2, 3]);
  assert.deepEqual([...status.neverFinished], []);
  assert.equal(status.schedulerNote, "squeue: not found on PATH");
});

Deno.test("mergeStatus() asks about the records of a job submitted by hand", () => {
  const records = summarizeRecords([record("44", 1, [0, 1], [[0, 0]]), record("44", 2, [2, 3])]);
  const running = mergeStatus({
    numTasks: 5,
    submissions: [],
    records,
    answer: answer("44", [[1, RUNNING]]),
  });
  assert.deepEqual([[...running.done], [...running.running]], [[0], [1]]);
  assert.deepEqual([...running.neverFinished], [2, 3], "array task 2 left no end and is gone");
  assert.deepEqual([...running.unsubmitted], [4]);
});

Deno.test("estimateSecondsLeft() spreads the array tasks left over those running", () => {
  const base = mergeStatus({ numTasks: 0, submissions: [], records: summarizeRecords([]) });
  assert.equal(estimateSecondsLeft(base), undefined);
  assert.equal(
    estimateSecondsLeft({
      ...base,
      endedRuns: { count: 2, seconds: 10 },
      runningArrayTasks: 2,
      pendingArrayTasks: 10,
    }),
    28, // (10 + 2/2) * 5 s / 2
  );
});

async function withJob(
  fn: (dir: string, run: string) => Promise<void>,
  options: { scheduler?: "sge" | "slurm"; numTasks?: number; step?: number } = {},
) {
  const dir = await Deno.makeTempDir();
  try {
    const run = await writeClusterScript({
      scheduler: options.scheduler ?? "slurm",
      numTasks: options.numTasks ?? 6,
      step: options.step,
      command: ["./fit"],
      outputDir: dir,
    });
    await fn(dir, run);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("submit() records every submission and refuses a failing submit program", async () => {
  await withJob(async (dir, run) => {
    const calls: string[] = [];
    await submit(run, {
      run: (argv) => (calls.push(argv.join(" ")), Promise.resolve(ok("Submitted batch job 71\n"))),
    });
    await submit(run, {
      extraArgs: ["--parsable"],
      run: (argv) => (calls.push(argv.join(" ")), Promise.resolve(ok("72\n"))),
    });
    assert.deepEqual(calls, [`sbatch ${run}`, `sbatch --parsable ${run}`]);
    assert.deepEqual((await readSubmissions(dir)).map((s) => s.jobId), ["71", "72"]);
    await assert.rejects(
      submit(run, {
        run: () =>
          Promise.resolve({
            code: 1,
            stdout: "",
            stderr: "sbatch: error: Batch job submission failed: Invalid job array specification\n",
          }),
      }),
      /sbatch .*run\.sh exited 1: sbatch: error: Batch job submission failed/,
    );
    assert.equal((await readSubmissions(dir)).length, 2, "a failed submission is not recorded");
    await assert.rejects(submit(`${dir}/other.sh`, { run: () => Promise.resolve(ok("1\n")) }));
  });
});

Deno.test("liveStatus() reads a split job's run-K.sh chunks; asks about every submission until every task is done", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [run1, run2] = await writeClusterScripts({
      scheduler: "slurm",
      numTasks: 5,
      maxArraySize: 3,
      split: true,
      command: ["./fit"],
      outputDir: dir,
    });
    await submit(run1!, { run: () => Promise.resolve(ok("Submitted batch job 10\n")) });
    await submit(run2!, { run: () => Promise.resolve(ok("Submitted batch job 11\n")) });
    for (const [name, spec] of [["10.0", "0"], ["10.1", "1"], ["10.2", "2"]]) {
      await Deno.writeTextFile(`${dir}/records/${name}`, `start\t${spec}\t1\nend\t0\t2\n`);
    }
    const asked: string[] = [];
    const status = await liveStatus(dir, {
      run: (argv) => {
        asked.push(argv.join(" "));
        if (argv[0] === "sacct") return Promise.resolve(ok(""));
        return Promise.resolve(ok("11_0|11|0|RUNNING|None\n11_1|11|1|PENDING|Resources\n"));
      },
    });
    // Job 10's array tasks all ended, but a task is not done: job 10 may be requeued (squeue no
    // longer knows it, so accounting is asked too).
    assert.deepEqual(asked, [
      "squeue -h -r -t all -j 10,11 -o %i|%F|%K|%T|%r",
      "sacct -n -P -X -j 10 -o JobID,State,ExitCode",
    ]);
    assert.deepEqual([[...status.done], [...status.running], [...status.pending]], [
      [0, 1, 2],
      [3],
      [4],
    ]);
    // Every task done and every array task ended: nothing to ask.
    for (const [name, spec] of [["11.0", "3"], ["11.1", "4"]]) {
      await Deno.writeTextFile(`${dir}/records/${name}`, `start\t${spec}\t1\nend\t0\t2\n`);
    }
    asked.length = 0;
    const done = await liveStatus(dir, {
      run: (argv) => Promise.resolve(ok(asked.push(argv.join(" ")) ? "" : "")),
    });
    assert.deepEqual([asked, done.done.length, done.asked], [[], 5, true]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("liveStatus() reads the records after the scheduler answered: a task ending in between is done, not lost", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok("33.1-6:1\n")) });
    await Deno.writeTextFile(`${dir}/records/33.1`, "start\t0\t1\n");
    const status = await liveStatus(dir, {
      run: async (argv) => {
        if (argv[0] === "qacct") {
          return { code: 1, stdout: "", stderr: "error: job id 33 not found\n" };
        }
        assert.equal(argv[0], "qstat");
        // The array task ends while qstat runs: it is gone from qstat's answer.
        await Deno.writeTextFile(`${dir}/records/33.1`, "start\t0\t1\nend\t0\t2\n");
        return ok();
      },
    });
    assert.deepEqual([...status.done], [0]);
    assert.deepEqual([...status.neverFinished], [1, 2, 3, 4, 5]);
  }, { scheduler: "sge" });
});

Deno.test("cancel() cancels only the live array tasks holding the asked tasks", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok("Submitted batch job 20\n")) });
    const calls: string[] = [];
    const squeue = "20_0|20|0|COMPLETED|None\n20_1|20|1|RUNNING|None\n20_2|20|2|PENDING|None\n";
    const result = await cancel(dir, [0, 1, 2, 3, 5], {
      run: (argv) => {
        calls.push(argv.join(" "));
        return Promise.resolve(ok(argv[0] === "squeue" ? squeue : ""));
      },
    });
    // step 2: array task 1 holds tasks 2,3 and array task 2 holds 4,5.
    assert.deepEqual(calls.slice(1), ["scancel 20_1 20_2"]);
    assert.deepEqual([...result.cancelled], [["20", [1, 2]]]);
    assert.deepEqual([...result.tasks], [2, 3, 4, 5]);
    assert.deepEqual([...result.notLive], [0, 1]);
  }, { step: 2 });
});

Deno.test("cancel() refuses when the scheduler cannot be asked", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok("Submitted batch job 20\n")) });
    await assert.rejects(
      cancel(dir, undefined, {
        run: () => Promise.resolve({ code: 127, stdout: "", stderr: "squeue: not found on PATH" }),
      }),
      /cannot ask the scheduler what is live: squeue: not found on PATH/,
    );
  });
});

/** Runs the CLI with a stand-in `squeue` first on PATH that prints `stdout` and exits `code`. */
function cliWithSqueue(
  dir: string,
  squeue: { code: number; stdout: string; stderr?: string },
  ...args: string[]
) {
  return cliWithStandIn(dir, "squeue", squeue, ...args);
}

/** Runs the CLI with a stand-in `program` first on PATH that prints `stdout` and exits `code`. */
async function cliWithStandIn(
  dir: string,
  program: string,
  output: { code: number; stdout: string; stderr?: string },
  ...args: string[]
) {
  const bin = `${dir}/bin`;
  await Deno.mkdir(bin, { recursive: true });
  await Deno.writeTextFile(`${dir}/${program}.out`, output.stdout);
  await Deno.writeTextFile(`${dir}/${program}.err`, output.stderr ?? "");
  await Deno.writeTextFile(
    `${bin}/${program}`,
    `#!/bin/sh\ncat '${dir}/${program}.out'; cat '${dir}/${program}.err' >&2; exit ${output.code}\n`,
  );
  await Deno.chmod(`${bin}/${program}`, 0o755);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli.ts", import.meta.url).pathname, ...args],
    env: { PATH: `${bin}:${Deno.env.get("PATH")}`, NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("cli: status and resubmit while tasks run: live tasks are listed and left out", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok("Submitted batch job 20\n")) });
    await Deno.writeTextFile(`${dir}/records/20.0`, "start\t0\t1\nend\t3\t2\n");
    await Deno.writeTextFile(`${dir}/records/20.1`, "start\t1\t1\n");
    const squeue = {
      code: 0,
      stdout: "20_0|20|0|FAILED|NonZeroExitCode\n20_1|20|1|RUNNING|None\n" +
        "20_2|20|2|PENDING|Resources\n20_3|20|3|PENDING|Resources\n" +
        "20_4|20|4|CANCELLED|Resources\n",
    };
    const text = await cliWithSqueue(dir, squeue, "status", dir);
    assert.equal(text.code, 1);
    assert.match(
      text.stdout,
      /^6 tasks: 0 done, 1 failed, 1 running, 2 pending, 2 never finished, 0 unsubmitted \(2 array-task records\)$/m,
    );
    assert.match(text.stdout, /^running: 1$/m);
    assert.match(text.stdout, /^pending: 2:4$/m);
    assert.match(text.stdout, /^never finished: 4:6$/m);
    assert.match(text.stdout, /^still live: follow with arrayjob status .* --watch$/m);
    const json = JSON.parse((await cliWithSqueue(dir, squeue, "status", dir, "--json")).stdout);
    assert.deepEqual(
      [json.failed, json.running, json.pending, json.neverFinished],
      ["0", "1", "2:4", "4:6"],
    );
    const again = await cliWithSqueue(dir, squeue, "resubmit", dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /left out 3 tasks that are running or pending: 1:4;/);
    assert.match(again.stderr, /wrote .*resubmit-1\.sh: 3 tasks \(0,4:6\)/);
    const all = await cliWithSqueue(dir, squeue, "resubmit", dir, "--include-live");
    assert.match(all.stderr, /wrote .*resubmit-2\.sh: 6 tasks \(0:6\)/);
  });
});

Deno.test("cli: status when the scheduler cannot be asked says so: running or lost, not never finished", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok("Submitted batch job 20\n")) });
    await Deno.writeTextFile(`${dir}/records/20.0`, "start\t0\t1\nend\t0\t2\n");
    await Deno.writeTextFile(`${dir}/records/20.1`, "start\t1\t1\n");
    const down = {
      code: 1,
      stdout: "",
      stderr: "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
    };
    const out = await cliWithSqueue(dir, down, "status", dir);
    assert.match(out.stdout, /^the scheduler could not be asked: slurm_load_jobs error: Unable/m);
    assert.match(out.stdout, /1 running or lost, 4 pending or lost/);
    assert.match(out.stdout, / 0 never finished,/);
    const again = await cliWithSqueue(dir, down, "resubmit", dir);
    assert.match(again.stderr, /left out 5 tasks that are running or pending or may be/);
    assert.match(again.stderr, /nothing to resubmit/);
    const cancelled = await cliWithSqueue(dir, down, "cancel", dir);
    assert.equal(cancelled.code, 1);
    assert.match(cancelled.stderr, /^arrayjob: cannot ask the scheduler what is live: /);
  });
});

Deno.test("liveStatus() judges records as jobStatus does: after a reports line, done needs the task's own line", async () => {
  await withJob(async (dir) => {
    // runTasks reported tasks 0 and 1, then the process ended with exit 0.
    await Deno.writeTextFile(
      `${dir}/records/5.1`,
      "start\t0:6\t1\nreports\trunTasks\ntask\t0\t0\t1\ntask\t1\t2\t1\nend\t0\t2\n",
    );
    const status = await liveStatus(dir);
    assert.equal(String(status.done), "0");
    assert.equal(String(status.failed), "1");
    assert.equal(String(status.neverFinished), "2:6", "ended without reporting: never finished");
    assert.deepEqual(status.failures.map((f) => [f.index, f.exitCode, f.record]), [[1, 2, "5.1"]]);
  });
});

Deno.test("cli: status of a 10^9-task job: lists capped at 20 ranges, --json gives every range", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok("Submitted batch job 20\n")) });
    const step = 1e6;
    for (let k = 0; k < 1000; k++) {
      const [a, b] = [k * step, (k + 1) * step];
      // Every 30th array task failed; the last one is still running (or lost).
      const end = k === 999 ? "" : `end\t${k % 30 === 1 ? 4 : 0}\t2\n`;
      await Deno.writeTextFile(`${dir}/records/20.${k}`, `start\t${a}:${b}\t1\n${end}`);
    }
    const down = { code: 1, stdout: "", stderr: "slurm_load_jobs error: Unable to contact\n" };
    const text = await cliWithSqueue(dir, down, "status", dir);
    assert.equal(text.code, 1, text.stderr);
    assert.match(
      text.stdout,
      /^1000000000 tasks: 965000000 done, 34000000 failed, 0 running, 0 pending, 0 never finished, 0 unsubmitted, 1000000 running or lost \(1000 array-task records\)$/m,
    );
    const failedLine = text.stdout.split("\n").find((line) => line.startsWith("failed: "))!;
    assert.match(failedLine, /^failed: 1000000:2000000,31000000:32000000,.*,… \(14 more ranges\)$/);
    assert.match(text.stdout, /^ {2}… and 14 more \(--json lists all\)$/m);
    assert.ok(Math.max(...text.stdout.split("\n").map((l) => l.length)) < 1000, "no long lines");
    const json = JSON.parse((await cliWithSqueue(dir, down, "status", dir, "--json")).stdout);
    assert.equal(json.failed.split(",").length, 34);
    assert.equal(json.failures.length, 34);
    assert.deepEqual(json.failures[0], {
      index: 1e6,
      count: 1e6,
      exitCode: 4,
      record: "20.1",
    });
    assert.equal(json.runningOrLost, "999000000:1000000000");
  }, { numTasks: 1e9, step: 1e6 });
});

Deno.test("cli: status with a stopped qmaster's qstat on PATH: unsure, never 'still live', running or lost", async () => {
  await withJob(async (dir, run) => {
    await submit(run, { run: () => Promise.resolve(ok('Your job-array 31.1-6:1 ("run.sh")\n')) });
    await Deno.writeTextFile(`${dir}/records/31.1`, "start\t0\t1\nend\t0\t2\n");
    await Deno.writeTextFile(`${dir}/records/31.2`, "start\t1\t1\n");
    // What qstat prints when its qmaster is down (no stdout, exit 1).
    const down = {
      code: 1,
      stdout: "",
      stderr: "error: commlib error: got select error (Connection refused)\n" +
        'unable to contact qmaster using port 6444 on host "node1"\n',
    };
    const out = await cliWithStandIn(dir, "qstat", down, "status", dir);
    assert.equal(out.code, 1);
    const lines = out.stdout.split("\n");
    assert.equal(
      lines.filter((l) => l.startsWith("the scheduler could not be asked")).length,
      1,
      out.stdout,
    );
    assert.match(
      out.stdout,
      /^the scheduler could not be asked: error: commlib error: got select/m,
    );
    assert.match(
      out.stdout,
      /0 running, 0 pending, 0 never finished, 0 unsubmitted, 1 running or lost, 4 pending or lost/,
    );
    assert.match(out.stdout, /^running or lost: 1$/m);
    assert.doesNotMatch(out.stdout, /still live|^running: |^pending: /m);
    assert.match(out.stdout, /^unsure what is live: ask again when the scheduler answers$/m);
  }, { scheduler: "sge" });
});

Deno.test("cli: status --watch of a job submitted by hand shows no elapsed time (none is known)", async () => {
  await withJob(async (dir) => {
    await Deno.writeTextFile(`${dir}/records/40.0`, "start\t0\t1\nend\t0\t2\n");
    await Deno.writeTextFile(`${dir}/records/40.1`, "start\t1\t1\nend\t0\t5\n");
    const squeue = {
      code: 1,
      stdout: "",
      stderr: "slurm_load_jobs error: Invalid job id specified\n",
    };
    const out = await cliWithSqueue(dir, squeue, "status", dir, "--watch", "--interval", "0.1");
    const line = out.stdout.split("\n")[0]!;
    assert.match(line, /^\d\d:\d\d:\d\d 6 tasks: 2 done, /, out.stdout + out.stderr);
    assert.doesNotMatch(line, /elapsed/);
  });
});

Deno.test('cli: cancel --tasks "" on a 10^9-task job holds ranges, never a list of the tasks', async () => {
  await withJob(async (dir) => {
    // A heap of 64 MB: a list of 10^9 indices cannot fit in it.
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--max-old-space-size=64",
        new URL("../cli.ts", import.meta.url).pathname,
        "cancel",
        dir,
        "--tasks",
        "",
      ],
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.match(stdout, /^nothing running or pending to cancel$/m);
    assert.match(stdout, /^not running or pending: 0:1000000000$/m);
  }, { numTasks: 1e9, step: 1e6 });
});

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
import type { ArrayTaskRecord } from "../job_dir.ts";
import { readSubmissions, writeClusterScript, writeClusterScripts } from "../job_dir.ts";
import type { ArrayTaskState, CommandOutput, SchedulerAnswer } from "../queries.ts";

const chunks = (...specs: [number, number[]][]) => new Map(specs);
const record = (
  jobId: string,
  arrayTaskId: number,
  tasks: number[],
  outcomes: [number, number][] = [],
): ArrayTaskRecord => ({ jobId, arrayTaskId, runs: [{ tasks, outcomes: new Map(outcomes) }] });
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
    records: [
      record("9", 0, [0, 1], [[0, 0], [1, 3]]), // ended: 0 done, 1 failed
      record("9", 1, [2, 3], [[2, 0]]), // still running task 3
      record("9", 3, [6]), // started, killed: the scheduler says it was cancelled
    ],
    answer: answer("9", [[1, RUNNING], [2, PENDING], [3, GONE]]),
  });
  assert.deepEqual(status.done, [0, 2]);
  assert.deepEqual(status.failed, [1]);
  assert.deepEqual(status.running, [3]);
  assert.deepEqual(status.pending, [4, 5]);
  assert.deepEqual(status.neverFinished, [6, 7]); // 7: submitted, never started, gone
  assert.deepEqual(status.unsubmitted, [8, 9]);
  assert.deepEqual([...status.exitCodes], [[1, 3]]);
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
    records: [record("5", 1, [0], [[0, 0]]), record("5", 2, [1], [[1, 2]]), record("5", 3, [2])],
    answer: {
      states: new Map([["6", new Map<number, ArrayTaskState>([[1, RUNNING], [2, PENDING]])]]),
    },
  });
  assert.deepEqual([status.done, status.running, status.pending], [[0], [1], [2]]);
  assert.deepEqual(status.failed, []);
  assert.deepEqual(status.neverFinished, []);
});

Deno.test("mergeStatus() never says 'never finished' when the scheduler cannot be asked", () => {
  const status = mergeStatus({
    numTasks: 4,
    submissions: [{ jobId: "5", chunks: chunks([1, [0]], [2, [1]], [3, [2]], [4, [3]]) }],
    records: [record("5", 1, [0], [[0, 0]]), record("5", 2, [1])],
    answer: { states: new Map(), unavailable: "squeue: not found on PATH" },
  });
  assert.deepEqual(status.done, [0]);
  assert.deepEqual(status.runningOrLost, [1]);
  assert.deepEqual(status.pendingOrLost, [2, 3]);
  assert.deepEqual(status.neverFinished, []);
  assert.equal(status.schedulerNote, "squeue: not found on PATH");
});

Deno.test("mergeStatus() asks about the records of a job submitted by hand", () => {
  const records = [record("44", 1, [0, 1], [[0, 0]]), record("44", 2, [2, 3])];
  const running = mergeStatus({
    numTasks: 5,
    submissions: [],
    records,
    answer: answer("44", [[1, RUNNING]]),
  });
  assert.deepEqual([running.done, running.running], [[0], [1]]);
  assert.deepEqual(running.neverFinished, [2, 3], "array task 2 left no end and is gone");
  assert.deepEqual(running.unsubmitted, [4]);
});

Deno.test("estimateSecondsLeft() spreads the array tasks left over those running", () => {
  const base = mergeStatus({ numTasks: 0, submissions: [], records: [] });
  assert.equal(estimateSecondsLeft(base), undefined);
  assert.equal(
    estimateSecondsLeft({
      ...base,
      durations: [4, 6],
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

Deno.test("liveStatus() reads a split job's run-K.sh chunks and asks squeue about unfinished submissions only", async () => {
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
        return Promise.resolve(ok("11_0|11|0|RUNNING|None\n11_1|11|1|PENDING|Resources\n"));
      },
    });
    assert.deepEqual(asked, ["squeue -h -r -t all -j 11 -o %i|%F|%K|%T|%r"]);
    assert.deepEqual([status.done, status.running, status.pending], [[0, 1, 2], [3], [4]]);
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
    assert.deepEqual(status.done, [0]);
    assert.deepEqual(status.neverFinished, [1, 2, 3, 4, 5]);
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
    assert.deepEqual(result.tasks, [2, 3, 4, 5]);
    assert.deepEqual(result.notLive, [0, 1]);
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

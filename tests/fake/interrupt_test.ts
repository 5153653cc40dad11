/**
 * An interrupted or killed fake (cleanup.ts, report.ts `watchRun`, local_runs.ts `localRuns`):
 * SIGINT/SIGTERM stop every task with everything it started, then the summary of what finished,
 * failed and never finished, exit 130/143; after a SIGKILL of the fake, `arrayjob status` says the
 * run was lost and which array tasks ran on unsupervised.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { writeClusterScript } from "../../job_dir.ts";
import { jobStatus } from "../../status.ts";
import { localRuns } from "../../local_runs.ts";
import { BIN, tempDir } from "../fixtures/fake/helpers.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lines(path: string): Promise<string[]> {
  return (await Deno.readTextFile(path).catch(() => "")).split("\n").filter(Boolean);
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 20000): Promise<void> {
  for (let waited = 0; !(await ok()); waited += 50) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${signal} to the fake stops each task's background and orphaned children too, then summarises, exit ${code}`, async () => {
    // Each task leaves a background child and, through a shell that exits, an orphan adopted by
    // init; both would write a file after a second, long after the fake reported them unfinished.
    const dir = await tempDir({
      "s.sh": "#$ -t 1-5\n#$ -cwd\n#$ -o o.$TASK_ID\n#$ -j y\n" +
        "[ $SGE_TASK_ID = 1 ] && exit 0\n[ $SGE_TASK_ID = 2 ] && exit 3\n" +
        "( sleep 1; touch late.$SGE_TASK_ID ) &\n" +
        "sh -c '( sleep 1; touch orphan.'$SGE_TASK_ID' ) &'\n" +
        "echo $SGE_TASK_ID >> started\nsleep 30\n",
    });
    const fake = new Deno.Command(join(BIN, "qsub"), {
      args: ["-sync", "y", "--slots", "2", "s.sh"],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await waitFor("two tasks running", async () => (await lines(join(dir, "started"))).length >= 2);
    await sleep(100);
    fake.kill(signal);
    const { code: exit, stderr } = await fake.output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(exit, code, err);
    assert.match(
      err,
      /interrupted: job \d+ \("s\.sh"\): 2 array task\(s\) finished, 1 ok, 1 failed: 2; 3 never finished: 3-5 \(killed: 3-4\)/,
    );
    await sleep(2000);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) =>
      /^(late|orphan)/.test(n)
    );
    assert.deepEqual(left, [], "a task's children went on after the fake reported it unfinished");
  });
}

Deno.test(`after a SIGKILL of the fake, status says the run was lost and which array tasks ran on unsupervised`, async () => {
  const dir = await tempDir();
  const out = join(dir, "job");
  // Array task 1 ends at once; 2 and 3 outlive the fake and then succeed on their own.
  const script = await writeClusterScript({
    numTasks: 3,
    command: ["sh", "-c", 'case "$1" in *0:1*) exit 0;; esac; sleep 2', "sh"],
    outputDir: out,
  });
  const fake = new Deno.Command(join(BIN, "qsub"), {
    args: ["-sync", "y", "--slots", "3", script],
    cwd: dir,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const journal = async () => {
    const names = [...Deno.readDirSync(join(out, "records"))].map((e) => e.name);
    const run = names.find((n) => n.startsWith("run."));
    return run === undefined ? [] : await lines(join(out, "records", run));
  };
  await waitFor("three starts and one end in the journal", async () => {
    const j = await journal();
    return j.filter((l) => l.startsWith("start")).length === 3 &&
      j.some((l) => l.startsWith("end"));
  });
  fake.kill("SIGKILL");
  await fake.status;
  const [lost] = await localRuns(out);
  assert.equal(lost.state, "lost");
  assert.deepEqual(lost.unsupervised, [2, 3]);
  assert.deepEqual(lost.stillRunning, [2, 3]);
  // Once the orphans end, their records say done: status shows them done, and says how.
  await waitFor("the orphans' end records", async () => (await jobStatus(out)).done.length === 3);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, "status", out],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(status.stdout);
  assert.match(text, /3 tasks: 3 done/);
  assert.match(
    text,
    /the local run of job \d+ \(pid \d+, started [^)]+\) was lost before it ended: array tasks 2,3 ran on unsupervised;/,
  );
});

Deno.test(`a run that ends normally leaves no journal: status has no local runs`, async () => {
  const dir = await tempDir();
  const out = join(dir, "job");
  const script = await writeClusterScript({ numTasks: 2, command: ["true"], outputDir: out });
  const fake = await new Deno.Command(join(BIN, "qsub"), {
    args: ["-sync", "y", script],
    cwd: dir,
    stdout: "null",
    stderr: "null",
  }).output();
  assert.equal(fake.code, 0);
  assert.deepEqual(await localRuns(out), []);
  assert.equal((await jobStatus(out)).done.length, 2);
});

Deno.test(`after Ctrl-C of 'arrayjob simulate', status counts the array tasks that never ran as never finished, not unsubmitted`, async () => {
  const dir = await tempDir();
  const out = join(dir, "job");
  // Task 0 ends at once; the others sleep until the interrupt; with 2 slots, 3:6 never start.
  const script = await writeClusterScript({
    numTasks: 6,
    command: [
      "sh",
      "-c",
      `case "$*" in *0:1*) exit 0;; esac; echo "$*" >> '${dir}/started'; sleep 30`,
      "sh",
    ],
    outputDir: out,
  });
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const fake = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "simulate", script, "--slots", "2"],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  await waitFor("two tasks sleeping", async () => (await lines(join(dir, "started"))).length >= 2);
  await sleep(100);
  fake.kill("SIGINT");
  const { code, stderr } = await fake.output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 130, err);
  assert.match(err, /arrayjob tasks: 1 done, 0 failed, 5 never finished: 1:6/);
  const status = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, "status", out],
    cwd: dir,
    stdout: "piped",
    env: { PATH: "/usr/bin:/bin" }, // no scheduler to ask: the journal answers for the run
  }).output();
  const text = new TextDecoder().decode(status.stdout);
  assert.equal(status.code, 1, text);
  assert.match(
    text,
    /^6 tasks: 1 done, 0 failed, 0 running, 0 pending, 5 never finished, 0 unsubmitted /m,
  );
  assert.match(text, /^never finished: 1:6$/m);
  assert.match(text, /was interrupted: it stopped the array tasks it had started/);
  assert.match(text, /^run them again: arrayjob resubmit /m);
  assert.doesNotMatch(text, /unsubmitted:|could not be asked/);
});

/**
 * status.ts as a specification: how the runs of every record combine into each task's outcome
 * (recordsVerdict), and a job's status (jobStatus, scriptChunks, failureLogs). A task is done only when a run succeeded at it; sets are
 * ranges, so a job of 10^9 tasks costs the memory of its ranges.
 */

import assert from "node:assert/strict";
import { readManifest, writeClusterScript } from "../job_dir.ts";
import { type ArrayTaskRecord, parseRecord, summarizeRecords } from "../records.ts";
import { failureLogs, jobStatus, recordsVerdict, scriptChunks } from "../status.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("arrayjob-status-", fn);

const verdictOf = (numTasks: number, records: Record<string, string>) =>
  recordsVerdict(
    numTasks,
    summarizeRecords(
      Object.entries(records).map(([name, text]): ArrayTaskRecord => {
        const [jobId, arrayTaskId] = name.split(".");
        return {
          jobId: jobId!,
          arrayTaskId: Number(arrayTaskId),
          runs: parseRecord(text, numTasks),
        };
      }),
    ),
  );
const sets = (v: ReturnType<typeof verdictOf>) => [v.done, v.failed, v.neverFinished].map(String);

Deno.test("recordsVerdict(): done once any run succeeded; failed keeps the latest failure; the rest never finished", () => {
  const verdict = verdictOf(8, {
    "5.1": "start\t0:4\t1\nend\t2\t2\n", // 0:4 failed with 2
    "5.2": "start\t4:6\t1\n", // killed: 4, 5 never finished
    "6.1": "start\t0:2\t1\nend\t0\t2\n", // resubmitted: 0, 1 done
    "6.2": "start\t3\t1\nend\t9\t2\n", // 3 failed again, with 9
  });
  assert.deepEqual(sets(verdict), ["0:2", "2:4", "4:8"]);
  assert.deepEqual(verdict.failures, [
    { index: 2, count: 1, exitCode: 2, record: "5.1" },
    { index: 3, count: 1, exitCode: 9, record: "6.2" },
  ]);
});

Deno.test("recordsVerdict(): every task is in exactly one set, for 10^9 tasks with a few failures", () => {
  const verdict = verdictOf(1e9, {
    "7.1": "start\t0:500000000\t1\nend\t0\t2\n",
    "7.2": "start\t500000000:1000000000\t1\ntask\t500000000\t4\t1\ntask\t500000001\t0\t1\n",
  });
  assert.deepEqual(sets(verdict), ["0:500000000,500000001", "500000000", "500000002:1000000000"]);
  assert.equal(verdict.done.length + verdict.failed.length + verdict.neverFinished.length, 1e9);
});

Deno.test("jobStatus() of a 10^9-task job reads ranges: a few failures, in well under a second", () =>
  withDir(async (dir) => {
    const numTasks = 1e9, step = 1e6;
    await writeClusterScript({ numTasks, step, command: ["./fit"], outputDir: dir });
    for (let k = 0; k < 1000; k++) {
      const exit = k === 17 ? 3 : 0;
      await Deno.writeTextFile(
        `${dir}/records/4.${k + 1}`,
        k === 999
          ? `start\t${k * step}:${(k + 1) * step}\t1\n`
          : `start\t${k * step}:${(k + 1) * step}\t1\nend\t${exit}\t2\n`,
      );
    }
    const started = performance.now();
    const status = await jobStatus(dir);
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
    assert.equal(status.done.length, 998e6);
    assert.equal(String(status.failed), "17000000:18000000");
    assert.equal(String(status.neverFinished), "999000000:1000000000");
    assert.equal(status.records, 1000);
  }));

Deno.test("scriptChunks() gives each array task's tasks as ranges, from the plan or a chunk map", () =>
  withDir(async (dir) => {
    const run = await writeClusterScript({
      scheduler: "slurm",
      numTasks: 1e9,
      step: 1e6,
      command: ["./fit"],
      outputDir: dir,
    });
    const chunks = await scriptChunks(dir, await readManifest(dir), run);
    assert.equal(chunks.size, 1000);
    assert.equal(String(chunks.get(0)), "0:1000000");
    assert.equal(String(chunks.get(999)), "999000000:1000000000");
    await Deno.writeTextFile(`${dir}/resubmit-1.chunks`, "3:5,9:10\n7:8\n");
    await Deno.writeTextFile(`${dir}/resubmit-1.sh`, "#!/bin/sh\n");
    const again = await scriptChunks(dir, await readManifest(dir), `${dir}/resubmit-1.sh`);
    assert.deepEqual([...again].map(([k, t]) => [k, String(t)]), [[0, "3:5,9"], [1, "7"]]);
    await Deno.writeTextFile(`${dir}/resubmit-1.chunks`, "3:x\n");
    await assert.rejects(
      scriptChunks(dir, await readManifest(dir), `${dir}/resubmit-1.sh`),
      /invalid task spec/,
    );
  }));

Deno.test("failureLogs() names the log of the array task that failed last, when it exists", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 4, jobName: "fit", command: ["./fit"], outputDir: dir });
    await Deno.writeTextFile(`${dir}/fit.o3.1`, "Traceback\n");
    const failures = await failureLogs(dir, await readManifest(dir), [
      { index: 0, count: 1, exitCode: 1, record: "3.1" },
      { index: 2, count: 2, exitCode: 1, record: "3.2" },
    ]);
    assert.deepEqual(failures.map((f) => f.log), [`${dir}/fit.o3.1`, undefined]);
  }));

Deno.test("jobStatus: once a run reports any task, only tasks with their own done line are done", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 12, step: 3, command: ["./fit"], outputDir: dir });
    const records: Record<string, string> = {
      // Reported task 0, then ended the process with exit 0: 1 and 2 did not succeed.
      "7.1": "start\t0:3\t1\nreports\trunTasks\ntask\t0\t0\t5\nend\t0\t2\n",
      // Declared reporting and exited 0 before its first task: none is done.
      "7.2": "start\t3:6\t1\nreports\tpython\nend\t0\t2\n",
      // A task line without the declaration counts the same; exit 1 fails the unreported ones.
      "7.3": "start\t6:9\t1\ntask\t7\t0\t5\nend\t1\t2\n",
      // Reporting nothing: the exit status is every task's.
      "7.4": "start\t9:12\t1\nend\t0\t2\n",
    };
    for (const [name, text] of Object.entries(records)) {
      await Deno.writeTextFile(`${dir}/records/${name}`, text);
    }
    const status = await jobStatus(dir);
    assert.deepEqual([...status.done], [0, 7, 9, 10, 11]);
    assert.deepEqual([...status.failed], [6, 8]);
    assert.deepEqual([...status.neverFinished], [1, 2, 3, 4, 5]);
  }));

Deno.test("jobStatus: each START:STOP run of a chunk is judged on its own", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 10, command: ["./fit"], outputDir: dir });
    await Deno.writeTextFile(
      `${dir}/records/8.1`,
      "start\t1:3\t1\nend\t0\t2\nstart\t5:6\t2\nend\t3\t3\nstart\t8:10\t3\nend\t0\t4\n",
    );
    const status = await jobStatus(dir);
    assert.deepEqual([...status.done], [1, 2, 8, 9]);
    assert.deepEqual([...status.failed], [5]);
  }));

Deno.test("a job whose template keeps no records is not tracked: the fake and status say so, never 'never finished' or done", async () => {
  await withDir(async (dir) => {
    const out = `${dir}/job`;
    // The seed's shape: array directives and the command, no {{#record_dir}} block.
    const template = "#!/bin/sh\n#$ -t 1-{{{num_array_tasks}}}\n#$ -cwd\n#$ -o {{{output_dir}}}\n" +
      "#$ -j y\nSTEP_SIZE={{{step}}}\n{{{script_file}}}\n";
    await Deno.writeTextFile(`${dir}/t.mustache`, template);
    const cli = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../cli.ts", import.meta.url).pathname, ...args],
        cwd: dir,
        env: { PATH: "/usr/bin:/bin" }, // no scheduler to ask
      }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    const rendered = await cli(
      "script",
      "--template",
      `${dir}/t.mustache`,
      "--num-tasks",
      "6",
      "--step",
      "2",
      "--output-dir",
      out,
      "--",
      "true",
    );
    assert.equal(rendered.code, 0, decode(rendered.stderr));
    assert.deepEqual(String((await jobStatus(out)).untracked), "0:6");
    assert.equal((await jobStatus(out)).neverFinished.length, 0);
    const ran = await cli("simulate", `${out}/run.sh`);
    const err = decode(ran.stderr);
    assert.equal(ran.code, 0, err);
    assert.match(
      err,
      /arrayjob tasks: not tracked: the job's template keeps no records \(no \{\{#record_dir\}\} block\), so whether its 6 tasks succeeded is unknown$/m,
    );
    assert.doesNotMatch(err, /never finished|resubmit/);
    const status = await cli("status", out);
    const text = decode(status.stdout);
    assert.equal(status.code, 1, "not 0: nothing is known to be done");
    assert.match(
      text,
      /^6 tasks: 0 done, 0 failed, 0 running, 0 pending, 0 never finished, 0 unsubmitted, 6 not tracked /m,
    );
    assert.match(
      text,
      /^not tracked: the job's template keeps no records \(no \{\{#record_dir\}\} block\), so whether 0:6 succeeded is unknown$/m,
    );
    assert.doesNotMatch(text, /run them again|^never finished|^unsubmitted/m);
    const json = JSON.parse(decode((await cli("status", out, "--json")).stdout));
    assert.deepEqual([json.done, json.neverFinished, json.untracked], [0, "", "0:6"]);
    const again = await cli("resubmit", out);
    assert.equal(again.code, 2);
    assert.match(
      decode(again.stderr),
      /^arrayjob: cannot resubmit .*: its template keeps no records/,
    );
  });
});

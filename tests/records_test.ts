/**
 * records.ts as a specification: what a record means for its tasks (parseRecord), and reading a
 * job's records (readRecords): a finished record is read once and its summary kept, a rerun of an
 * array task has its own file, an unchanged records/ is not listed again, and many records read
 * with helper workers say what each says.
 */

import assert from "node:assert/strict";
import { writeClusterScript } from "../job_dir.ts";
import {
  type ArrayTaskRecord,
  FINISHED_SUMMARY,
  parseRecord,
  readRecords,
  summarizeRecords,
} from "../records.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("arrayjob-records-", fn);

Deno.test("parseRecord(): without task lines, the exit status is every task's", () => {
  const [ok, failed] = parseRecord("start\t0:3\t10\nend\t0\t12.5\nstart\t5\t20\nend\t2\t21\n", 10);
  assert.deepEqual(ok, {
    tasks: ok!.tasks,
    outcomes: [{ start: 0, stop: 3, status: 0 }],
    ended: true,
    seconds: 2.5,
  });
  assert.equal(String(ok!.tasks), "0:3");
  assert.deepEqual(failed!.outcomes, [{ start: 5, stop: 6, status: 2 }]);
});

Deno.test("parseRecord(): with a reports or task line, a task is done only with its own status-0 line", () => {
  // Exit 0 after reporting task 0 only (the program ended the process early): 1 and 2 have no
  // outcome. Exit 3: the unreported tasks failed with it.
  const [early] = parseRecord("start\t0:3\t1\nreports\trunTasks\ntask\t0\t0\t5\nend\t0\t2\n", 9);
  assert.deepEqual(early!.outcomes, [{ start: 0, stop: 1, status: 0 }]);
  assert.equal(early!.ended, true);
  const [crashed] = parseRecord("start\t3:6\t1\ntask\t4\t0\t5\nend\t3\t2\n", 9);
  assert.deepEqual(crashed!.outcomes, [
    { start: 3, stop: 4, status: 3 },
    { start: 4, stop: 5, status: 0 },
    { start: 5, stop: 6, status: 3 },
  ]);
  const [silent] = parseRecord("start\t6:9\t1\nreports\tpython\nend\t0\t2\n", 9);
  assert.deepEqual(silent!.outcomes, [], "declared reporting, reported nothing: none done");
});

Deno.test("parseRecord(): a start without its end leaves its unreported tasks without an outcome", () => {
  const runs = parseRecord("start\t0:4\t1\ntask\t0\t0\t5\ntask\t1\t1\t5\nstart\t0:4\t9\n", 4);
  assert.equal(runs.length, 2, "a requeued array task: two runs");
  assert.deepEqual(runs[0]!.outcomes, [{ start: 0, stop: 1, status: 0 }, {
    start: 1,
    stop: 2,
    status: 1,
  }]);
  assert.deepEqual([runs[0]!.ended, runs[1]!.ended], [false, false]);
  assert.equal(runs[1]!.seconds, undefined);
});

Deno.test("parseRecord(): torn and corrupt lines are skipped, task lines outside the spec ignored", () => {
  const text = [
    "task\t0\t0\t1", // before any start: belongs to no run
    "start\t2:4\t1",
    "tas", // a torn write
    "task\tx\t0\t1", // not an index
    "task\t9\t0\t1", // not this run's task
    "task\t2\t0", // no milliseconds: still the task's status
    "end\t0", // no uptime
    "",
  ].join("\n");
  const [run] = parseRecord(text, 10);
  assert.deepEqual(run!.outcomes, [{ start: 2, stop: 3, status: 0 }], "3: unreported, exit 0");
  assert.equal(run!.ended, true);
  assert.deepEqual(parseRecord("start\t0:2:0\t1\nend\t0\t2\n", 4)[0]!.outcomes, [], "bad spec");
  assert.deepEqual(parseRecord("start\t7\t1\nend\t0\t2\n", 4)[0]!.outcomes, [], "another list");
});

Deno.test("parseRecord(): a run of 10^9 tasks is one range, and its own lines merge into ranges", () => {
  const lines = ["start\t0:1000000000\t1", "reports\trunTasks"];
  for (let i = 0; i < 1000; i++) lines.push(`task\t${i}\t${i === 500 ? 1 : 0}\t1`);
  const [run] = parseRecord(lines.join("\n") + "\nend\t1\t2\n", 1e9);
  assert.deepEqual(run!.outcomes, [
    { start: 0, stop: 500, status: 0 },
    { start: 500, stop: 501, status: 1 },
    { start: 501, stop: 1000, status: 0 },
    { start: 1000, stop: 1e9, status: 1 },
  ]);
});

const write = (dir: string, name: string, text: string) =>
  Deno.writeTextFileSync(`${dir}/records/${name}`, text);
// records/ as last changed long ago: a listing of it is trusted while it keeps that time.
const settle = (dir: string) => Deno.utimeSync(`${dir}/records`, 1e9, 1e9);

Deno.test("readRecords(): a finished record (its exit line) is read once; an unfinished one every time", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir });
    write(dir, "7.0", "start\t0\t1\nend\t0\t2\nexit\t0\n");
    write(dir, "7.1", "start\t1\t1\nend\t0\t2\n"); // ended, not finished: more may come
    write(dir, "run.7", "a run journal, not a record\n");
    const first = await readRecords(dir, 4);
    assert.equal(String(first.done), "0:2");
    assert.deepEqual([first.unfinished, first.otherFiles], [["7.1"], ["run.7"]]);
    // Were 7.0 read again, it would now say failed; its kept summary says done.
    write(dir, "7.0", "start\t0\t1\nend\t3\t2\nexit\t3\n");
    write(dir, "7.1", "start\t1\t1\nend\t0\t2\nstart\t1\t5\nend\t4\t6\nexit\t4\n");
    const second = await readRecords(dir, 4);
    assert.equal(String(second.done), "0:2");
    assert.deepEqual(second.failures.map((f) => f.record), ["7.1"], "7.1 read again");
    assert.equal(second.count, 2);
    // A removed record makes the kept summary stale: every record is read again.
    await Deno.remove(`${dir}/records/7.1`);
    const third = await readRecords(dir, 4);
    assert.equal(String(third.done), "");
    assert.deepEqual(third.failures.map((f) => [f.start, f.status]), [[0, 3]]);
    assert.equal(third.count, 1);
    assert.equal((await readRecords(`${dir}/nowhere`, 4)).count, 0);
  }));

Deno.test("readRecords(): a rerun's own file; the newest file of an array task says whether it ended", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir });
    write(dir, "7.2", "start\t2\t1\nend\t1\t2\nexit\t1\n"); // failed, then requeued:
    write(dir, "7.2.2", "start\t2\t5\n"); // running again
    write(dir, "7.3.2", "start\t3\t5\nend\t0\t6\nexit\t0\n"); // its first file lost
    for (let read = 0; read < 2; read++) {
      const records = await readRecords(dir, 4);
      assert.equal(String(records.done), "3");
      assert.equal(String(records.ended.get("7")), "3");
      assert.equal(String(records.open.get("7")!.get(2)), "2");
      assert.deepEqual(records.failures.map((f) => f.record), ["7.2"]);
      assert.equal(records.count, 2, "array tasks 2 and 3");
    }
  }));

Deno.test("readRecords(): an unchanged records/ is not listed again; a new file changes its time", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir });
    write(dir, "7.0", "start\t0\t1\nend\t0\t2\nexit\t0\n");
    settle(dir);
    assert.equal((await readRecords(dir, 4)).count, 1);
    const kept = JSON.parse(await Deno.readTextFile(`${dir}/${FINISHED_SUMMARY}`));
    assert.equal(kept.listing.mtime, 1e12);
    // A file slipped in while the time stayed: not listed, so not seen (the time is the proof).
    write(dir, "7.1", "start\t1\t1\nend\t0\t2\nexit\t0\n");
    settle(dir);
    assert.equal((await readRecords(dir, 4)).count, 1);
    // Any real change moves the time: listed and read.
    Deno.utimeSync(`${dir}/records`, 2e9, 2e9);
    assert.equal(String((await readRecords(dir, 4)).done), "0:2");
    // A listing of a directory changed in the last seconds is not kept.
    write(dir, "7.2", "start\t2\t1\nend\t0\t2\nexit\t0\n");
    assert.equal(String((await readRecords(dir, 4)).done), "0:3");
    const recent = JSON.parse(await Deno.readTextFile(`${dir}/${FINISHED_SUMMARY}`));
    assert.equal(recent.listing, undefined);
  }));

Deno.test("readRecords(): 6000 records, read by this thread and helper workers, say what each says", () =>
  withDir(async (dir) => {
    const n = 6000;
    await writeClusterScript({ numTasks: n, command: ["./fit"], outputDir: dir });
    const records: ArrayTaskRecord[] = [];
    for (let k = 0; k < n; k++) {
      const exit = k % 7 === 3 ? 2 : 0;
      const text = k % 1000 === 9
        ? `start\t${k}\t1\n` // killed
        : `start\t${k}\t1\nend\t${exit}\t${1 + k % 5}\nexit\t${exit}\n`;
      write(dir, `8.${k}`, text);
      records.push({ jobId: "8", arrayTaskId: k, runs: parseRecord(text, n) });
    }
    const expected = summarizeRecords(records);
    for (let read = 0; read < 2; read++) { // the second from the kept summary
      const got = await readRecords(dir, n);
      assert.deepEqual(
        [got.count, String(got.done), String(got.started), got.endedRuns, got.failures.length],
        [
          n,
          String(expected.done),
          String(expected.started),
          expected.endedRuns,
          expected.failures.length,
        ],
      );
      assert.deepEqual(got.failures.map((f) => f.record), expected.failures.map((f) => f.record));
      assert.equal(String(got.ended.get("8")), String(expected.ended.get("8")));
      assert.deepEqual([...got.open.get("8")!.keys()], [...expected.open.get("8")!.keys()]);
    }
  }));

Deno.test("readRecords() again: reads the unfinished records and the names asked about, without a listing", () =>
  withDir(async (dir) => {
    await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir });
    write(dir, "7.0", "start\t0\t1\n");
    const first = await readRecords(dir, 4);
    write(dir, "7.0", "start\t0\t1\nend\t0\t2\nexit\t0\n");
    write(dir, "7.1", "start\t1\t1\nend\t0\t2\nexit\t0\n");
    write(dir, "7.2", "start\t2\t1\nend\t0\t2\nexit\t0\n");
    const again = await readRecords(dir, 4, first, ["7.1", "7.3"]);
    assert.equal(String(again.done), "0:2", "7.2 was neither unfinished nor asked about");
    assert.equal(again.count, 2);
  }));

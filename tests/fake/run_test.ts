/**
 * The slot loop and the start of an array task (run.ts, start.ts, logs.ts, tmp.ts, cleanup.ts):
 * what a task sees (environment, argv, cwd, logs, TMP), how it ends (exit codes, signals,
 * 126/127, unopenable logs), time limits, slot sharing, and that an interrupted fake takes its
 * tasks down with it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { ArrayTask, Job } from "../../fake_scheduler/job.ts";
import { runArrayJob, SlotPool } from "../../fake_scheduler/run.ts";
import { BIN, mostAtOnce, tempDir } from "../fixtures/fake/helpers.ts";

const HOSTILE = [
  "$(touch CANARY)",
  "`touch CANARY`",
  "; touch CANARY",
  "'",
  '"',
  "a b  c",
  " leading and trailing ",
  "new\nline",
  "trailing newline\n",
  "\\",
  "*",
  "",
  "ünïcødé ✓",
];

/** A job of `count` tasks running `argv` in `dir`, logs `o.N` there; `task` adjusts each task. */
function job(
  dir: string,
  argv: string[],
  count: number,
  more: Partial<Job> = {},
  task: (spec: ArrayTask) => void = () => {},
): Job {
  const tasks = Array.from({ length: count }, (_, i) => {
    const spec: ArrayTask = {
      index: i + 1,
      jobId: "77",
      env: { PATH: "/usr/local/bin:/usr/bin:/bin", TASK: String(i + 1) },
      stdoutPath: join(dir, `o.${i + 1}`),
      stderrPath: null,
    };
    task(spec);
    return spec;
  });
  return {
    scheduler: "sge",
    jobId: "77",
    jobName: "slots",
    scriptPath: argv[0],
    shell: [],
    scriptArgs: argv.slice(1),
    cwd: dir,
    tasks,
    appendLogs: true,
    ...more,
  };
}

const run = (j: Job, slots: number | SlotPool = 2) => runArrayJob(j, { slots });

Deno.test(`a task's environment is exactly its own, sorted by name, values as data`, async () => {
  const dir = await tempDir();
  const j = job(dir, ["/usr/bin/env", "-0"], 3, {}, (t) => {
    for (const [i, value] of HOSTILE.entries()) t.env[`HOSTILE_${i}`] = value;
    t.env.LAST = `task ${t.index}`;
  });
  const report = await run(j);
  assert.equal(report.failed, "");
  for (const t of j.tasks) {
    const seen = (await Deno.readTextFile(t.stdoutPath)).split("\0").slice(0, -1);
    // Sorted, as the spawn of node:child_process in Deno passes it.
    const sorted = Object.keys(t.env).sort().map((k) => `${k}=${t.env[k]}`);
    assert.deepEqual(seen, sorted);
  }
  assert.ok(!(await exists(join(dir, "CANARY"))));
});

Deno.test(`hostile argv, cwd and log paths reach the task literally`, async () => {
  const root = await tempDir();
  const dir = join(root, "dir with 'quotes' $(touch CANARY) and\nnewline");
  await Deno.mkdir(dir);
  const argv = ["/bin/sh", "-c", 'printf "%s\\0" "$PWD" "$@"', "rec", ...HOSTILE];
  const j = job(dir, argv, 2, { appendLogs: false }, (t) => {
    t.stdoutPath = join(dir, `out "${t.index}" $(x)\n.log`);
    t.stderrPath = join(dir, `err '${t.index}'.log`);
  });
  const report = await run(j);
  assert.equal(report.failed, "");
  for (const t of j.tasks) {
    const seen = (await Deno.readTextFile(t.stdoutPath)).split("\0").slice(0, -1);
    assert.deepEqual(seen, [dir, ...HOSTILE]);
    assert.equal(await Deno.readTextFile(t.stderrPath!), "");
  }
  for (const d of [root, dir]) assert.ok(!(await exists(join(d, "CANARY"))), d);
});

Deno.test(`exit codes, signals (143 vs SIGTERM), 126/127 with the message, #!-less files`, async () => {
  const dir = await tempDir({
    "t.sh":
      "case $TASK in 1) exit 143;; 2) kill -TERM $$;; 3) kill -KILL $$;; 4) echo out; echo err >&2; exit 3;; esac\n",
    "noshebang": "echo ran by sh\n",
    "notexec": "#!/bin/sh\necho never\n",
  });
  await Deno.chmod(join(dir, "noshebang"), 0o755);
  const scripted = await run(job(dir, ["/bin/sh", join(dir, "t.sh")], 4));
  assert.deepEqual(scripted.tasks.map((t) => [t.exitCode, t.signal]), [
    [143, null],
    [143, "SIGTERM"],
    [137, "SIGKILL"],
    [3, null],
  ]);
  assert.equal(await Deno.readTextFile(join(dir, "o.4")), "out\nerr\n"); // merged, as -j y
  const cases: [string, number, RegExp][] = [
    ["no-such-program-x", 127, /^exec: no-such-program-x: not found\n$/],
    [join(dir, "notexec"), 126, /^exec: .*notexec: Permission denied\n$/],
    [dir, 126, /^exec: .*: Permission denied\n$/],
    [join(dir, "noshebang"), 0, /^ran by sh\n$/],
  ];
  for (const [program, code, log] of cases) {
    const sub = await tempDir();
    const report = await run(job(sub, [program], 1, { cwd: dir }));
    assert.equal(report.tasks[0].exitCode, code, program);
    assert.match(await Deno.readTextFile(join(sub, "o.1")), log, program);
  }
});

Deno.test(`a log that cannot be opened: status 2, the task never runs`, async () => {
  const dir = await tempDir();
  await Deno.symlink("/no/such/dir/log", join(dir, "dangling"));
  for (const appendLogs of [true, false]) {
    const j = job(dir, ["/bin/sh", "-c", "touch ran"], 2, { appendLogs }, (t) => {
      if (t.index === 2) t.stdoutPath = join(dir, "dangling");
      if (t.index === 1) t.stderrPath = join(dir, "missing/e.1");
    });
    const report = await run(j);
    assert.deepEqual(report.tasks.map((t) => t.exitCode), [2, 2]);
    assert.ok(!(await exists(join(dir, "ran"))));
  }
});

Deno.test(`logs are appended to or truncated, and an empty TMP per task, none left`, async () => {
  const dir = await tempDir({ "o.1": "old\n", "o.2": "old\n" });
  const tmpRoot = await tempDir();
  const script = 'echo "new $(ls -A "$TMP" | wc -l)"; touch "$TMP/left-$TASK"; ' +
    '[ "$TASK" = 3 ] && chmod 700 "$TMP"; exit 0';
  for (const appendLogs of [true, false]) {
    const j = job(dir, ["/bin/sh", "-c", script], 6, { appendLogs }, (t) => {
      t.tmpDir = join(tmpRoot, `77.${t.index}.all.q`);
      t.env.TMP = t.tmpDir;
    });
    await Deno.writeTextFile(join(dir, "o.1"), "old\n");
    const report = await run(j, 1);
    assert.equal(report.failed, "");
    assert.equal(
      await Deno.readTextFile(join(dir, "o.1")),
      appendLogs ? "old\nnew 0\n" : "new 0\n",
    );
    for (let t = 2; t <= 6; t++) {
      assert.match(await Deno.readTextFile(join(dir, `o.${t}`)), /new 0\n$/);
    }
    assert.deepEqual([...Deno.readDirSync(tmpRoot)], []);
  }
});

Deno.test(`a time limit kills the task's whole group, after the grace the SIGKILL, with the log line`, async () => {
  const dir = await tempDir();
  // Task 1 and its sleep ignore SIGTERM, so only the SIGKILL after the grace ends them.
  const script = '[ "$TASK" = 1 ] && trap "" TERM; sleep 30 & echo $! > "sleep.$TASK"; wait';
  const j = job(dir, ["/bin/sh", "-c", script], 2, {
    timeLimit: {
      seconds: 1,
      signal: "SIGTERM",
      graceSeconds: 1,
      logLine: "cut {index}",
    },
  });
  const started = performance.now();
  const report = await run(j);
  assert.ok(performance.now() - started < 4000);
  assert.deepEqual(report.tasks.map((t) => [t.timedOut, t.signal]), [
    [true, "SIGKILL"],
    [true, "SIGTERM"],
  ]);
  assert.equal(report.timedOut, "1-2");
  for (const t of [1, 2]) {
    assert.match(await Deno.readTextFile(join(dir, `o.${t}`)), new RegExp(`cut ${t}\n$`));
    const pid = Number(await Deno.readTextFile(join(dir, `sleep.${t}`)));
    assert.ok(!alive(pid), `task ${t}'s sleep ${pid} outlived it`);
  }
});

Deno.test(`throttles and a pool shared by two jobs bound the tasks running at once`, async () => {
  const dir = await tempDir();
  const trace = join(dir, "trace");
  const argv = ["/bin/sh", "-c", `echo + >> ${trace}; sleep 0.1; echo - >> ${trace}`];
  const throttled = await run(job(dir, argv, 5, { throttle: 1 }), 4);
  assert.equal(throttled.tasksRun, 5);
  assert.equal(await mostAtOnce(trace), 1);
  await Deno.remove(trace);
  const pool = new SlotPool(2);
  const reports = await Promise.all([
    run(job(dir, argv, 5), pool),
    run(job(dir, argv, 5), pool),
  ]);
  assert.deepEqual(reports.map((r) => r.tasksRun), [5, 5]);
  assert.equal(await mostAtOnce(trace), 2);
});

Deno.test(`SIGINT to the fake kills its running tasks, also in their own sessions, and removes their TMP`, async () => {
  for (const limit of ["", "#$ -l h_rt=60\n"]) {
    const dir = await tempDir({
      "s.sh": `#$ -t 1-3\n#$ -cwd\n#$ -o o.$TASK_ID\n#$ -j y\n${limit}` +
        "echo $$ >> pids\nexec sleep 30\n",
    });
    const tmpRoot = join(dir, "tmp");
    await Deno.mkdir(tmpRoot);
    const fake = new Deno.Command(join(BIN, "qsub"), {
      args: ["-sync", "y", "--slots", "2", "s.sh"],
      cwd: dir,
      env: { TMPDIR: tmpRoot },
      stdout: "null",
      stderr: "null",
    }).spawn();
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      pids = (await Deno.readTextFile(join(dir, "pids")).catch(() => "")).trim().split("\n")
        .filter(Boolean).map(Number);
    }
    assert.equal(pids.length, 2, "two tasks should be running");
    fake.kill("SIGINT");
    assert.equal((await fake.status).code, 130);
    for (let i = 0; i < 40 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(pids.filter(alive), [], `tasks left running (${limit || "no limit"})`);
    assert.deepEqual([...Deno.readDirSync(tmpRoot)].map((e) => e.name), [], "TMP left behind");
  }
});

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    // A zombie still takes signals: only a process that is not one counts as running.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

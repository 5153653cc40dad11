/**
 * The fake's two ways of starting tasks give the same tasks: a runner process per slot
 * (fake_scheduler/runner.ts, "always") and a spawn from the fake itself ("never"). Each test runs
 * in both modes and checks what a task sees (environment, argv, cwd, logs, TMP), how it ends
 * (exit codes, signals, 126/127, unopenable logs), time limits, slot sharing, and that an
 * interrupted fake takes its tasks down with it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  type JobDescription,
  runArrayJob,
  type RunOptions,
  SlotPool,
  type TaskSpec,
} from "../fake_scheduler/core.ts";
import { BIN, mostAtOnce, tempDir } from "./fixtures/fake/helpers.ts";

const MODES = ["always", "never"] as const;

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
  more: Partial<JobDescription> = {},
  task: (spec: TaskSpec) => void = () => {},
): JobDescription {
  const tasks = Array.from({ length: count }, (_, i) => {
    const spec: TaskSpec = {
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
    jobName: "runner",
    scriptPath: argv[0],
    shell: [],
    scriptArgs: argv.slice(1),
    cwd: dir,
    tasks,
    appendLogs: true,
    ...more,
  };
}

const run = (j: JobDescription, runner: RunOptions["runner"], slots: number | SlotPool = 2) =>
  runArrayJob(j, { slots, runner });

for (const mode of MODES) {
  Deno.test(`${mode}: a task's environment is exactly its own, sorted by name, values as data`, async () => {
    const dir = await tempDir();
    const j = job(dir, ["/usr/bin/env", "-0"], 3, {}, (t) => {
      for (const [i, value] of HOSTILE.entries()) t.env[`HOSTILE_${i}`] = value;
      t.env.LAST = `task ${t.index}`;
    });
    const report = await run(j, mode);
    assert.equal(report.failed, "");
    for (const t of j.tasks) {
      const seen = (await Deno.readTextFile(t.stdoutPath)).split("\0").slice(0, -1);
      // Sorted, as the spawn of node:child_process in Deno passes it.
      const sorted = Object.keys(t.env).sort().map((k) => `${k}=${t.env[k]}`);
      assert.deepEqual(seen, sorted);
    }
    assert.ok(!(await exists(join(dir, "CANARY"))));
  });

  Deno.test(`${mode}: hostile argv, cwd and log paths reach the task literally`, async () => {
    const root = await tempDir();
    const dir = join(root, "dir with 'quotes' $(touch CANARY) and\nnewline");
    await Deno.mkdir(dir);
    const argv = ["/bin/sh", "-c", 'printf "%s\\0" "$PWD" "$@"', "rec", ...HOSTILE];
    const j = job(dir, argv, 2, { appendLogs: false }, (t) => {
      t.stdoutPath = join(dir, `out "${t.index}" $(x)\n.log`);
      t.stderrPath = join(dir, `err '${t.index}'.log`);
    });
    const report = await run(j, mode);
    assert.equal(report.failed, "");
    for (const t of j.tasks) {
      const seen = (await Deno.readTextFile(t.stdoutPath)).split("\0").slice(0, -1);
      assert.deepEqual(seen, [dir, ...HOSTILE]);
      assert.equal(await Deno.readTextFile(t.stderrPath!), "");
    }
    for (const d of [root, dir]) assert.ok(!(await exists(join(d, "CANARY"))), d);
  });

  Deno.test(`${mode}: exit codes, signals (143 vs SIGTERM), 126/127 with the message, #!-less files`, async () => {
    const dir = await tempDir({
      "t.sh":
        "case $TASK in 1) exit 143;; 2) kill -TERM $$;; 3) kill -KILL $$;; 4) echo out; echo err >&2; exit 3;; esac\n",
      "noshebang": "echo ran by sh\n",
      "notexec": "#!/bin/sh\necho never\n",
    });
    await Deno.chmod(join(dir, "noshebang"), 0o755);
    const scripted = await run(job(dir, ["/bin/sh", join(dir, "t.sh")], 4), mode);
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
      const report = await run(job(sub, [program], 1, { cwd: dir }), mode);
      assert.equal(report.tasks[0].exitCode, code, program);
      assert.match(await Deno.readTextFile(join(sub, "o.1")), log, program);
    }
  });

  Deno.test(`${mode}: a log that cannot be opened: status 2, the task never runs`, async () => {
    const dir = await tempDir();
    await Deno.symlink("/no/such/dir/log", join(dir, "dangling"));
    for (const appendLogs of [true, false]) {
      const j = job(dir, ["/bin/sh", "-c", "touch ran"], 2, { appendLogs }, (t) => {
        if (t.index === 2) t.stdoutPath = join(dir, "dangling");
        if (t.index === 1) t.stderrPath = join(dir, "missing/e.1");
      });
      const report = await run(j, mode);
      assert.deepEqual(report.tasks.map((t) => t.exitCode), [2, 2]);
      assert.ok(!(await exists(join(dir, "ran"))));
    }
  });

  Deno.test(`${mode}: logs are appended to or truncated, and an empty TMP per task, none left`, async () => {
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
      const report = await run(j, mode, 1);
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

  Deno.test(`${mode}: a time limit kills the task's whole group, after the grace the SIGKILL, with the log line`, async () => {
    const dir = await tempDir();
    // Task 1 and its sleep ignore SIGTERM, so only the SIGKILL after the grace ends them.
    const script = '[ "$TASK" = 1 ] && trap "" TERM; sleep 30 & echo $! > "sleep.$TASK"; wait';
    const j = job(dir, ["/bin/sh", "-c", script], 2, {
      timeLimit: {
        seconds: 1,
        signal: "SIGTERM",
        graceSeconds: 1,
        logLine: (t) => `cut ${t.index}`,
      },
    });
    const started = performance.now();
    const report = await run(j, mode);
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

  Deno.test(`${mode}: throttles and a pool shared by two jobs bound the tasks running at once`, async () => {
    const dir = await tempDir();
    const trace = join(dir, "trace");
    const argv = ["/bin/sh", "-c", `echo + >> ${trace}; sleep 0.1; echo - >> ${trace}`];
    const throttled = await run(job(dir, argv, 5, { throttle: 1 }), mode, 4);
    assert.equal(throttled.tasksRun, 5);
    assert.equal(await mostAtOnce(trace), 1);
    await Deno.remove(trace);
    const pool = new SlotPool(2);
    const reports = await Promise.all([
      run(job(dir, argv, 5), mode, pool),
      run(job(dir, argv, 5), mode, pool),
    ]);
    assert.deepEqual(reports.map((r) => r.tasksRun), [5, 5]);
    assert.equal(await mostAtOnce(trace), 2);
  });

  Deno.test(`${mode}: SIGINT to the fake kills its running tasks, also in their own sessions, and removes their TMP`, async () => {
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
        env: { ARRAYJOB_FAKE_RUNNER: mode, TMPDIR: tmpRoot },
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
}

// Without Python both modes spawn from the fake, and the "always" runs above would test nothing of
// the runner: so this fails in CI, and says so on a developer machine.
async function pythonOrSkip(what: string): Promise<boolean> {
  if (await hasPython()) return true;
  if (Deno.env.get("CI")) assert.fail(`python3 is missing, so ${what} cannot be tested`);
  console.warn(`skipped: no python3 here, so ${what} is not tested`);
  return false;
}

Deno.test("always: the tasks' parent is a runner, not the fake", async () => {
  if (Deno.build.os !== "linux" || !await pythonOrSkip("the runner")) return;
  const dir = await tempDir();
  await run(job(dir, ["/bin/sh", "-c", "echo $PPID"], 4), "always");
  for (let t = 1; t <= 4; t++) {
    const parent = (await Deno.readTextFile(join(dir, `o.${t}`))).trim();
    assert.match(parent, /^[0-9]+$/);
    assert.notEqual(parent, String(Deno.pid), `task ${t} was spawned by the fake itself`);
  }
});

Deno.test("auto: a long job's tasks are started by a runner, a short job's by the fake", async () => {
  const dir = await tempDir();
  const argv = ["/bin/sh", "-c", "echo $PPID"];
  const parents = async (count: number) => {
    await run(job(dir, argv, count), "auto");
    const found = new Set<string>();
    for (let t = 1; t <= count; t++) {
      found.add((await Deno.readTextFile(join(dir, `o.${t}`))).trim().split("\n").at(-1)!);
    }
    return found;
  };
  assert.deepEqual(await parents(4), new Set([String(Deno.pid)]));
  if (Deno.build.os === "linux" && await pythonOrSkip("the automatic choice of a runner")) {
    const long = await parents(128);
    assert.equal(long.size, 2, `two runners, one per slot: ${[...long]}`);
    assert.ok(!long.has(String(Deno.pid)));
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

async function hasPython(): Promise<boolean> {
  try {
    return (await new Deno.Command("python3", { args: ["-c", ""] }).output()).success;
  } catch {
    return false;
  }
}

/** runTasks, end to end: a user's script run as a subprocess, as each array task runs it. */

import assert from "node:assert/strict";
import { ArrayJobError, runTasks, shellQuote } from "../mod.ts";

const FIXTURE = new URL("./fixtures/sweep_fixture.ts", import.meta.url).pathname;

async function sweep(args: string[], env: Record<string, string> = {}) {
  const ranFile = await Deno.makeTempFile();
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-env", "--allow-read", "--allow-write", FIXTURE, ...args],
    env: { RAN_FILE: ranFile, NO_COLOR: "1", ...env },
  }).output();
  const ran = (await Deno.readTextFile(ranFile)).split("\n").filter(Boolean);
  await Deno.remove(ranFile);
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
    ran: ran.map((line) => line.split(":").slice(0, 2).join(":")),
    concurrency: overlap(
      ran.map((line) => line.split(":").slice(2).map(Number) as [number, number]),
    ),
  };
}

// The most tasks whose [start, end) windows overlap at one moment.
function overlap(windows: [number, number][]): number {
  const events = windows.flatMap(([start, end]) => [[start, 1], [end, -1]]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, change] of events) most = Math.max(most, now += change!);
  return most;
}

Deno.test("--tasks runs exactly the selected tasks with their index in the full list", async () => {
  const { code, ran } = await sweep(["--tasks=4:7"]);
  assert.equal(code, 0);
  assert.deepEqual(ran, ["4:b2", "5:b3", "6:c1"]);
  assert.deepEqual((await sweep(["--tasks", "-1"])).ran, ["8:c3"]);
  assert.deepEqual((await sweep(["--tasks=8,0,8"])).ran, ["8:c3", "0:a1"]);
});

Deno.test("a failing task does not stop the others; the summary names it and the exit code is 1", async () => {
  const { code, ran, stderr } = await sweep([]);
  assert.equal(code, 1);
  assert.equal(ran.length, 9);
  assert.match(stderr, /task 3 failed: Error: task b1 broke/);
  assert.match(stderr, /9 tasks ran, 1 failed: 3 \(rerun them with --tasks=3\)/);
});

Deno.test("--jobs N runs up to N tasks at a time", async () => {
  const { ran, concurrency } = await sweep(["--jobs", "3", "--tasks=0:6"], { SLEEP_MS: "200" });
  assert.deepEqual(ran.toSorted(), ["0:a1", "1:a2", "2:a3", "3:b1", "4:b2", "5:b3"]);
  assert.equal(concurrency, 3);
  assert.equal((await sweep(["--tasks=0:6"], { SLEEP_MS: "10" })).concurrency, 1);
});

Deno.test("--jobs N runs tasks that compute in parallel, not interleaved in one thread", async () => {
  // A busy loop never yields: in one thread two such tasks cannot overlap at all.
  const { ran, concurrency } = await sweep(["--jobs", "2", "--tasks=4:8"], { BUSY_MS: "400" });
  assert.equal(ran.length, 4);
  assert.equal(concurrency, 2);
});

Deno.test("--jobs keeps failures, the summary, the exit code and the code after runTasks as without it", async () => {
  const one = await sweep(["--tasks=0:6"], { SAY_AFTER: "1" });
  const two = await sweep(["--jobs=2", "--tasks=0:6"], { SAY_AFTER: "1" });
  for (const run of [one, two]) {
    assert.equal(run.code, 1);
    assert.equal(run.ran.length, 6);
    assert.equal(run.stdout, "after runTasks\n");
    assert.match(run.stderr, /^task 3 failed: Error: task b1 broke$/m);
    assert.match(run.stderr, /^arrayjob: 6 tasks ran, 1 failed: 3 \(rerun them with --tasks=3\)$/m);
    assert.equal(run.stderr.match(/tasks ran/g)?.length, 1);
  }
});

Deno.test("--jobs keeps one ARRAYJOB_RECORD line per finished task", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const record = `${dir}/record`;
    const { code } = await sweep(["--jobs", "2", "--tasks=1:5"], { ARRAYJOB_RECORD: record });
    assert.equal(code, 1);
    const lines = (await Deno.readTextFile(record)).trimEnd().split("\n");
    assert.equal(lines.shift(), "reports\trunTasks", "declared once, before the first task");
    assert.deepEqual(lines.map((line) => line.split("\t").slice(0, 3)).sort(), [
      ["task", "1", "0"],
      ["task", "2", "0"],
      ["task", "3", "1"],
      ["task", "4", "0"],
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--list prints index and task and runs nothing", async () => {
  const { code, stdout, ran } = await sweep(["--list", "--tasks=::4"]);
  assert.equal(code, 0);
  assert.deepEqual(ran, []);
  assert.equal(stdout, '0\t["a",1]\n4\t["b",2]\n8\t["c",3]\n');
});

Deno.test("--help starts with the script's own name, explains, and runs nothing", async () => {
  const { code, stdout, ran } = await sweep(["--help"]);
  assert.equal(code, 0);
  assert.deepEqual(ran, []);
  assert.match(stdout, /^sweep_fixture\.ts: 9 tasks/);
  assert.match(stdout, /^Usage: deno run \[permissions\] sweep_fixture\.ts \[--tasks SPEC\]/m);
  assert.doesNotMatch(stdout, /<script>/);
  // --cluster-script's options, from the same table as arrayjob script's, without --num-tasks.
  assert.match(stdout, /^ {2}--step N {17}tasks per array task/m);
  assert.doesNotMatch(stdout, /--num-tasks/);
});

Deno.test("rendering the same job again with other permissions is the same job, not another", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const render = async (permissions: string[]) =>
      await new Deno.Command(Deno.execPath(), {
        args: ["run", ...permissions, FIXTURE, "--cluster-script", "--output-dir", dir],
        env: { NO_COLOR: "1" },
      }).output();
    assert.equal((await render(["-A"])).code, 0);
    const again = await render(["--allow-read", "--allow-write", "--allow-env"]);
    assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
    const text = await Deno.readTextFile(`${dir}/run.sh`);
    assert.match(text, /run --cached-only --allow-read --allow-write --allow-env /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a bad --tasks or an unknown flag is a one-line error with exit code 2", async () => {
  for (
    const [args, message] of [
      [["--tasks=1.5"], /^error: invalid task spec "1\.5"/],
      [["--tasks=99"], /^error: invalid task spec "99": index 99 is out of range for 9 tasks/],
      [["--frobnicate"], /^error: unknown option "--frobnicate" \(see --help\)$/m],
      [
        ["--stepp", "4"],
        /^error: unknown option "--stepp": did you mean --step\? \(see --help\)$/m,
      ],
      [["--tasks=1", "extra"], /^error: unexpected argument "extra": expected --tasks SPEC/],
      [["--step", "4"], /^error: --step needs --cluster-script: it is an option of the cluster/],
      [
        ["--cluster-script", "--num-tasks", "4"],
        /^error: --num-tasks does not apply to --cluster-script: the script's own task list/,
      ],
      [
        ["--cluster-script", "--stepp", "4"],
        /^error: unknown option "--stepp": did you mean --step\? \(see --help\)$/m,
      ],
      [["--tasks"], /^error: --tasks needs a value/],
      [["--jobs=0"], /^error: --jobs is "0": expected a whole number from 1 to/m],
      [["--jobs", "two"], /^error: --jobs is "two": expected a whole number from 1 to/m],
      [["--jobs=1e2"], /^error: --jobs is "1e2": expected a whole number from 1 to/m],
      [["--jobs=0x10"], /^error: --jobs is "0x10": expected a whole number from 1 to/m],
      [["--jobs", " 2 "], /^error: --jobs is " 2 ": expected a whole number from 1 to/m],
      [["--cluster-script", "--job-name", "a b"], /^error: --job-name "a b" cannot go into/],
      [["--cluster-script", "--step", "0"], /^error: --step is 0: expected a whole number ≥ 1/],
    ] as const
  ) {
    const { code, stderr, ran } = await sweep([...args]);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, message);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.deepEqual(ran, []);
  }
});

Deno.test("--cluster-script writes a script that runs this very script with its permissions, and runs nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr, ran } = await sweep([
      "--cluster-script",
      "--scheduler",
      "slurm",
      "--step",
      "4",
      "--output-dir",
      dir,
    ]);
    assert.equal(code, 0);
    assert.deepEqual(ran, []);
    // What `arrayjob script` prints, on the same streams: the path alone on stdout.
    assert.equal(stdout, `${dir}/run.sh\n`);
    assert.equal(
      stderr,
      `arrayjob: wrote ${dir}/run.sh for 9 tasks\n` +
        `submit with:  sbatch ${dir}/run.sh\n` +
        `try it first: arrayjob simulate ${dir}/run.sh\n`,
    );
    const text = await Deno.readTextFile(`${dir}/run.sh`);
    assert.match(text, /^#SBATCH --array=0-2$/m);
    assert.match(text, /^#SBATCH --job-name=sweep_fixture$/m);
    const command = text.split("\n").find((line) => line.includes("--tasks="))!;
    assert.equal(
      command,
      `  ARRAYJOB_RECORD=$RECORD ${Deno.execPath()} run --cached-only --allow-read --allow-write --allow-env ` +
        `${FIXTURE} --tasks="$1"`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--cluster-script --out - prints the script and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout } = await sweep(["--cluster-script", "--out", "-", "--output-dir", dir]);
    assert.equal(code, 0);
    assert.match(stdout, /^#!\/bin\/sh\n/);
    assert.match(stdout, /^#\$ -t 1-9$/m);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("in-process, usage errors can be thrown instead of exiting", async () => {
  await assert.rejects(
    () => runTasks([1, 2], () => {}, { args: ["--tasks=5"], onUsageError: "throw" }),
    ArrayJobError,
  );
});

Deno.test("tasks may be any TaskList, and fn sees the task at each selected index", async () => {
  const seen: string[] = [];
  const summary = await runTasks(["x", "y", "z"], (task, index) => {
    seen.push(`${index}${task}`);
    if (task === "y") throw new Error("no");
  }, { args: ["--tasks=::-1"] });
  assert.deepEqual(seen, ["2z", "1y", "0x"]);
  assert.deepEqual(summary, { mode: "run", ran: [2, 1, 0], count: 3, failed: [1] });
  Deno.exitCode = 0;
});

// A script that reads no environment itself: tasks 0-2, task 2 throws, each prints its index. It
// is written to a temporary directory, which is removed after `test`.
async function withRecordingScript(
  test: (dir: string, script: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/tasks.ts`;
    await Deno.writeTextFile(
      script,
      `import { runTasks } from ${JSON.stringify(new URL("../mod.ts", import.meta.url).href)};\n` +
        `await runTasks([0, 1, 2], (task) => {\n` +
        `  console.log(task);\n` +
        `  if (task === 2) throw new Error("no");\n` +
        `});\n`,
    );
    await test(dir, script);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("in an array task, each finished task appends a line to the ARRAYJOB_RECORD file", () =>
  withRecordingScript(async (dir, script) => {
    const record = `${dir}/record`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-env", `--allow-write=${record}`, script, "--tasks=1:3"],
      env: { ARRAYJOB_RECORD: record },
      stdin: "null",
    }).output();
    assert.equal(output.code, 1);
    const lines = (await Deno.readTextFile(record)).trimEnd().split("\n");
    assert.deepEqual(lines.shift(), "reports\trunTasks", "declared before the first task");
    assert.deepEqual(lines.map((line) => line.split("\t").slice(0, 3)), [
      ["task", "1", "0"],
      ["task", "2", "1"],
    ]);
    for (const line of lines) assert.match(line.split("\t")[3]!, /^[0-9]+$/);
  }));

Deno.test("without --allow-env, runTasks records nothing and neither fails nor prompts", () =>
  withRecordingScript(async (dir, script) => {
    const record = `${dir}/record`;
    const deno = shellQuote(Deno.execPath());
    const command = `${deno} run --allow-write ${shellQuote(script)} --tasks=0:2`;
    // stdin not a terminal (an array task), and a terminal (where Deno would prompt).
    for (const argv of [["sh", "-c", command], ["script", "-qec", command, "/dev/null"]]) {
      const output = await new Deno.Command(argv[0]!, {
        args: argv.slice(1),
        env: { ARRAYJOB_RECORD: record, NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(20_000),
      }).output();
      const text = new TextDecoder().decode(output.stdout) +
        new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, `${argv[0]}: ${text}`);
      assert.match(text, /^0\r?\n1\r?\n$/, argv[0]);
      assert.doesNotMatch(text, /env access/, argv[0]);
      await assert.rejects(() => Deno.stat(record), Deno.errors.NotFound);
    }
  }));

Deno.test("--cluster-script without read access is a one-line error naming the flag to add", () =>
  withRecordingScript(async (_dir, script) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-write", script, "--cluster-script", "--out", "-"],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2);
    assert.match(
      stderr,
      /^error: --cluster-script .* needs read access: run the script with --allow-read/,
    );
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.equal(output.stdout.length, 0);
  }));

Deno.test("--cluster-script with read but no write access is a one-line error naming --allow-write=DIR, exit 1, nothing written", () =>
  withRecordingScript(async (dir, script) => {
    await Deno.mkdir(`${dir}/empty`);
    for (const outputDir of [`${dir}/out`, `${dir}/empty`]) {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", script, "--cluster-script", "--output-dir", outputDir],
        env: { NO_COLOR: "1" },
        stdin: "null",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 1, stderr);
      assert.equal(
        stderr,
        `error: writing the job into ${outputDir} needs write access: run deno with ` +
          `--allow-write=${outputDir} (or -A)\n`,
      );
      assert.equal(output.stdout.length, 0);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["empty", "tasks.ts"]);
    assert.deepEqual([...Deno.readDirSync(`${dir}/empty`)], []);
  }));

Deno.test("a --tasks spec holding a newline is shown escaped, on the error's one line", () =>
  withRecordingScript(async (_dir, script) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", script, "--tasks", "1\n2"],
      env: { NO_COLOR: "1" },
      stdin: "null",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 2);
    assert.match(stderr, /^error: invalid task spec "1\\n2": "1\\n2" is not an integer; /);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
  }));

// A runTasks script run as an array task of a rendered script, on the fake qsub; `body` is the
// task callback's code.
async function runAsArrayJob(
  body: string,
  extra: Record<string, string> = {},
): Promise<{ dir: string; status: import("../status.ts").JobStatus }> {
  const { writeProgramScripts } = await import("../job_dir.ts");
  const { jobStatus } = await import("../status.ts");
  const { simulateMain } = await import("../fake_scheduler/mod.ts");
  const { captureIO } = await import("../fake_scheduler/mod.ts");
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-run-tasks-" });
  const mod = JSON.stringify(new URL("../mod.ts", import.meta.url).href);
  for (const [name, text] of Object.entries(extra)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  const script = `${dir}/tasks.ts`;
  await Deno.writeTextFile(
    script,
    `import { runTasks } from ${mod};\nawait runTasks([0, 1, 2, 3], async (task) => {\n${body}\n});\n`,
  );
  const written = await writeProgramScripts({
    numTasks: 4,
    program: script,
    args: ["--step", "4", "--output-dir", `${dir}/out`, "--work-dir", dir],
  });
  assert.ok(written.text === undefined);
  await simulateMain([written.paths[0]!], { cwd: dir, io: captureIO() });
  return { dir, status: await jobStatus(`${dir}/out`) };
}

Deno.test("a task that ends the process (Deno.exit(0)) leaves the tasks without their own line not done", async () => {
  const { dir, status } = await runAsArrayJob(`  if (task === 1) Deno.exit(0);`);
  try {
    assert.deepEqual([...status.done], [0]);
    assert.deepEqual([...status.neverFinished], [1, 2, 3]);
    // `arrayjob status` (records merged with the scheduler's answer: here the fake's) agrees.
    const fakeBin = new URL("../fake_scheduler/bin", import.meta.url).pathname;
    const cli = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../cli.ts", import.meta.url).pathname, "status", `${dir}/out`],
      env: { PATH: `${fakeBin}:${Deno.env.get("PATH")}`, NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(cli.stdout);
    assert.equal(cli.code, 1, stdout);
    assert.match(stdout, /^4 tasks: 1 done, 0 failed, /m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a task that exits before its first task is reported leaves every task not done", async () => {
  const { dir, status } = await runAsArrayJob(`  Deno.exit(0);`);
  try {
    assert.deepEqual([...status.done], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a nested runTasks (a task running a helper that uses runTasks) does not write the outer record", async () => {
  const mod = JSON.stringify(new URL("../mod.ts", import.meta.url).href);
  // The helper's tasks 0..3 all succeed, and so would "report" the outer failing tasks as done.
  const helper = `import { runTasks } from ${mod};\nawait runTasks([0, 1, 2, 3], () => {});\n`;
  const { dir, status } = await runAsArrayJob(
    `  const out = await new Deno.Command(Deno.execPath(), {\n` +
      `    args: ["run", "-A", "helper.ts", "--tasks=0:4"],\n` +
      `  }).output();\n` +
      `  if (!out.success) throw new Error("helper failed");\n` +
      `  if (task >= 2) throw new Error("outer task fails");`,
    { "helper.ts": helper },
  );
  try {
    assert.deepEqual([...status.done], [0, 1]);
    assert.deepEqual([...status.failed], [2, 3]);
    const records = [...Deno.readDirSync(`${dir}/out/records`)];
    const text = Deno.readTextFileSync(`${dir}/out/records/${records[0]!.name}`);
    assert.equal(text.split("\n").filter((line) => line.startsWith("reports")).length, 1, text);
    assert.equal(text.split("\n").filter((line) => line.startsWith("task")).length, 4, text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A script over a product of 10^9 tasks that reports its memory and time once it got going.
async function hugeProduct(dir: string, args: string[], stopAt = 1000) {
  const script = `${dir}/huge.ts`;
  await Deno.writeTextFile(
    script,
    `import { product, runTasks } from ${
      JSON.stringify(new URL("../mod.ts", import.meta.url).href)
    };
const started = performance.now();
const thousand = Array.from({ length: 1000 }, (_, i) => i);
await runTasks(product(thousand, thousand, thousand), (_task, index) => {
  if (index === ${stopAt}) {
    console.log(JSON.stringify({ rss: Deno.memoryUsage().rss, ms: performance.now() - started }));
    Deno.exit(0);
  }
});
`,
  );
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", script, ...args],
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test("runTasks over a product of 10^9 tasks without --tasks walks them: bounded memory, running in under 2 s", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const args of [[], ["--tasks=5,0:1000000000"]]) {
      const out = await (await hugeProduct(dir, args)).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, `${args}: ${new TextDecoder().decode(out.stderr)}`);
      const { rss, ms } = JSON.parse(text.trim().split("\n").at(-1)!);
      assert.ok(rss < 200 * 2 ** 20, `${args}: ${rss} bytes resident`);
      assert.ok(ms < 2000, `${args}: ${ms} ms before task 1000 ran`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--list of a product of 10^9 tasks streams: the first lines come at once, in bounded memory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const child = (await hugeProduct(dir, ["--list"])).spawn();
    const reader = child.stdout.getReader();
    let text = "";
    const deadline = setTimeout(() => child.kill("SIGKILL"), 10_000);
    while (text.length < 200_000) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
    clearTimeout(deadline);
    child.kill("SIGKILL");
    await reader.cancel();
    await child.status;
    await child.stderr.cancel();
    assert.equal(text.split("\n").slice(0, 2).join("\n"), "0\t[0,0,0]\n1\t[0,0,1]");
    const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
    assert.ok(rss < 200 * 2 ** 20, `${rss} bytes resident while listing`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a comma list beyond 2^20 tasks runs each once, in order of first appearance, and counts them", async () => {
  const tasks = { length: 3_000_000, at: (i: number) => i };
  const seen: number[] = [];
  let calls = 0;
  const summary = await runTasks(tasks, (_task, index) => {
    if (seen.length < 7) seen.push(index);
    calls++;
    if (index === 2_999_999) throw new Error("last");
  }, { args: ["--tasks", "5,0:2000000,2999999,4"] });
  Deno.exitCode = 0; // the failure above sets it, on purpose
  assert.deepEqual(seen, [5, 0, 1, 2, 3, 4, 6]);
  assert.equal(calls, 2_000_001);
  assert.equal(summary.count, 2_000_001);
  assert.deepEqual(summary.ran, [], "not listed beyond 2^20");
  assert.deepEqual(summary.failed, [2_999_999]);
});

/**
 * Tests of the fake Slurm sbatch: --array syntax (ranges, steps, lists, %N), the SLURM_*
 * environment and per-task job ids, filename patterns, --time kills, --wait exit codes, ignored
 * late #SBATCH lines, MaxArraySize, refusals, and the shim on PATH in a subprocess.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { captureIO } from "../../fake_scheduler/io.ts";
import { sbatch } from "../../fake_scheduler/sbatch.ts";
import { expandSlurmPattern } from "../../fake_scheduler/slurm.ts";
import { parseSlurmArray, parseSlurmTime } from "../../fake_scheduler/slurm_options.ts";
import {
  mostAtOnce,
  runByUrl,
  runSbatch,
  runShim,
  serveRepo,
  tempDir,
} from "../fixtures/fake/helpers.ts";

const ENV_SCRIPT = `#!/bin/sh
#SBATCH --job-name=envjob
#SBATCH --output=logs/%x.o%A.%a
echo "$SLURM_ARRAY_TASK_ID $SLURM_ARRAY_JOB_ID $SLURM_JOB_ID $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_STEP $SLURM_ARRAY_TASK_COUNT $SLURM_JOB_NAME \${SLURM_CPUS_PER_TASK-unset} $SLURM_SUBMIT_DIR"
`;

Deno.test("--array syntax: ranges, steps, lists, %N; bad specs are refused with the value", () => {
  assert.deepEqual(parseSlurmArray("0-3"), { indices: [0, 1, 2, 3], throttle: undefined, step: 1 });
  assert.deepEqual(parseSlurmArray("1-9:4"), { indices: [1, 5, 9], throttle: undefined, step: 4 });
  assert.deepEqual(parseSlurmArray("7,1-3,2%2"), { indices: [1, 2, 3, 7], throttle: 2, step: 1 });
  // A regular list still has STEP 1 on Slurm 22.05 (tests/real/FACTS.md).
  assert.deepEqual(parseSlurmArray("1,4,7").step, 1);
  assert.throws(() => parseSlurmArray("5-1"), /--array '5-1': '5-1' is an inverted range/);
  assert.throws(() => parseSlurmArray(""), /--array '' is empty/);
  assert.throws(() => parseSlurmArray("1-3:0"), /step in '1-3:0' must be at least 1/);
  assert.throws(() => parseSlurmArray("1-x"), /'1-x' is malformed/);
  assert.throws(() => parseSlurmArray("0-3%0"), /throttle after % must be a positive integer/);
  assert.throws(() => parseSlurmArray("0-1001"), /index 1001 is above MaxArraySize-1 = 1000/);
  assert.deepEqual(parseSlurmArray("1500", 2000).indices, [1500]);
});

Deno.test("--time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S", () => {
  assert.equal(parseSlurmTime("5"), 300);
  assert.equal(parseSlurmTime("5:30"), 330);
  assert.equal(parseSlurmTime("1:00:01"), 3601);
  assert.equal(parseSlurmTime("2-3"), 2 * 86400 + 3 * 3600);
  assert.equal(parseSlurmTime("1-0:30"), 86400 + 1800);
  assert.equal(parseSlurmTime("1-0:0:9"), 86409);
  assert.equal(parseSlurmTime("UNLIMITED"), null);
  assert.throws(() => parseSlurmTime("1h"), /--time '1h' is not a Slurm time; use M, M:S/);
});

Deno.test("filename patterns: %A %a %j %x %N %u %% and zero padding", () => {
  const v = { A: "100", a: "7", j: "103", x: "name", N: "node", u: "me" };
  assert.equal(
    expandSlurmPattern("%x-%A_%a-%j-%N-%u-100%%-%3a", v),
    "name-100_7-103-node-me-100%-007",
  );
});

Deno.test("environment per task and job ids: the highest index gets the array's id", async () => {
  const dir = await tempDir({ "env.sh": ENV_SCRIPT });
  await Deno.mkdir(join(dir, "logs"));
  const r = await runSbatch(dir, ["--array=1-7:3", "-c", "2", "env.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  const m = /^Submitted batch job (\d+)$/.exec(r.out[0]);
  assert.ok(m, r.out[0]);
  const id = Number(m[1]);
  const expected: Record<number, number> = { 1: id + 1, 4: id + 2, 7: id };
  for (const t of [1, 4, 7]) {
    const line = (await Deno.readTextFile(join(dir, `logs/envjob.o${id}.${t}`))).trim();
    assert.equal(line, `${t} ${id} ${expected[t]} 1 7 3 3 envjob 2 ${dir}`);
  }
});

Deno.test("no --array: runs once without SLURM_ARRAY_* and says so; default log slurm-%j.out", async () => {
  const script =
    '#!/bin/sh\n#SBATCH -J single\necho "[${SLURM_ARRAY_TASK_ID-none}] $SLURM_JOB_ID"\n';
  const dir = await tempDir({ "one.sh": script });
  const r = await runSbatch(dir, ["--parsable", "one.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.match(r.out[0], /^\d+$/);
  assert.match(r.err, /note: no --array directive: this is not an array job; it runs once/);
  assert.equal(await Deno.readTextFile(join(dir, `slurm-${r.out[0]}.out`)), `[none] ${r.out[0]}\n`);
});

Deno.test("--wait exits with the highest task exit code; default logs slurm-%A_%a.out", async () => {
  const script = "#!/bin/sh\ncase $SLURM_ARRAY_TASK_ID in 2) exit 2;; 5) exit 5;; esac\necho ok\n";
  const dir = await tempDir({ "w.sh": script });
  const r = await runSbatch(dir, ["--array=0-6", "--wait", "w.sh"]);
  assert.equal(r.exitCode, 5);
  assert.equal(r.report!.failed, "2,5");
  assert.equal(await Deno.readTextFile(join(dir, `slurm-${r.report!.jobId}_0.out`)), "ok\n");
  const nowait = await runSbatch(dir, ["--array=0-6", "w.sh"]);
  assert.equal(nowait.exitCode, 0);
});

Deno.test("--time is enforced: a task sleeping 5 s under --time=0:1 is killed, --wait exits 1", async () => {
  const script =
    "#!/bin/sh\n#SBATCH --time=0:1\n#SBATCH -o t_%a.log\n[ $SLURM_ARRAY_TASK_ID = 1 ] && sleep 5\necho fine\n";
  const dir = await tempDir({ "t.sh": script });
  const started = performance.now();
  const r = await runSbatch(dir, ["--array=0-1", "--wait", "t.sh"]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.exitCode, 1, r.err);
  assert.ok(seconds < 4, `took ${seconds} s`);
  const killed = r.report!.tasks[1];
  assert.equal(killed.timedOut, true);
  assert.equal(killed.signal, "SIGTERM");
  assert.match(
    await Deno.readTextFile(join(dir, "t_1.log")),
    /^slurmstepd-[^:]+: error: \*\*\* JOB \d+ ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT \*\*\*$/m,
  );
  assert.equal(await Deno.readTextFile(join(dir, "t_0.log")), "fine\n");
});

Deno.test("#SBATCH lines after the first command are ignored, with a warning naming the line", async () => {
  const script = "#!/bin/sh\n#SBATCH --array=0-1\necho $SLURM_JOB_NAME\n#SBATCH --array=0-9\n";
  const dir = await tempDir({ "late.sh": script });
  const r = await runSbatch(dir, ["late.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.equal(r.report!.tasksRun, 2);
  assert.match(
    r.err,
    /late\.sh:4: warning: '#SBATCH --array=0-9' comes after the first command; Slurm ignores it/,
  );
});

Deno.test("command-line options override #SBATCH directives; %N throttles", async () => {
  const script =
    "#!/bin/sh\n#SBATCH --array=0-99\n#SBATCH -J fromscript\necho + >> trace; sleep 0.2; echo - >> trace\n";
  const dir = await tempDir({ "o.sh": script });
  const r = await runSbatch(dir, ["--array=3-8%2", "--job-name", "fromcli", "o.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.deepEqual(r.report!.tasks.map((t) => t.index), [3, 4, 5, 6, 7, 8]);
  assert.equal(r.report!.jobName, "fromcli");
  assert.equal(await mostAtOnce(join(dir, "trace")), 2);
});

Deno.test("--export=NONE gives a minimal environment; --export=ALL,X=1 adds to it", async () => {
  const script = '#!/bin/sh\necho "${ARRAYJOB_PROBE-unset} ${X-unset}"\n';
  const dir = await tempDir({ "e.sh": script });
  const env = { ...Deno.env.toObject(), ARRAYJOB_PROBE: "here" };
  for (const [flag, want] of [["--export=NONE", "unset unset"], ["--export=ALL,X=1", "here 1"]]) {
    const io = captureIO();
    const r = await sbatch([flag, "-o", "out.txt", "e.sh"], { io, cwd: dir, env });
    assert.equal(r.exitCode, 0, io.err.join("\n"));
    assert.equal((await Deno.readTextFile(join(dir, "out.txt"))).trim(), want, flag);
  }
});

Deno.test("refusals name the bad value: bad --array, no #!, missing log dir, bad --time/--mem", async () => {
  const dir = await tempDir({
    "s.sh": "#!/bin/sh\necho hi\n",
    "noshebang.sh": "#SBATCH --array=0-1\necho\n",
  });
  const cases: [string[], RegExp][] = [
    [["--array=5-1", "s.sh"], /--array '5-1': '5-1' is an inverted range/],
    [["--array=1-3:x", "s.sh"], /'1-3:x' is malformed/],
    [["--array=0-2000", "s.sh"], /index 2000 is above MaxArraySize-1 = 1000.*--max-array-size/],
    [["--time=1h", "s.sh"], /--time '1h' is not a Slurm time/],
    [["--mem=lots", "s.sh"], /--mem 'lots' is not a size/],
    [["-c", "0", "s.sh"], /--cpus-per-task '0' must be a positive integer/],
    [
      ["-o", "nope/%a.log", "--array=0-1", "s.sh"],
      /log directory '.*\/nope' does not exist; real Slurm/,
    ],
    [["--bogus", "s.sh"], /unknown sbatch option '--bogus'/],
    [["noshebang.sh"], /noshebang\.sh:1: error: the script does not start with '#!'/],
    [
      ["-o", ".", "s.sh"],
      /log path '.*' is a directory; real Slurm writes nothing and fails the task/,
    ],
  ];
  for (const [args, re] of cases) {
    const r = await runSbatch(dir, args);
    assert.equal(r.exitCode, 1, args.join(" "));
    assert.match(r.err, re, args.join(" "));
    assert.equal(r.report, undefined, `${args.join(" ")}: nothing may run`);
    // A refused --array is not "no --array" (a fake bug listed in tests/real/FACTS.md).
    if (args.some((a) => a.startsWith("--array"))) {
      assert.doesNotMatch(r.err, /not an array job/, args.join(" "));
    }
  }
  const big = await runSbatch(dir, ["--array=1500-1501", "--max-array-size", "2000", "s.sh"]);
  assert.equal(big.exitCode, 0, big.err);
});

Deno.test("shim on PATH in a subprocess: sbatch --parsable --wait; MaxArraySize from the environment", async () => {
  const dir = await tempDir({
    "ok.sh": "#!/bin/sh\n#SBATCH --array=0-2\necho $SLURM_ARRAY_TASK_ID\n",
  });
  const ok = await runShim(dir, "sbatch", ["--parsable", "--wait", "ok.sh"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^\d+\n$/);
  const id = ok.stdout.trim();
  assert.equal(await Deno.readTextFile(join(dir, `slurm-${id}_2.out`)), "2\n");
  const bad = await runShim(dir, "sbatch", ["--array=1200", "--wait", "ok.sh"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /index 1200 is above MaxArraySize-1 = 1000/);
  const raised = await runShim(dir, "sbatch", ["--array=1200", "--wait", "ok.sh"], {
    ARRAYJOB_FAKE_MAX_ARRAY_SIZE: "1201",
  });
  assert.equal(raised.code, 0, raised.stderr);
  assert.match(raised.stdout, /^Submitted batch job \d+$/m);
});

Deno.test("sbatch.ts runs by URL from an http server (relative and node: imports only)", async () => {
  const server = serveRepo();
  try {
    const dir = await tempDir({
      "u.sh": "#!/bin/sh\n#SBATCH --array=0-1\necho $SLURM_ARRAY_TASK_ID\n",
    });
    const r = await runByUrl(dir, server.base, "fake_scheduler/sbatch.ts", [
      "--parsable",
      "--wait",
      "u.sh",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+$/m);
    assert.equal(await Deno.readTextFile(join(dir, `slurm-${r.stdout.trim()}_1.out`)), "1\n");
  } finally {
    await server.close();
  }
});

Deno.test("-D sets the working directory (and where relative logs go); --open-mode=append keeps logs", async () => {
  const dir = await tempDir({ "d.sh": "#!/bin/sh\n#SBATCH -o d.log\npwd\n" });
  await Deno.mkdir(join(dir, "work"));
  for (let i = 0; i < 2; i++) {
    const r = await runSbatch(dir, ["-D", "work", "--open-mode=append", "d.sh"]);
    assert.equal(r.exitCode, 0, r.err);
  }
  const work = join(dir, "work");
  assert.equal(await Deno.readTextFile(join(work, "d.log")), `${work}\n${work}\n`);
  const truncate = await runSbatch(dir, ["-D", "work", "d.sh"]);
  assert.equal(truncate.exitCode, 0, truncate.err);
  assert.equal(await Deno.readTextFile(join(work, "d.log")), `${work}\n`);
});

Deno.test("failed array task ids are written as inclusive runs (3,17-20), never as a slice (a:b)", async () => {
  // Slurm's own list syntax: the summary's ids can be pasted into --array= to run those again.
  const script = "#!/bin/sh\ncase $SLURM_ARRAY_TASK_ID in 3|17|18|19|20) exit 1;; esac\n";
  const dir = await tempDir({ "r.sh": script });
  const r = await runSbatch(dir, ["--array=0-21", "-o", "/dev/null", "r.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.equal(r.report!.failed, "3,17-20");
  assert.match(r.err, /^fake sbatch: failed array tasks: 3,17-20 \(first: task \d+ exit 1/m);
  assert.doesNotMatch(r.err, /\d:\d/);
  assert.deepEqual(parseSlurmArray(r.report!.failed).indices, [3, 17, 18, 19, 20]);
});

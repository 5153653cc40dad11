/**
 * Tests of `check` (static validation of directives) and `simulate` (running a script through the
 * face its directives call for): the same findings as the faces, flavour and --strict handling,
 * exit codes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { captureIO } from "../../fake_scheduler/io.ts";
import { checkMain, checkScript, simulateMain } from "../../fake_scheduler/mod.ts";
import { clusterScript } from "../../script.ts";
import { writeClusterScript } from "../../job_dir.ts";
import { formatArrayjobTasks } from "../../fake_scheduler/report.ts";
import { tempDir } from "../fixtures/fake/helpers.ts";

const SEED = await Deno.readTextFile(new URL("../fixtures/fake/seed_run.sh", import.meta.url));

function severities(text: string, options = {}): string[] {
  return checkScript(text, options).filter((d) => d.severity !== "note").map((d) =>
    `${d.severity}:${d.line ?? "-"}`
  );
}

Deno.test("check: the seed script has only warnings by default, naming the flavour", async () => {
  const dir = await tempDir();
  await Deno.mkdir(join(dir, "do_something"));
  const found = checkScript(SEED, { submitDir: dir });
  assert.ok(found.every((d) => d.severity !== "error"), JSON.stringify(found));
  const mem = found.find((d) => d.message.includes("m_mem_free"));
  assert.equal(mem?.severity, "warning");
  assert.equal(mem?.line, 15);
  assert.match(mem!.message, /univa .*only; sge8 \(Son of Grid Engine 8\.1\.9\) rejects/);
  assert.match(
    found.at(-1)!.message,
    /Grid Engine array job "do_something": 14 task\(s\), -t 1-14:1/,
  );
});

Deno.test("check: --flavour sge8 makes m_mem_free an error, univa does not; --strict makes all errors", async () => {
  const dir = await tempDir();
  await Deno.mkdir(join(dir, "do_something"));
  assert.deepEqual(
    severities(SEED, { submitDir: dir, flavour: "sge8" }).filter((s) => s.startsWith("error")),
    ["error:15", "error:20"], // m_mem_free: univa only; default.q: sge8 rejects unknown queues
  );
  assert.ok(
    severities(SEED, { submitDir: dir, flavour: "univa" }).every((s) => s.startsWith("warning")),
  );
  const strict = severities(SEED, { submitDir: dir, strict: true });
  assert.ok(strict.length >= 3 && strict.every((s) => s.startsWith("error")), strict.join(" "));
});

Deno.test("check: a missing log directory is a warning here (the cluster may have it)", async () => {
  const dir = await tempDir();
  const found = checkScript(SEED, { submitDir: dir });
  const log = found.find((d) => d.message.includes("log directory"));
  assert.equal(log?.severity, "warning");
  assert.match(log!.message, /do_something' does not exist here/);
});

Deno.test("check: what real schedulers refuse is an error, with the line", () => {
  assert.deepEqual(severities("#!/bin/sh\n#$ -t 1,2,3\necho\n"), ["error:2"]);
  assert.deepEqual(severities("#!/bin/sh\n#$ -N 9lives\n#$ -t 1-2\n#$ -cwd\n"), ["error:2"]);
  assert.deepEqual(severities("#!/bin/sh\n#SBATCH --array=3-1\necho\n"), ["error:2"]);
  assert.deepEqual(severities("#!/bin/sh\n#SBATCH --array=0-5000\necho\n"), ["error:2"]);
  assert.deepEqual(
    severities("#!/bin/sh\n#SBATCH --array=0-5000\necho\n", { maxArraySize: 5001 }),
    [],
  );
  assert.deepEqual(severities("#SBATCH --array=0-1\necho\n"), ["error:1"]);
  const none = checkScript("#!/bin/sh\necho hi\n");
  assert.equal(none[0].severity, "error");
  assert.match(none[0].message, /no '#\$' or '#SBATCH' directives: .*--scheduler sge or slurm/);
  const single = checkScript("#!/bin/sh\necho hi\n", { scheduler: "slurm" });
  assert.ok(single.some((d) => /not an array job; it runs once/.test(d.message)));
});

Deno.test("checkMain: exit 1 on errors, 0 with warnings; prints file:line", async () => {
  const dir = await tempDir({
    "bad.sh": "#!/bin/sh\n#SBATCH --array=0-3\n#SBATCH --time=1h\necho\n",
    "warn.sh": "#!/bin/sh\n#SBATCH --array=0-3\n#SBATCH --partition=gpu\necho\n",
  });
  const bad = captureIO();
  assert.equal(await checkMain(["bad.sh"], { io: bad, cwd: dir }), 1);
  assert.match(bad.err.join("\n"), /check: bad\.sh:3: error: --time '1h' is not a Slurm time/);
  const warn = captureIO();
  assert.equal(await checkMain(["warn.sh"], { io: warn, cwd: dir }), 0);
  assert.match(warn.err.join("\n"), /check: warn\.sh:3: warning: --partition gpu/);
  assert.match(warn.err.at(-1)!, /warn\.sh: 0 error\(s\), 1 warning\(s\)/);
  const strict = captureIO();
  assert.equal(await checkMain(["warn.sh", "--strict"], { io: strict, cwd: dir }), 1);
  const cli = captureIO();
  assert.equal(await checkMain(["warn.sh", "--array=0-2000"], { io: cli, cwd: dir }), 1);
  const flavour = captureIO();
  assert.equal(await checkMain(["warn.sh", "--flavour", "lsf"], { io: flavour, cwd: dir }), 1);
  assert.match(flavour.err[0], /--flavour 'lsf' is not known; use one of: sge8, univa/);
  const help = captureIO();
  assert.equal(await checkMain(["--help"], { io: help }), 0);
  assert.match(help.out[0], /usage: arrayjob check SCRIPT/);
});

Deno.test("simulateMain: picks qsub for #$ and sbatch for #SBATCH, passes options and script args", async () => {
  const dir = await tempDir({
    "g.sh":
      "#$ -t 1-3\n#$ -cwd\n#$ -S /bin/sh\n#$ -o g.$TASK_ID\n#$ -j y\necho sge $SGE_TASK_ID $1\n",
    "s.sh": "#!/bin/sh\n#SBATCH --array=0-2\n#SBATCH -o s.%a\necho slurm $SLURM_ARRAY_TASK_ID $1\n",
    "n.sh": "#!/bin/sh\nexit 4\n",
  });
  const g = captureIO();
  assert.equal(await simulateMain(["g.sh", "-sync", "y", "--", "arg"], { io: g, cwd: dir }), 0);
  assert.match(g.out[0], /^Your job-array \d+\.1-3:1 \("g\.sh"\) has been submitted$/);
  assert.equal(await Deno.readTextFile(join(dir, "g.3")), "sge 3 arg\n");
  const s = captureIO();
  assert.equal(await simulateMain(["s.sh", "--parsable", "--wait"], { io: s, cwd: dir }), 0);
  assert.match(s.out[0], /^\d+$/);
  assert.equal(await Deno.readTextFile(join(dir, "s.2")), "slurm 2\n");
  const n = captureIO();
  assert.equal(await simulateMain(["n.sh"], { io: n, cwd: dir }), 1);
  assert.match(
    n.err[0],
    /'n\.sh' has no '#\$' or '#SBATCH' directives; pass --scheduler sge or slurm/,
  );
  const forced = captureIO();
  assert.equal(
    await simulateMain(["n.sh", "--scheduler", "slurm", "--wait"], { io: forced, cwd: dir }),
    4,
  );
  const help = captureIO();
  assert.equal(await simulateMain(["--help"], { io: help }), 0);
  assert.match(help.out[0], /--slots N/);
});

Deno.test("scripts rendered by mod.ts pass check without errors or warnings, both schedulers", async () => {
  const dir = await tempDir();
  for (const scheduler of ["sge", "slurm"] as const) {
    const text = await clusterScript({
      scheduler,
      numTasks: 100,
      step: 7,
      command: ["python3", "fit.py"],
      outputDir: dir,
      jobName: "fit",
      cpus: 4,
      memory: "8G",
      time: "2:00:00",
      throttle: 5,
      wait: true,
    });
    const found = checkScript(text, { submitDir: dir, flavour: "sge8" });
    const problems = found.filter((d) => d.severity !== "note");
    assert.deepEqual(problems, [], `${scheduler}:\n${text}`);
    assert.match(found.at(-1)!.message, /15 task\(s\)/);
  }
});

Deno.test("check describes a Slurm array's indices in --array syntax: inclusive runs, no a:b", () => {
  const found = checkScript("#!/bin/sh\n#SBATCH --array=9-10,1-3,7%2\necho\n");
  assert.equal(
    found.at(-1)!.message,
    'Slurm array job "script.sh": 6 task(s), indices 1-3,7,9-10, at most 2 at once',
  );
});

Deno.test("simulateMain and checkMain find SCRIPT after options that take values", async () => {
  const dir = await tempDir({ "g.sh": "#$ -cwd\n#$ -o g.$TASK_ID\n#$ -j y\necho $SGE_TASK_ID\n" });
  const io = captureIO();
  assert.equal(await simulateMain(["-t", "2-3", "-N", "named", "g.sh"], { io, cwd: dir }), 0);
  assert.match(io.out[0], /^Your job-array \d+\.2-3:1 \("named"\) has been submitted$/);
  assert.equal(await Deno.readTextFile(join(dir, "g.3")), "3\n");
  const check = captureIO();
  assert.equal(await checkMain(["-t", "0-3", "g.sh"], { io: check, cwd: dir }), 1);
  assert.match(check.err.join("\n"), /0 is an invalid task id/);
});

for (const scheduler of ["sge", "slurm"] as const) {
  Deno.test(`simulate (${scheduler}): a script arrayjob rendered gets the task-level view of its records`, async () => {
    // Chunk 2:4 fails, chunk 4:6 outlives the 1 s limit and is killed before its record's end.
    const dir = await tempDir({
      "prog.sh": "case $1 in --tasks=2:4) exit 3 ;; --tasks=4:6) sleep 5 ;; esac\n",
    });
    const script = await writeClusterScript({
      scheduler,
      numTasks: 6,
      step: 2,
      time: 1,
      command: ["/bin/sh", join(dir, "prog.sh")],
      outputDir: join(dir, "job"),
      jobName: "chunks",
    });
    const io = captureIO();
    // A local test: a failed or unfinished task makes simulate fail.
    assert.equal(await simulateMain([script, "--report", "rep.json"], { io, cwd: dir }), 1);
    const face = scheduler === "sge" ? "qsub" : "sbatch";
    const err = io.err.join("\n");
    assert.match(err, /killed for exceeding the run-time limit: \d+$/m);
    assert.match(
      err,
      new RegExp(
        `^fake ${face}: arrayjob tasks: 2 done, 2 failed: 2:4; 2 never finished: 4:6 ` +
          `\\(rerun: arrayjob resubmit job\\)$`,
        "m",
      ),
    );
    const report = JSON.parse(await Deno.readTextFile(join(dir, "rep.json")));
    assert.deepEqual(report.arrayjob, {
      dir: join(dir, "job"),
      numTasks: 6,
      records: 3,
      done: { count: 2, tasks: "0:2" },
      failed: { count: 2, tasks: "2:4" },
      neverFinished: { count: 2, tasks: "4:6" },
    });
    // Once every task has succeeded in some run there is nothing to rerun: no hint.
    await Deno.writeTextFile(join(dir, "prog.sh"), "exit 0\n");
    const again = captureIO();
    assert.equal(await simulateMain([script], { io: again, cwd: dir }), 0);
    assert.match(
      again.err.join("\n"),
      new RegExp(`^fake ${face}: arrayjob tasks: 6 done, 0 failed, 0 never finished$`, "m"),
    );
  });
}

Deno.test("simulate: a script arrayjob did not render gets no arrayjob line, nor a broken manifest a failure", async () => {
  const dir = await tempDir({
    "s.sh": "#!/bin/sh\n#SBATCH --array=0-1\n#SBATCH -o o.%a\nexit 0\n",
  });
  const io = captureIO();
  assert.equal(await simulateMain(["s.sh", "--report", "r.json"], { io, cwd: dir }), 0);
  assert.doesNotMatch(io.err.join("\n"), /arrayjob tasks/);
  assert.equal(JSON.parse(await Deno.readTextFile(join(dir, "r.json"))).arrayjob, undefined);
  await Deno.writeTextFile(join(dir, "arrayjob.json"), "{ not json");
  const broken = captureIO();
  assert.equal(await simulateMain(["s.sh", "--wait"], { io: broken, cwd: dir }), 0);
  assert.match(broken.err.join("\n"), /warning: cannot read arrayjob's records in /);
});

Deno.test("the arrayjob line: long lists are shortened, a directory outside the submit dir is absolute", () => {
  const scattered = Array.from({ length: 25 }, (_, i) => `${10 * i}`).join(",");
  const line = formatArrayjobTasks(
    {
      dir: "/data/my job",
      numTasks: 250,
      records: 250,
      done: { count: 225, tasks: "1:10" },
      failed: { count: 25, tasks: scattered },
      neverFinished: { count: 0, tasks: "" },
    },
    "fake qsub",
    "/home/me",
  );
  assert.equal(
    line,
    "fake qsub: arrayjob tasks: 225 done, 25 failed: " +
      `${scattered.split(",").slice(0, 20).join(",")},… (5 more ranges); 0 never finished ` +
      "(rerun: arrayjob resubmit '/data/my job')",
  );
});

Deno.test(`check refuses -t over Grid Engine's max_aj_tasks (75,000, from DIALECTS)`, () => {
  const over = checkScript("#$ -t 1-100000\ntrue\n");
  assert.equal(over[0].severity, "error");
  assert.match(
    over[0].message,
    /100000 array tasks, more than Grid Engine's default max_aj_tasks \(75000/,
  );
  // The limit counts array tasks, not the largest index: 1-149999:2 is 75,000 of them.
  assert.equal(
    checkScript("#$ -t 1-149999:2\ntrue\n").filter((d) => d.severity === "error").length,
    0,
  );
});

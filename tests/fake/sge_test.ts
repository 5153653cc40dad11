/**
 * Tests of the fake Grid Engine qsub: the seed's own script, environment, array ranges, option
 * precedence, logs, failures (exit codes, h_rt kills, 10 MB of output), refusals, and the shim
 * on PATH in a subprocess.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { captureIO } from "../../fake_scheduler/io.ts";
import { qsub } from "../../fake_scheduler/qsub.ts";
import { parseSgeRange, parseSgeTime } from "../../fake_scheduler/sge_options.ts";
import {
  mostAtOnce,
  runByUrl,
  runQsub,
  runShim,
  serveRepo,
  tempDir,
} from "../fixtures/fake/helpers.ts";

const SEED = new URL("../fixtures/fake/seed_run.sh", import.meta.url);

Deno.test("the seed's own SGE script runs on the fake as written: 14 tasks, 0:1..13:14", async () => {
  const dir = await tempDir({ "seed_run.sh": await Deno.readTextFile(SEED) });
  await Deno.mkdir(join(dir, "do_something"));
  const r = await runQsub(dir, ["-sync", "y", "seed_run.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  const m = /^Your job-array (\d+)\.1-14:1 \("do_something"\) has been submitted$/.exec(r.out[0]);
  assert.ok(m, r.out[0]);
  const jobId = m[1];
  assert.equal(r.report?.tasksRun, 14);
  const record = (await Deno.readTextFile(join(dir, "do_something/record.txt"))).trim().split("\n");
  assert.deepEqual(
    record.sort(),
    Array.from({ length: 14 }, (_, i) => `--tasks=${i}:${i + 1}`).sort(),
  );
  for (let t = 1; t <= 14; t++) {
    await Deno.stat(join(dir, `do_something/do_something.o${jobId}.${t}`)); // -j y: one log per task
  }
  // Legal but flavour-dependent or site-dependent: warnings, naming the flavour.
  assert.match(r.err, /warning: .*m_mem_free.*univa.*sge8/);
  assert.match(r.err, /warning: -pe smp 1 /);
  assert.match(r.err, /warning: -q default\.q/);
  assert.equal(r.out.filter((l) => /^Job \d+\.\d+ exited with exit code 0\.$/.test(l)).length, 14);
});

Deno.test("the seed script is refused under --flavour sge8 (m_mem_free) and --strict", async () => {
  const dir = await tempDir({ "seed_run.sh": await Deno.readTextFile(SEED) });
  await Deno.mkdir(join(dir, "do_something"));
  const sge8 = await runQsub(dir, ["--flavour", "sge8", "seed_run.sh"]);
  assert.equal(sge8.exitCode, 1);
  assert.match(sge8.err, /seed_run\.sh:15: error: -l m_mem_free=10G: .*univa.*only/);
  assert.equal(sge8.report, undefined);
  const univa = await runQsub(dir, ["--flavour", "univa", "seed_run.sh"]);
  assert.equal(univa.exitCode, 0, univa.err);
  const strict = await runQsub(dir, ["--strict", "seed_run.sh"]);
  assert.equal(strict.exitCode, 1);
  assert.match(strict.err, /error: -pe smp 1/);
});

const ENV_SCRIPT = `#!/bin/sh
#$ -N envjob
#$ -cwd
#$ -S /bin/sh
#$ -j y
#$ -o logs/
echo "$SGE_TASK_ID $SGE_TASK_FIRST $SGE_TASK_LAST $SGE_TASK_STEPSIZE $JOB_ID $JOB_NAME $NSLOTS $QUEUE $SGE_O_WORKDIR $(pwd)"
`;

Deno.test("environment per task: SGE_TASK_*, JOB_*, NSLOTS from -pe, QUEUE, SGE_O_WORKDIR", async () => {
  const dir = await tempDir({ "env.sh": ENV_SCRIPT });
  await Deno.mkdir(join(dir, "logs"));
  const r = await runQsub(dir, ["-t", "2-11:3", "-pe", "smp", "4", "-q", "all.q", "env.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  const jobId = r.report!.jobId;
  // 2-11:3 runs 2,5,8,11; a directory as -o gets the default NAME.oJOB.TASK inside it.
  for (const t of [2, 5, 8, 11]) {
    const line = (await Deno.readTextFile(join(dir, `logs/envjob.o${jobId}.${t}`))).trim();
    assert.equal(line, `${t} 2 11 3 ${jobId} envjob 4 all.q ${dir} ${dir}`);
  }
  // A range whose end is not on a step is corrected to the last real task.
  assert.deepEqual(parseSgeRange("1-10:3"), { first: 1, last: 10, step: 3, inverted: false });
  assert.deepEqual(parseSgeRange("1-9:3"), { first: 1, last: 7, step: 3, inverted: false });
  assert.deepEqual(parseSgeRange("5"), { first: 5, last: 5, step: 1, inverted: false });
  // SGE 8.1.9 swaps an inverted range silently (tests/real/FACTS.md); the fake flags it.
  assert.deepEqual(parseSgeRange("5-2"), { first: 2, last: 5, step: 1, inverted: true });
});

Deno.test("a single -t 5 runs only task 5", async () => {
  const dir = await tempDir({ "env.sh": ENV_SCRIPT });
  await Deno.mkdir(join(dir, "logs"));
  const r = await runQsub(dir, ["-t", "5", "-terse", "env.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.match(r.out[0], /^\d+\.5-5:1$/);
  assert.deepEqual(r.report!.tasks.map((t) => t.index), [5]);
});

Deno.test("no -t: not an array job, runs once with SGE_TASK_ID=undefined, and says so", async () => {
  const dir = await tempDir({ "env.sh": ENV_SCRIPT });
  await Deno.mkdir(join(dir, "logs"));
  const r = await runQsub(dir, ["env.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.match(r.out[0], /^Your job (\d+) \("envjob"\) has been submitted$/);
  assert.match(r.err, /note: no -t directive: this is not an array job; it runs once/);
  const jobId = r.report!.jobId;
  const line = (await Deno.readTextFile(join(dir, `logs/envjob.o${jobId}`))).trim();
  assert.match(line, new RegExp(`^undefined undefined undefined undefined ${jobId} envjob 1 `));
});

Deno.test("command-line options override #$ directives", async () => {
  const script =
    `#$ -t 1-10\n#$ -N fromscript\n#$ -cwd\n#$ -S /bin/sh\necho "$SGE_TASK_ID $JOB_NAME"\n`;
  const dir = await tempDir({ "o.sh": script });
  const r = await runQsub(dir, [
    "-t",
    "2-3",
    "-N",
    "fromcli",
    "-o",
    "out.$TASK_ID",
    "-j",
    "y",
    "o.sh",
  ]);
  assert.equal(r.exitCode, 0, r.err);
  assert.deepEqual(r.report!.tasks.map((t) => t.index), [2, 3]);
  assert.equal((await Deno.readTextFile(join(dir, "out.2"))).trim(), "2 fromcli");
  assert.equal((await Deno.readTextFile(join(dir, "out.3"))).trim(), "3 fromcli");
});

Deno.test("-o/-e expand $JOB_ID $TASK_ID $JOB_NAME $USER; default names in the cwd; -e separate", async () => {
  const script = `#$ -cwd\n#$ -S /bin/sh\necho out; echo err >&2\n`;
  const dir = await tempDir({ "p.sh": script });
  const r = await runQsub(dir, [
    "-t",
    "1-2",
    "-N",
    "pj",
    "-o",
    "$JOB_NAME-$JOB_ID-$TASK_ID-$USER.out",
    "p.sh",
  ]);
  assert.equal(r.exitCode, 0, r.err);
  const id = r.report!.jobId;
  const user = r.report!.tasks[0].log.split("-").at(-1)!.replace(".out", "");
  assert.ok(user.length > 0);
  assert.equal(await Deno.readTextFile(join(dir, `pj-${id}-1-${user}.out`)), "out\n");
  // No -e: the default error file NAME.eJOB.TASK in the working directory.
  assert.equal(await Deno.readTextFile(join(dir, `pj.e${id}.2`)), "err\n");
});

Deno.test("a task that exits 3: -sync y exits 3, summary lists the index; without -sync exit 0", async () => {
  const script = `#$ -cwd\n#$ -S /bin/sh\n[ "$SGE_TASK_ID" = 3 ] && exit 3\nexit 0\n`;
  const dir = await tempDir({ "f.sh": script });
  const sync = await runQsub(dir, ["-t", "1-5", "-sync", "y", "f.sh"]);
  assert.equal(sync.exitCode, 3);
  assert.equal(sync.report!.failed, "3");
  assert.match(sync.err, /failed array tasks: 3 \(first: task 3 exit 3/);
  // As real qsub: failures on stderr, successes on stdout (tests/real/FACTS.md).
  assert.match(sync.err, /^Job \d+\.3 exited with exit code 3\.$/m);
  assert.equal(sync.out.filter((l) => / exited with exit code 0\.$/.test(l)).length, 4);
  const nosync = await runQsub(dir, ["-t", "1-5", "f.sh"]);
  assert.equal(nosync.exitCode, 0);
  assert.equal(nosync.report!.failed, "3");
});

Deno.test("h_rt is enforced: a task sleeping 5 s under h_rt=1 is killed (SIGKILL), -sync y exits 1", async () => {
  const script =
    `#$ -cwd\n#$ -S /bin/sh\n#$ -l h_rt=0:0:1\nif [ "$SGE_TASK_ID" = 2 ]; then sleep 5; fi\necho done\n`;
  const dir = await tempDir({ "k.sh": script });
  const started = performance.now();
  const r = await runQsub(dir, ["-t", "1-2", "-sync", "y", "-N", "k", "k.sh"]);
  const seconds = (performance.now() - started) / 1000;
  assert.equal(r.exitCode, 1, r.err);
  assert.ok(seconds < 4, `took ${seconds} s: the kill did not happen at 1 s`);
  const killed = r.report!.tasks.find((t) => t.index === 2)!;
  assert.equal(killed.timedOut, true);
  assert.equal(killed.signal, "SIGKILL");
  assert.equal(r.report!.timedOut, "2");
  assert.match(r.err, /killed for exceeding the run-time limit: 2/);
  assert.match(r.err, /^Job \d+\.2 exited because of signal SIGKILL$/m);
  assert.equal(await Deno.readTextFile(r.report!.tasks[0].log), "done\n");
  assert.equal(parseSgeTime("3600"), 3600);
  assert.equal(parseSgeTime("1:30:00"), 5400);
  assert.throws(() => parseSgeTime("1h"), /h_rt '1h' is not a Grid Engine time/);
});

Deno.test("a task printing 10 MB: the log gets every byte, stderr goes to its own file", async () => {
  const script =
    `#$ -cwd\n#$ -S /bin/sh\nhead -c 10485760 /dev/zero | tr '\\0' x\necho tail-err >&2\n`;
  const dir = await tempDir({ "big.sh": script });
  const r = await runQsub(dir, ["-t", "1-2", "big.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  for (const t of r.report!.tasks) {
    assert.equal((await Deno.stat(t.log)).size, 10485760);
    assert.equal(await Deno.readTextFile(t.errorLog), "tail-err\n");
  }
});

Deno.test("-tc 2 throttles: never more than 2 tasks at once, even with 4 slots", async () => {
  // Each task appends + on start and - on end; the running count must never exceed 2.
  const script = `#$ -cwd\n#$ -S /bin/sh\necho + >> trace\nsleep 0.2\necho - >> trace\n`;
  const dir = await tempDir({ "tc.sh": script });
  const r = await runQsub(dir, ["-t", "1-6", "-tc", "2", "tc.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.equal(await mostAtOnce(join(dir, "trace")), 2);
});

Deno.test("refusals name the bad value: malformed -t, lists, inverted, step 0, bad names, missing log dir", async () => {
  const dir = await tempDir({ "s.sh": "#$ -cwd\necho hi\n" });
  // Exit codes as real qsub 8.1.9 gives them (tests/real/FACTS.md): 7 for -t syntax, 2 for '/'.
  const cases: [string[], RegExp, number][] = [
    [["-t", "1,3,5"], /-t '1,3,5' is malformed: .*one range per -t.*Slurm syntax/, 7],
    [["-t", "0-3"], /-t '0-3': 0 is an invalid task id; task ids start at 1/, 1],
    [["-t", "1-10:0"], /-t '1-10:0': step must be at least 1/, 7],
    [["-t", "a-b"], /-t 'a-b' is malformed: Grid Engine takes n\[-m\[:s\]\]/, 7],
    [["-N", "1abc"], /-N '1abc' .*cannot start with a digit/, 1],
    [["-N", "a/b"], /-N 'a\/b': qsub refuses a job name containing '\/'/, 2],
    [["-N", "a:b"], /-N 'a:b' is refused by Grid Engine/, 1],
    [
      ["-o", "nope/$TASK_ID.log", "-t", "1-2"],
      /log directory '.*\/nope' does not exist; real SGE would put the task in Eqw and 'qsub -sync y' would hang/,
      1,
    ],
    [["-o", "nodir/", "-t", "1-2"], /log directory '.*\/nodir' does not exist/, 1],
    [["-S", "/no/such/shell"], /-S '\/no\/such\/shell': no such shell/, 1],
    [["-l", "h_rt=1h"], /h_rt '1h' is not a Grid Engine time/, 1],
    [["-bogus"], /unknown qsub option '-bogus'/, 1],
    [["--slots", "0"], /--slots must be a positive integer, got '0'/, 1],
    [["--flavour", "pbs"], /--flavour 'pbs' is not known; use one of: sge8, univa/, 1],
  ];
  for (const [args, re, code] of cases) {
    const r = await runQsub(dir, [...args, "s.sh"]);
    assert.equal(r.exitCode, code, args.join(" "));
    assert.match(r.err, re, args.join(" "));
    assert.equal(r.report, undefined, `${args.join(" ")}: nothing may run`);
    if (args[0] === "-t") assert.doesNotMatch(r.err, /not an array job/, args.join(" "));
  }
  const line = await runQsub(await tempDir({ "d.sh": "#$ -t 1-3\n#$ -t 0-1\necho\n" }), ["d.sh"]);
  assert.match(line.err, /d\.sh:2: error: -t '0-1': 0 is an invalid task id/);
});

Deno.test("--report writes JSON with one record per task", async () => {
  const dir = await tempDir({ "r.sh": `#$ -cwd\n#$ -S /bin/sh\nexit $((SGE_TASK_ID % 2))\n` });
  const r = await runQsub(dir, ["-t", "1-4", "--report", "rep.json", "r.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  const rep = JSON.parse(await Deno.readTextFile(join(dir, "rep.json")));
  assert.equal(rep.tasksRun, 4);
  assert.equal(rep.failed, "1,3");
  assert.deepEqual(
    rep.tasks.map((t: { index: number; exitCode: number }) => [t.index, t.exitCode]),
    [
      [1, 1],
      [2, 0],
      [3, 1],
      [4, 0],
    ],
  );
});

Deno.test("shim on PATH in a subprocess: qsub -sync y -terse, exit code of a failing task", async () => {
  const dir = await tempDir({
    "ok.sh": `#$ -t 1-3\n#$ -cwd\n#$ -S /bin/sh\necho $SGE_TASK_ID\n`,
    "bad.sh": `#$ -t 1-3\n#$ -cwd\n#$ -S /bin/sh\n[ $SGE_TASK_ID = 2 ] && exit 7\nexit 0\n`,
  });
  const ok = await runShim(dir, "qsub", ["-sync", "y", "-terse", "ok.sh"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout.split("\n")[0], /^\d+\.1-3:1$/);
  assert.match(ok.stderr, /3 task\(s\) run, 3 ok, 0 failed/);
  const bad = await runShim(dir, "qsub", ["-sync", "y", "bad.sh"]);
  assert.equal(bad.code, 7, bad.stderr);
  const help = await runShim(dir, "qsub", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--slots N/);
  assert.match(help.stdout, /-t n\[-m\[:s\]\]/);
});

Deno.test("qsub.ts runs by URL from an http server (relative and node: imports only)", async () => {
  const server = serveRepo();
  try {
    const dir = await tempDir({
      "u.sh": `#$ -t 1-2\n#$ -cwd\n#$ -S /bin/sh\n#$ -o u.$TASK_ID\necho $SGE_TASK_ID\n`,
    });
    const r = await runByUrl(dir, server.base, "fake_scheduler/qsub.ts", [
      "-sync",
      "y",
      "-terse",
      "u.sh",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.1-2:1$/m);
    assert.equal(await Deno.readTextFile(join(dir, "u.2")), "2\n");
  } finally {
    await server.close();
  }
});

Deno.test("exit 99 and 100 mean re-queue and error state on real Grid Engine: the fake warns", async () => {
  const script = `#$ -cwd\n#$ -S /bin/sh\ncase $SGE_TASK_ID in 2) exit 99;; 3) exit 100;; esac\n`;
  const dir = await tempDir({ "x.sh": script });
  const r = await runQsub(dir, ["-t", "1-3", "x.sh"]);
  assert.equal(r.report!.tasksRun, 3); // each task still runs exactly once in the fake
  assert.match(r.err, /warning: task\(s\) 2 exited 99: real Grid Engine re-queues/);
  assert.match(r.err, /warning: task\(s\) 3 exited 100: .*error state.*would not return/);
});

Deno.test("a bad ARRAYJOB_FAKE_SLOTS is refused before anything is submitted", async () => {
  const dir = await tempDir({ "ok.sh": `#$ -t 1-2\n#$ -cwd\necho\n` });
  const r = await runShim(dir, "qsub", ["ok.sh"], { ARRAYJOB_FAKE_SLOTS: "many" });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /ARRAYJOB_FAKE_SLOTS must be a positive integer, got 'many'/);
});

Deno.test("as measured on SGE 8.1.9: minimal PATH without -V, TMP per task, RESTARTED, log paths", async () => {
  // tests/real/FACTS.md, "Task environment".
  const script = `#$ -cwd\n#$ -o logs/\n#$ -j y\n` +
    `echo "$PATH|$TMP|$RESTARTED|$SGE_STDOUT_PATH"; test -d "$TMP" && echo tmp-exists\n`;
  const dir = await tempDir({ "e.sh": script });
  await Deno.mkdir(join(dir, "logs"));
  const r = await runQsub(dir, ["-t", "1-2", "-N", "m", "e.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  const id = r.report!.jobId;
  const log = join(dir, `logs/m.o${id}.2`);
  const [line, exists] = (await Deno.readTextFile(log)).trim().split("\n");
  const [path, tmp, restarted, stdoutPath] = line.split("|");
  assert.match(tmp, new RegExp(`/${id}\\.2\\.all\\.q$`));
  assert.equal(path, `${tmp}:/usr/local/bin:/bin:/usr/bin`);
  assert.equal(restarted, "0");
  assert.equal(stdoutPath, log);
  assert.equal(exists, "tmp-exists");
  await assert.rejects(Deno.stat(tmp)); // removed when the task ends
});

Deno.test("as measured on SGE 8.1.9: $TASK_ID is 0 in paths outside arrays; the #! line is ignored", async () => {
  const script = `#!/bin/bash\n#$ -cwd\n#$ -o out.$TASK_ID\n#$ -j y\nv=HOME; echo "\${!v}"\n`;
  const dir = await tempDir({ "b.sh": script });
  const r = await runQsub(dir, ["-sync", "y", "b.sh"]);
  // The queue's /bin/sh (dash) runs the script, so the bash-only ${!v} fails, as on the real one.
  assert.equal(r.exitCode, 2, r.err);
  assert.match(await Deno.readTextFile(join(dir, "out.0")), /Bad substitution/);
  const bash = await runQsub(dir, ["-sync", "y", "-S", "/bin/bash", "b.sh"]);
  assert.equal(bash.exitCode, 0, bash.err);
});

Deno.test("a #$ option set twice in the script warns like real qsub; the later one wins", async () => {
  const script = `#$ -N early\n#$ -cwd\necho hello\n#$ -N late\n`;
  const dir = await tempDir({ "late.sh": script });
  const r = await runQsub(dir, ["late.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.match(r.out[0], /\("late"\) has been submitted/);
  assert.match(
    r.err,
    /late\.sh:4: warning: "-N" option has already been set, overriding previous setting/,
  );
});

Deno.test("an inverted -t is swapped as SGE 8.1.9 does, with a warning; an error with --strict", async () => {
  const dir = await tempDir({ "s.sh": "#$ -cwd\necho $SGE_TASK_ID\n" });
  const r = await runQsub(dir, ["-t", "5-2", "-terse", "s.sh"]);
  assert.equal(r.exitCode, 0, r.err);
  assert.match(r.out[0], /^\d+\.2-5:1$/);
  assert.match(
    r.err,
    /warning: -t 5-2 is an inverted range; SGE 8\.1\.9 silently swaps it to 2-5:1/,
  );
  const strict = await runQsub(dir, ["--strict", "-t", "5-2", "s.sh"]);
  assert.equal(strict.exitCode, 1);
});

Deno.test("progress: a done/total line on a terminal, nothing before the summary off one", async () => {
  const dir = await tempDir({
    "p.sh": `#$ -t 1-3\n#$ -cwd\n[ $SGE_TASK_ID = 2 ] && exit 1\nexit 0\n`,
  });
  // script(1) gives the shim a pseudo-terminal; its output is the terminal's, stdout and stderr.
  // A spool of its own: the default one's slots are shared with every other test's jobs.
  const spool = { ARRAYJOB_FAKE_SPOOL: join(dir, "spool") };
  const tty = await runShim(dir, "script", ["-qec", "qsub -sync y p.sh", "/dev/null"], spool);
  assert.equal(tty.code, 1, tty.stderr);
  assert.match(tty.stdout, /\rfake qsub: 3\/3 done, 1 failed, \d+:\d\d elapsed[^\r\n]*\r?\n/);
  const pipe = await runShim(dir, "qsub", ["-sync", "y", "p.sh"], spool);
  assert.equal(pipe.code, 1);
  assert.doesNotMatch(pipe.stderr, /done,/);
  assert.match(pipe.stderr, /^fake qsub: job \d+ \("p\.sh"\): 3 task\(s\) run, 2 ok, 1 failed/m);
  assert.match(pipe.stderr, /^fake qsub: failed array tasks: 2 \(first: task 2 exit 1/m);
});

Deno.test("-b y runs a command, -wd sets the working directory, -v passes chosen variables", async () => {
  const dir = await tempDir();
  await Deno.mkdir(join(dir, "work"));
  const r = await runQsub(dir, [
    "-b",
    "y",
    "-wd",
    "work",
    "-v",
    "A=1,B",
    "-t",
    "1-2",
    "-o",
    "o.$TASK_ID",
    "-j",
    "y",
    "-sync",
    "y",
    "printenv",
    "A",
    "SGE_TASK_ID",
  ]);
  assert.equal(r.exitCode, 0, r.err);
  assert.equal(r.report!.jobName, "printenv");
  assert.equal(await Deno.readTextFile(join(dir, "work/o.2")), "1\n2\n");
  const missing = await runQsub(dir, ["-b", "y", "-wd", "nowhere", "true"]);
  assert.equal(missing.exitCode, 1);
  assert.match(missing.err, /working directory '.*\/nowhere' \(-wd\) does not exist/);
});

Deno.test("a task that cannot start: a missing -b y command exits 127, an unwritable log 2", async () => {
  const dir = await tempDir();
  const missing = await runQsub(dir, ["-b", "y", "-o", "m.log", "-j", "y", "no-such-command-x"]);
  assert.equal(missing.exitCode, 0, missing.err);
  assert.equal(missing.report!.tasks[0].exitCode, 127);
  assert.match(await Deno.readTextFile(join(dir, "m.log")), /no-such-command-x: not found/);
  // The log's directory exists, so the job is accepted, but the log is a link to nowhere.
  await Deno.symlink("/no/such/dir/log", join(dir, "dangling.log"));
  const args = ["-b", "y", "-o", "dangling.log", "-j", "y", "-sync", "y", "true"];
  const log = await runQsub(dir, args);
  assert.equal(log.exitCode, 2, log.err);
  assert.equal(log.report!.tasks[0].exitCode, 2);
});

Deno.test("a task killed by a signal has the shell's status 128+N", async () => {
  const dir = await tempDir({ "k.sh": "#$ -cwd\nkill -TERM $$\n" });
  const r = await runQsub(dir, ["-t", "1-2", "k.sh"]);
  assert.deepEqual(r.report!.tasks.map((t) => [t.exitCode, t.signal]), [
    [143, "SIGTERM"],
    [143, "SIGTERM"],
  ]);
});

Deno.test("each task gets an empty TMP of its own, whatever the task before left in its; none remain", async () => {
  // One at a time (-tc 1), so each task's TMP can be the one an earlier task just finished with.
  const script = `#$ -cwd\n#$ -o logs/\n#$ -j y\n` +
    `echo "$(ls -A "$TMP" | wc -l) $(stat -c %a "$TMP")"\n` +
    `case $SGE_TASK_ID in 1) touch "$TMP/left";; 2) chmod 700 "$TMP";; esac\n`;
  const tmpRoot = await tempDir();
  const dir = await tempDir({ "t.sh": script });
  await Deno.mkdir(join(dir, "logs"));
  const io = captureIO();
  const env = { ...Deno.env.toObject(), TMPDIR: tmpRoot };
  const r = await qsub(["-t", "1-4", "-tc", "1", "-N", "t", "t.sh"], { io, cwd: dir, env });
  assert.equal(r.exitCode, 0, io.err.join("\n"));
  const id = r.report!.jobId;
  const seen = [1, 2, 3, 4].map((t) =>
    Deno.readTextFileSync(join(dir, `logs/t.o${id}.${t}`)).trim()
  );
  const mode = seen[0].split(" ")[1];
  assert.deepEqual(seen, [`0 ${mode}`, `0 ${mode}`, `0 ${mode}`, `0 ${mode}`]);
  assert.deepEqual([...Deno.readDirSync(tmpRoot)], []);
});

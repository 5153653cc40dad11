/**
 * Issue 12, as a specification: a job directory never reports a task done that did not succeed,
 * every error is one line with nothing half written, and task sets are ranges.
 */

import assert from "node:assert/strict";
import { JobDirError, MANIFEST, writeClusterScripts } from "../job_dir.ts";
import { jobStatus } from "../status.ts";
import { writeResubmitScript } from "../resubmit.ts";
import { clusterScript } from "../script.ts";
import { cli, oneLine } from "./fixtures/cli.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-truth-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const job = (dir: string) => ({ numTasks: 4, command: ["./fit"], workDir: dir, outputDir: "out" });

Deno.test("a corrupt or deleted manifest: status and resubmit say it cannot be read, script refuses to render over the records", async () => {
  await withDir(async (dir) => {
    await writeClusterScripts(job(dir));
    await Deno.writeTextFile(`${dir}/out/records/7.1`, "start\t0:1\t1\nend\t0\t2\n");
    const corrupt = [
      "",
      '{"version":1,"numTasks":',
      "null",
      '{"version":1}',
      JSON.stringify({ version: 1, numTasks: -1, options: { command: ["x"] } }),
      JSON.stringify({ version: 1, numTasks: 1.5, options: { command: ["x"] } }),
    ];
    for (const text of corrupt) {
      await Deno.writeTextFile(`${dir}/out/${MANIFEST}`, text);
      await assert.rejects(() => jobStatus(`${dir}/out`), JobDirError, text);
      for (const command of [["status", "out"], ["resubmit", "out"]]) {
        const r = await cli(command, dir);
        assert.equal(r.code, 1, `${command} ${text}: ${r.stderr}`);
        assert.match(r.stderr, /cannot be read/);
        assert.doesNotMatch(r.stdout, /done/);
        oneLine(r.stderr);
      }
      const render = await cli([
        "script",
        "--num-tasks",
        "9",
        "--output-dir",
        "out",
        "--",
        "./other",
      ], dir);
      assert.equal(render.code, 1);
      assert.match(render.stderr, /choose another output directory, or delete/);
      oneLine(render.stderr);
    }
    await Deno.remove(`${dir}/out/${MANIFEST}`);
    const missing = await cli(["status", "out"], dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /has records but no arrayjob.json/);
    // A good manifest whose records/ is a file.
    await Deno.remove(`${dir}/out`, { recursive: true });
    await writeClusterScripts(job(dir));
    await Deno.remove(`${dir}/out/records`, { recursive: true });
    await Deno.writeTextFile(`${dir}/out/records`, "");
    for (const command of [["status", "out"], ["resubmit", "out"]]) {
      const r = await cli(command, dir);
      assert.equal(r.code, 1, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /records is not a directory, so the job's records cannot be read/);
      assert.doesNotMatch(r.stdout, /done/);
      oneLine(r.stderr);
    }
    const over = await cli(
      ["script", "--num-tasks", "4", "--output-dir", "out", "--", "./fit"],
      dir,
    );
    assert.equal(over.code, 1, over.stderr);
    oneLine(over.stderr);
  });
});

Deno.test("resubmit DIR given relative from another directory writes into that job's directory", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/elsewhere/deep`, { recursive: true });
    await writeClusterScripts({ ...job(dir), workDir: `${dir}/elsewhere` });
    const r = await cli(["resubmit", "../out"], `${dir}/elsewhere/deep`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${dir}/elsewhere/out/resubmit-1.sh`);
    const text = await Deno.readTextFile(`${dir}/elsewhere/out/resubmit-1.sh`);
    assert.match(text, new RegExp(`RECORD='?${dir}/elsewhere/out/records`));
    // Run from yet another directory, its records join the job's: status shows the rerun.
    await Deno.writeTextFile(`${dir}/elsewhere/fit`, "#!/bin/sh\n", { mode: 0o755 });
    const rerun = await cli(["simulate", "../out/resubmit-1.sh"], `${dir}/elsewhere/deep`);
    assert.equal(rerun.code, 0, rerun.stderr);
    const status = await cli(["status", "../out"], `${dir}/elsewhere/deep`);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^4 tasks: 4 done, 0 failed/);
  });
});

Deno.test("two renders into one directory at once: one wins whole, the other gets one line", async () => {
  await withDir(async (dir) => {
    const runs = await Promise.all(
      [1, 2, 3].map(() =>
        cli([
          "script",
          "--num-tasks",
          "50000",
          "--scheduler",
          "slurm",
          "--split",
          "--output-dir",
          "out",
          "--",
          "./fit",
        ], dir)
      ),
    );
    assert.ok(runs.some((r) => r.code === 0));
    for (const r of runs.filter((r) => r.code !== 0)) {
      assert.match(r.stderr, /being written by another arrayjob/);
      oneLine(r.stderr);
    }
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/out/${MANIFEST}`));
    for (const name of manifest.scripts) await Deno.stat(`${dir}/out/${name}`);
    assert.equal(
      [...Deno.readDirSync(`${dir}/out`)].filter((e) => /tmp|lock/.test(e.name)).length,
      0,
    );
  });
});

Deno.test("two resubmits at once: each winner's script and chunk map describe one resubmission, losers get one line", async () => {
  await withDir(async (dir) => {
    await writeClusterScripts({ ...job(dir), numTasks: 40 });
    const runs = await Promise.all([1, 2, 3, 4].map(() => cli(["resubmit", "out"], dir)));
    const won = runs.filter((r) => r.code === 0).map((r) => r.stdout.trim());
    assert.ok(won.length > 0);
    assert.equal(new Set(won).size, won.length, "each winner has its own resubmit-N");
    for (const script of won) {
      const chunks = await Deno.readTextFile(script.replace(/\.sh$/, ".chunks"));
      assert.equal(chunks, Array.from({ length: 40 }, (_, i) => `${i}:${i + 1}\n`).join(""));
      assert.match(await Deno.readTextFile(script), /^#\$ -t 1-40$/m);
    }
    for (const r of runs.filter((r) => r.code !== 0)) {
      assert.equal(r.code, 1);
      // Lost the lock, or read the manifest while the winner was renaming its files into place.
      assert.match(
        r.stderr,
        /written meanwhile by another resubmit|being written by another|having its scripts put in place/,
      );
      oneLine(r.stderr);
    }
    const names = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name);
    assert.equal(names.filter((name) => /^resubmit-[0-9]+\.sh$/.test(name)).length, won.length);
    assert.equal(names.filter((name) => /^resubmit-[0-9]+\.chunks$/.test(name)).length, won.length);
    assert.deepEqual(names.filter((name) => /tmp|lock|placing/.test(name)), []);
  });
});

Deno.test("re-rendering --split with fewer parts removes the old parts", async () => {
  await withDir(async (dir) => {
    const options = { ...job(dir), scheduler: "slurm" as const, numTasks: 3000, split: true };
    assert.equal((await writeClusterScripts(options)).length, 3);
    assert.equal((await writeClusterScripts({ ...options, step: 2 })).length, 2);
    assert.equal(await Deno.stat(`${dir}/out/run-3.sh`).then(() => true, () => false), false);
  });
});

Deno.test("file-system errors are one line, exit 1 or 2, and write nothing", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/adir`);
    const out = await cli(["script", "--num-tasks", "2", "--out", "adir", "--", "./fit"], dir);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /--out .* is a directory/);
    oneLine(out.stderr);
    await Deno.writeTextFile(`${dir}/afile`, "");
    const file = await cli(
      ["script", "--num-tasks", "2", "--output-dir", "afile", "--", "./fit"],
      dir,
    );
    assert.equal(file.code, 2);
    assert.match(file.stderr, /--output-dir .* is a file/);
    oneLine(file.stderr);
    await Deno.mkdir(`${dir}/ro`);
    await Deno.chmod(`${dir}/ro`, 0o555);
    if (Deno.uid() !== 0) {
      const ro = await cli(
        ["script", "--num-tasks", "2", "--output-dir", "ro/x", "--", "./fit"],
        dir,
      );
      assert.equal(ro.code, 1);
      oneLine(ro.stderr);
    }
    await writeClusterScripts({ ...job(dir), command: ["touch", `${dir}/ran`] });
    const pbs = await cli(["resubmit", "out", "--scheduler", "pbs"], dir);
    assert.equal(pbs.code, 2);
    assert.equal(pbs.stderr, 'arrayjob: unknown scheduler "pbs": expected sge or slurm\n');
    assert.deepEqual([...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).sort(), [
      MANIFEST,
      "records",
      "run.sh",
    ]);
    // The fake's --report names a file it writes after every task ran: refused before any runs.
    for (const [report, why] of [["adir", "is a directory"], ["nodir/r.json", "does not exist"]]) {
      const simulated = await cli(["simulate", "out/run.sh", "--report", report], dir);
      assert.equal(simulated.code, 2, simulated.stderr);
      assert.match(
        simulated.stderr,
        new RegExp(`^fake qsub: error: --report '${report}'.* ${why}`),
      );
      oneLine(simulated.stderr);
      assert.equal(await Deno.stat(`${dir}/ran`).then(() => true, () => false), false);
    }
  });
});

Deno.test("option errors: a directive starting with -, a negative count, an empty output dir, a missing work dir", async () => {
  await withDir(async (dir) => {
    const gpu = await cli([
      "script",
      "--num-tasks",
      "2",
      "--directive",
      "-l gpu=1",
      "--out",
      "-",
      "--",
      "./fit",
    ], dir);
    assert.equal(gpu.code, 0, gpu.stderr);
    assert.match(gpu.stdout, /^#\$ -l gpu=1$/m);
    const count = await cli(["slice", "--count", "-5", "1"]);
    assert.match(count.stderr, /--count/);
    oneLine(count.stderr);
    const tasks = await cli(["script", "--num-tasks", "-1", "--", "./fit"], dir);
    assert.match(tasks.stderr, /--num-tasks "-1"/);
    oneLine(tasks.stderr);
    const empty = await cli(["script", "--num-tasks", "2", "--output-dir", "", "--", "./fit"], dir);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /--output-dir is ""/);
    const work = await cli([
      "script",
      "--num-tasks",
      "2",
      "--work-dir",
      `${dir}/nope`,
      "--",
      "./fit",
    ], dir);
    assert.equal(work.code, 2);
    assert.match(work.stderr, /--work-dir .* not an existing directory/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("a spec holding a newline is shown escaped on the error's one line: slice, cancel --tasks", async () => {
  await withDir(async (dir) => {
    await writeClusterScripts(job(dir));
    for (const args of [["slice", "--count", "5", "1\n2"], ["cancel", "out", "--tasks", "1\n2"]]) {
      const r = await cli(args, dir);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^arrayjob: invalid task spec "1\\n2": "1\\n2" is not an integer; /);
      oneLine(r.stderr);
    }
  });
});

Deno.test("quoting: a first word with = or a keyword is a word; % in a Slurm log path is literal; the user's umask", async () => {
  const assign = await clusterScript({
    numTasks: 1,
    command: ["PATH=/x/evil", "ls"],
    workDir: null,
  });
  assert.match(assign, / 'PATH=\/x\/evil' ls --tasks/);
  const keyword = await clusterScript({ numTasks: 1, command: ["if"], workDir: null });
  assert.match(keyword, / 'if' --tasks/);
  const slurm = await clusterScript({
    scheduler: "slurm",
    numTasks: 1,
    command: ["./fit"],
    outputDir: "/tmp/runs%j",
  });
  assert.match(slurm, /^#SBATCH --output=\/tmp\/runs%%j\//m);
  const previous = Deno.umask(0o077);
  try {
    assert.match(await clusterScript({ numTasks: 1, command: ["./fit"] }), /^umask 077$/m);
  } finally {
    Deno.umask(previous);
  }
});

Deno.test("a first word with = or a shell keyword is run as a command word: 127 not found, on the fake", async () => {
  await withDir(async (dir) => {
    const cases: [string, string[]][] = [["assign", ["PATH=/x/evil", "ls"]], ["keyword", ["if"]]];
    for (const [name, command] of cases) {
      const rendered = await cli(
        ["script", "--num-tasks", "1", "--job-name", name, "--output-dir", name, "--", ...command],
        dir,
      );
      assert.equal(rendered.code, 0, rendered.stderr);
      const run = await cli(["simulate", `${name}/run.sh`], dir);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /first: task 1 exit 127/);
      const log = [...Deno.readDirSync(`${dir}/${name}`)].find((e) => e.name.includes(".o"))!;
      assert.match(
        await Deno.readTextFile(`${dir}/${name}/${log.name}`),
        new RegExp(`: ${command[0]}: not found`),
      );
    }
  });
});

Deno.test("the manifest keeps the user's umask: a resubmission rendered under another keeps it", async () => {
  await withDir(async (dir) => {
    const previous = Deno.umask(0o077);
    try {
      await writeClusterScripts(job(dir));
    } finally {
      Deno.umask(previous);
    }
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/out/${MANIFEST}`));
    assert.equal(manifest.options.umask, "077");
    const wider = Deno.umask(0o002);
    try {
      const again = await writeResubmitScript(`${dir}/out`);
      assert.match(await Deno.readTextFile(again.path!), /^umask 077$/m);
    } finally {
      Deno.umask(wider);
    }
  });
});

Deno.test("resubmit --step: the header names the real step, a raised step says so", async () => {
  await withDir(async (dir) => {
    await writeClusterScripts({ ...job(dir), numTasks: 100 });
    const again = await writeResubmitScript(`${dir}/out`, {
      overrides: { step: 5, maxArraySize: 4 },
    });
    const text = await Deno.readTextFile(again.path!);
    assert.match(text, /100 tasks, 25 per array task/);
    assert.match(text, /^# step raised from 5 to 25/m);
    const kept = await writeResubmitScript(`${dir}/out`, { overrides: { step: 5 } });
    const header = await Deno.readTextFile(kept.path!);
    assert.match(header, /100 tasks, 5 per array task/);
    assert.match(header, /^#\$ -t 1-20$/m);
    assert.doesNotMatch(header, /raised/);
  });
});

Deno.test("ranges, not arrays: status and resubmit of a 10^9-task job, slice of 10^9", async () => {
  await withDir(async (dir) => {
    await writeClusterScripts({ ...job(dir), numTasks: 1e9, step: 1e6 });
    // Chunk-level records (no task lines): tasks 0:5 and 6:1000000 succeed, task 5 fails.
    await Deno.writeTextFile(`${dir}/out/records/1.1`, "start\t0:5\t1\nend\t0\t2\n");
    await Deno.writeTextFile(`${dir}/out/records/1.2`, "start\t5\t1\nend\t1\t2\n");
    await Deno.writeTextFile(`${dir}/out/records/1.3`, "start\t6:1000000\t1\nend\t0\t2\n");
    const started = performance.now();
    const status = await jobStatus(`${dir}/out`);
    assert.ok(performance.now() - started < 1000);
    assert.equal(status.done.length, 999_999);
    assert.equal(String(status.failed), "5");
    assert.equal(status.neverFinished.length, 1e9 - 1e6);
    const again = await writeResubmitScript(`${dir}/out`);
    assert.equal(again.indices.length, 1e9 - 999_999);
    // `arrayjob status` merges the scheduler's live state per task (lifecycle.ts), which still
    // lists tasks one by one: bounded here only through jobStatus.
  });
  const head = new Deno.Command("sh", {
    args: ["-c", `"${Deno.execPath()}" run -A ${CLI} slice --count 1000000000 "" | head -3`],
    stdout: "piped",
  });
  assert.equal(new TextDecoder().decode((await head.output()).stdout), "0\n1\n2\n");
});

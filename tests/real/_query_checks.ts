/**
 * What the query and control commands of Slurm and Grid Engine print for one job in each state
 * (pending, running, finished OK, failed, cancelled), as measured on the real schedulers and
 * recorded in FACTS.md ("Query and control commands"), written as assertions.
 *
 * Each check takes a {@link Face}: the environment under which the commands (`sbatch`, `squeue`,
 * `qsub`, `qstat`, ...) are found. The real schedulers are the default face; the fake scheduler
 * is checked by the same functions with its `bin` directory first on PATH, which makes these
 * the differential tests of issue 13.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { type Output, run } from "./_lib.ts";

/** Where the commands come from, and the site facts the outputs contain. */
export interface Face {
  /** Shown in assertion messages: "real", "fake". */
  name: string;
  /** Added to every command's environment, e.g. `{ PATH: "/fake/bin:" + PATH }`. */
  env?: Record<string, string>;
  /** The node / execution host the scheduler names (`scontrol`'s NodeList, `all.q@HOST`). */
  host: string;
  /** The user the jobs run as, as `squeue`/`qstat` print it. */
  user: string;
  /** The Slurm partition of a job submitted without `-p` (`debug` in scripts/slurm-up.sh). */
  partition: string;
  /** Whether Slurm accounting is enabled (it is not in scripts/slurm-up.sh: `sacct` refuses). */
  slurmAccounting: boolean;
}

/** The real schedulers as scripts/slurm-up.sh and scripts/sge-up.sh set them up here. */
export async function realFace(): Promise<Face> {
  const host = (await run(["hostname", "-s"])).stdout.trim();
  const user = (await run(["id", "-un"])).stdout.trim();
  return { name: "real", host, user, partition: "debug", slurmAccounting: false };
}

const SLOW_SECONDS = 90;

/** Runs a command of the face in `cwd`. */
function cmd(face: Face, cwd: string, ...argv: string[]): Promise<Output> {
  return run(argv, { cwd, env: face.env, timeoutSeconds: 120 });
}

function show(out: Output): string {
  return `exit ${out.code}\n--- stdout\n${out.stdout}--- stderr\n${out.stderr}`;
}

/** Asserts the exit code and the exact stdout/stderr (a RegExp must match the whole text). */
function expectOutput(
  face: Face,
  what: string,
  out: Output,
  code: number,
  stdout: string | RegExp,
  stderr: string | RegExp = "",
): void {
  const ok = (text: string, want: string | RegExp) =>
    typeof want === "string" ? text === want : want.test(text);
  assert.ok(
    out.code === code && ok(out.stdout, stdout) && ok(out.stderr, stderr),
    `${face.name} ${what}: expected exit ${code}, stdout ${JSON.stringify(String(stdout))}, ` +
      `stderr ${JSON.stringify(String(stderr))}; got\n${show(out)}`,
  );
}

/** Polls `probe` until it returns a value, for up to `seconds`. */
async function waitFor<T>(
  what: string,
  seconds: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = performance.now() + seconds * 1000;
  let last: unknown;
  while (performance.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}${last ? `: ${last}` : ""}`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ------------------------------------------------------------------------------------------
// Slurm

/** `squeue`'s default header (format `%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R`). */
export const SQUEUE_HEADER =
  "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)";

/** The fields `squeue -h -r -o '%i|%F|%K|%T|%t|%r'` prints for one job or array task. */
export const SQUEUE_ROW_FORMAT = "%i|%F|%K|%T|%t|%r";

/**
 * One row of squeue's default format: each field right-aligned in its width and cut to it
 * (`%.8j` shows the first 8 characters of the name), the last field (`%R`) as is.
 */
export function squeueDefaultRow(
  f: { id: string; partition: string; name: string; user: string; st: string; time: string },
  nodes: string,
  reasonOrNodes: string,
): string {
  const right = (text: string, width: number) => text.slice(0, width).padStart(width);
  return [
    right(f.id, 18),
    right(f.partition, 9),
    right(f.name, 8),
    right(f.user, 8),
    right(f.st, 2),
    right(f.time, 10),
    right(nodes, 6),
    reasonOrNodes,
  ].join(" ");
}

/** The default-format row of job `id` among `lines` (throws when there is none). */
function findRow(lines: string[], id: string): string {
  const line = lines.find((l) => l.trimStart().startsWith(`${id} `));
  if (line === undefined) throw new Error(`no squeue row for ${id} in\n${lines.join("\n")}`);
  return line;
}

/** The TIME column (`M:SS`, `H:MM:SS`) of a default-format row. */
function elapsedOf(line: string): string {
  return / (\d+(?::\d\d)+) +\d+ /.exec(line)?.[1] ?? "?";
}

async function squeueRows(face: Face, dir: string, ids: string[]): Promise<string[]> {
  const out = await cmd(
    face,
    dir,
    "squeue",
    "-h",
    "-r",
    "-t",
    "all",
    "-j",
    ids.join(","),
    "-o",
    SQUEUE_ROW_FORMAT,
  );
  assert.equal(out.code, 0, `${face.name} squeue -j ${ids}: ${show(out)}`);
  return out.stdout.split("\n").filter((line) => line !== "").sort();
}

const SLURM_SCRIPTS: Record<string, string> = {
  "ok.sh": "#!/bin/sh\necho ok\n",
  // Array task 1, or a plain job, exits 3.
  "fail.sh": '#!/bin/sh\n[ "${SLURM_ARRAY_TASK_ID:-1}" = 1 ] && exit 3\nexit 0\n',
  "slow.sh": `#!/bin/sh\nsleep ${SLOW_SECONDS}\n`,
};

async function writeScripts(dir: string, scripts: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(scripts)) {
    await Deno.writeTextFile(path.join(dir, name), text, { mode: 0o755 });
  }
}

/**
 * Submits one small array job and one plain job per state to Slurm through `face` and asserts
 * what sbatch, squeue, scontrol, scancel, sacct and srun print about them.
 */
export async function checkSlurmQueries(
  face: Face,
  dir: string,
  t: Deno.TestContext,
): Promise<void> {
  await writeScripts(dir, SLURM_SCRIPTS);
  const submitted: string[] = [];
  const sbatch = async (...args: string[]): Promise<{ id: string; out: Output }> => {
    const out = await cmd(face, dir, "sbatch", "--parsable", "-o", `${dir}/%x.o%A.%a`, ...args);
    const id = /^(\d+)\n$/.exec(out.stdout)?.[1];
    assert.ok(
      id,
      `${face.name} sbatch --parsable ${args.join(" ")} printed no bare id:\n${show(out)}`,
    );
    submitted.push(id);
    return { id, out };
  };
  const row = (id: string, arrayJob: string, task: string, state: string, reason: string) => {
    const st: Record<string, string> = {
      PENDING: "PD",
      RUNNING: "R",
      COMPLETED: "CD",
      FAILED: "F",
      CANCELLED: "CA",
    };
    return `${id}|${arrayJob}|${task}|${state}|${st[state]}|${reason}`;
  };
  try {
    await t.step("finished OK and failed (sbatch --wait)", async () => {
      const ok = await sbatch("--wait", "-J", "qt_ok", "--array=0-1", "ok.sh");
      const fail = await sbatch("--wait", "-J", "qt_fail", "--array=0-1", "fail.sh");
      const okPlain = await sbatch("--wait", "-J", "qt_okP", "ok.sh");
      const failPlain = await sbatch("--wait", "-J", "qt_failP", "fail.sh");
      assert.equal(ok.out.code, 0, show(ok.out));
      assert.equal(fail.out.code, 3, show(fail.out));
      assert.equal(okPlain.out.code, 0, show(okPlain.out));
      assert.equal(failPlain.out.code, 3, show(failPlain.out));
      const [a, f, p, q] = [ok.id, fail.id, okPlain.id, failPlain.id];

      // Finished jobs are not in the default listing (states PD, R, CG...), only with -t all,
      // and only for MinJobAge (300 s here) after they ended.
      expectOutput(
        face,
        `squeue -j ${a}`,
        await cmd(face, dir, "squeue", "-j", a),
        0,
        `${SQUEUE_HEADER}\n`,
      );
      assert.deepEqual(
        await squeueRows(face, dir, [a, f, p, q]),
        [
          row(`${a}_0`, a, "0", "COMPLETED", "None"),
          row(`${a}_1`, a, "1", "COMPLETED", "None"),
          row(`${f}_0`, f, "0", "COMPLETED", "None"),
          row(`${f}_1`, f, "1", "FAILED", "NonZeroExitCode"),
          row(p, p, "N/A", "COMPLETED", "None"),
          row(q, q, "N/A", "FAILED", "NonZeroExitCode"),
        ].sort(),
      );
      // The default format: a failed job shows its reason, a completed one its node.
      const listing = await cmd(face, dir, "squeue", "-t", "all", "-j", `${p},${q}`);
      const base = { partition: face.partition, user: face.user, time: "0:00" };
      assert.equal(listing.code, 0, show(listing));
      const lines = listing.stdout.split("\n");
      assert.equal(lines[0], SQUEUE_HEADER);
      const okRow = findRow(lines, p);
      const failRow = findRow(lines, q);
      assert.equal(
        okRow,
        squeueDefaultRow(
          { ...base, id: p, name: "qt_okP", st: "CD", time: elapsedOf(okRow) },
          "1",
          face.host,
        ),
      );
      assert.equal(
        failRow,
        squeueDefaultRow(
          { ...base, id: q, name: "qt_failP", st: "F", time: elapsedOf(failRow) },
          "1",
          "(NonZeroExitCode)",
        ),
      );

      const task = await cmd(face, dir, "scontrol", "show", "job", `${f}_1`);
      assert.equal(task.code, 0, show(task));
      assert.match(
        task.stdout,
        new RegExp(`^JobId=${f} ArrayJobId=${f} ArrayTaskId=1 JobName=qt_fail\n`),
      );
      assert.match(
        task.stdout,
        /\n {3}JobState=FAILED Reason=NonZeroExitCode Dependency=\(null\)\n/,
      );
      assert.match(task.stdout, / ExitCode=3:0\n/);
      const plain = await cmd(face, dir, "scontrol", "show", "job", p);
      assert.match(plain.stdout, new RegExp(`^JobId=${p} JobName=qt_okP\n`));
      assert.match(plain.stdout, /\n {3}JobState=COMPLETED Reason=None Dependency=\(null\)\n/);
      assert.match(plain.stdout, / ExitCode=0:0\n/);
      // A plain job's StdOut expands %a to 4294967294 (NO_VAL).
      assert.match(
        plain.stdout,
        new RegExp(`\n {3}StdOut=${escape(dir)}/qt_okP\\.o${p}\\.4294967294\n`),
      );
      // One record per array task, separated by a blank line; the first is the array's own id.
      const whole = await cmd(face, dir, "scontrol", "show", "job", a);
      assert.deepEqual(
        [...whole.stdout.matchAll(/^JobId=(\d+) ArrayJobId=(\d+) ArrayTaskId=(\d+)/gm)].map((m) =>
          `${m[2]}_${m[3]}`
        ).sort(),
        [`${a}_0`, `${a}_1`],
      );

      // scancel of a finished job: silent success.
      expectOutput(face, `scancel ${p}`, await cmd(face, dir, "scancel", p), 0, "");
      if (!face.slurmAccounting) {
        for (
          const args of [
            ["-j", a],
            ["-j", a, "--parsable2"],
            ["-o", "JobID,State,NodeList", "--parsable2", "-j", a],
            ["-j", a, "-o", "JobID,State,ExitCode", "--noheader"],
          ]
        ) {
          expectOutput(
            face,
            `sacct ${args.join(" ")}`,
            await cmd(face, dir, "sacct", ...args),
            1,
            "",
            "Slurm accounting storage is disabled\n",
          );
        }
      } else {
        // submitit's call: a header line, then JobID|State|NodeList rows.
        const out = await cmd(
          face,
          dir,
          "sacct",
          "-o",
          "JobID,State,NodeList",
          "--parsable2",
          "-j",
          a,
        );
        assert.equal(out.code, 0, show(out));
        const [header, ...rows] = out.stdout.trim().split("\n");
        assert.equal(header, "JobID|State|NodeList");
        assert.ok(rows.some((r) => r.startsWith(`${a}_0|COMPLETED|`)), out.stdout);
      }
    });

    let held = "", heldPlain = "", running = "";
    await t.step("pending (--hold) and running", async () => {
      held = (await sbatch("--hold", "-J", "qt_held", "--array=0-3", "ok.sh")).id;
      heldPlain = (await sbatch("--hold", "-J", "qt_heldP", "ok.sh")).id;
      running = (await sbatch("-J", "qt_run", "--array=0-2", "slow.sh")).id;
      const r = running;
      // Two slots: tasks 0 and 1 run, task 2 waits for resources. Real Slurm shows a pending
      // task's reason as None until its next scheduling pass looks at it, so wait for that too.
      const rows = await waitFor(
        "two running array tasks, one waiting for resources",
        30,
        async () => {
          const rows = await squeueRows(face, dir, [r]);
          const settled = rows.filter((x) => x.includes("|RUNNING|")).length === 2 &&
            !rows.some((x) => x.endsWith("|PENDING|PD|None"));
          return settled ? rows : undefined;
        },
      );
      assert.deepEqual(rows, [
        row(`${r}_0`, r, "0", "RUNNING", "None"),
        row(`${r}_1`, r, "1", "RUNNING", "None"),
        row(`${r}_2`, r, "2", "PENDING", "Resources"),
      ]);
      assert.deepEqual(
        await squeueRows(face, dir, [held, heldPlain]),
        [
          ...[0, 1, 2, 3].map((i) =>
            row(`${held}_${i}`, held, String(i), "PENDING", "JobHeldUser")
          ),
          row(heldPlain, heldPlain, "N/A", "PENDING", "JobHeldUser"),
        ].sort(),
      );

      // Without -r the pending tasks of an array share one row, "ID_[0-3]".
      const base = { partition: face.partition, user: face.user, time: "0:00" };
      expectOutput(
        face,
        `squeue -j ${held}`,
        await cmd(face, dir, "squeue", "-j", held),
        0,
        `${SQUEUE_HEADER}\n` +
          squeueDefaultRow(
            { ...base, id: `${held}_[0-3]`, name: "qt_held", st: "PD" },
            "1",
            "(JobHeldUser)",
          ) +
          "\n",
      );
      expectOutput(
        face,
        `squeue -h -o '%i %T' -j ${held},${heldPlain}`,
        await cmd(face, dir, "squeue", "-h", "-o", "%i %T", "-j", `${held},${heldPlain}`),
        0,
        new RegExp(
          `^(${escape(`${held}_[0-3] PENDING\n${heldPlain} PENDING\n`)}|` +
            `${escape(`${heldPlain} PENDING\n${held}_[0-3] PENDING\n`)})$`,
        ),
      );
      const listing = await cmd(face, dir, "squeue", "-j", r);
      assert.equal(listing.code, 0, show(listing));
      // A running row shows the elapsed time (M:SS) and the node.
      const line0 = findRow(listing.stdout.split("\n"), `${r}_0`);
      assert.equal(
        line0,
        squeueDefaultRow(
          { ...base, id: `${r}_0`, name: "qt_run", st: "R", time: elapsedOf(line0) },
          "1",
          face.host,
        ),
      );
      assert.ok(
        listing.stdout.includes(
          squeueDefaultRow(
            { ...base, id: `${r}_2`, name: "qt_run", st: "PD" },
            "1",
            "(Resources)",
          ) + "\n",
        ),
        listing.stdout,
      );

      const heldJob = await cmd(face, dir, "scontrol", "show", "job", held);
      assert.match(
        heldJob.stdout,
        new RegExp(`^JobId=${held} ArrayJobId=${held} ArrayTaskId=0-3 JobName=qt_held\n`),
      );
      assert.match(
        heldJob.stdout,
        /\n {3}JobState=PENDING Reason=JobHeldUser Dependency=\(null\)\n/,
      );
      // A running task has its own job id; the array's id stays with the pending remainder.
      const task0 = await cmd(face, dir, "scontrol", "show", "job", `${r}_0`);
      assert.match(
        task0.stdout,
        new RegExp(`^JobId=(\\d+) ArrayJobId=${r} ArrayTaskId=0 JobName=qt_run\n`),
      );
      assert.notEqual(/^JobId=(\d+)/.exec(task0.stdout)?.[1], r);
      assert.match(task0.stdout, /\n {3}JobState=RUNNING Reason=None Dependency=\(null\)\n/);
      assert.match(task0.stdout, new RegExp(`\n {3}NodeList=${escape(face.host)}\n`));
      const task2 = await cmd(face, dir, "scontrol", "show", "job", `${r}_2`);
      assert.match(
        task2.stdout,
        new RegExp(`^JobId=${r} ArrayJobId=${r} ArrayTaskId=2 JobName=qt_run\n`),
      );
      assert.match(task2.stdout, /\n {3}JobState=PENDING Reason=Resources Dependency=\(null\)\n/);
      // -o: one line per record.
      const oneLine = await cmd(face, dir, "scontrol", "-o", "show", "job", r);
      assert.equal(oneLine.stdout.trim().split("\n").length, 3, oneLine.stdout);
    });

    await t.step("release: a held plain job runs and completes", async () => {
      expectOutput(
        face,
        `scontrol release ${heldPlain}`,
        await cmd(face, dir, "scontrol", "release", heldPlain),
        0,
        "",
      );
      // It needs a slot: the running array holds both, so cancel it first (next step checks).
      expectOutput(
        face,
        `scancel ${running}_2`,
        await cmd(face, dir, "scancel", `${running}_2`),
        0,
        "",
      );
      expectOutput(face, `scancel ${running}`, await cmd(face, dir, "scancel", running), 0, "");
      await waitFor(`${heldPlain} to complete`, 30, async () => {
        const rows = await squeueRows(face, dir, [heldPlain]);
        return rows[0] === row(heldPlain, heldPlain, "N/A", "COMPLETED", "None") ? true : undefined;
      });
      expectOutput(
        face,
        "scontrol release 999999",
        await cmd(face, dir, "scontrol", "release", "999999"),
        1,
        "",
        "Invalid job id specified for job 999999\nslurm_suspend error: Invalid job id specified\n",
      );
    });

    await t.step("cancelled: running, pending and held", async () => {
      expectOutput(face, `scancel ${held}`, await cmd(face, dir, "scancel", held), 0, "");
      const r = running;
      const rows = await waitFor("cancelled rows", 30, async () => {
        const rows = await squeueRows(face, dir, [r, held]);
        return rows.every((x) => x.includes("|CANCELLED|")) && rows.length === 7 ? rows : undefined;
      });
      assert.deepEqual(
        rows.map((x) => x.split("|").slice(0, 5).join("|")),
        [
          ...[0, 1, 2].map((i) => `${r}_${i}|${r}|${i}|CANCELLED|CA`),
          ...[0, 1, 2, 3].map((i) => `${held}_${i}|${held}|${i}|CANCELLED|CA`),
        ].sort(),
      );
      // A job cancelled before it started has no node: the row ends in "1 " (an empty %R).
      const listing = await cmd(face, dir, "squeue", "-t", "all", "-j", `${r}_2`);
      const base = { partition: face.partition, user: face.user, time: "0:00" };
      expectOutput(
        face,
        `squeue -t all -j ${r}_2`,
        listing,
        0,
        `${SQUEUE_HEADER}\n` +
          squeueDefaultRow({ ...base, id: `${r}_2`, name: "qt_run", st: "CA" }, "1", "") +
          "\n",
      );
      const task0 = await cmd(face, dir, "scontrol", "show", "job", `${r}_0`);
      assert.match(task0.stdout, /\n {3}JobState=CANCELLED Reason=None Dependency=\(null\)\n/);
      // Killed by SIGTERM: exit code 0, signal 15.
      assert.match(task0.stdout, / ExitCode=0:15\n/);
    });

    await t.step("unknown job ids", async () => {
      const invalid = "slurm_load_jobs error: Invalid job id specified\n";
      expectOutput(
        face,
        "squeue -j 999999",
        await cmd(face, dir, "squeue", "-j", "999999"),
        1,
        "",
        invalid,
      );
      expectOutput(
        face,
        "squeue -h -j 999999",
        await cmd(face, dir, "squeue", "-h", "-j", "999999"),
        1,
        "",
        invalid,
      );
      expectOutput(
        face,
        "scontrol show job 999999",
        await cmd(face, dir, "scontrol", "show", "job", "999999"),
        1,
        "",
        invalid,
      );
      expectOutput(
        face,
        "squeue -j abc",
        await cmd(face, dir, "squeue", "-j", "abc"),
        1,
        "",
        "squeue: error: Invalid job id: abc\n",
      );
      // scancel of an unknown id says nothing and succeeds (22.05).
      expectOutput(face, "scancel 999999", await cmd(face, dir, "scancel", "999999"), 0, "");
    });

    await t.step("sbatch output, --test-only, srun outside an allocation", async () => {
      const plain = await cmd(face, dir, "sbatch", "--hold", "-o", "/dev/null", "ok.sh");
      expectOutput(face, "sbatch --hold ok.sh", plain, 0, /^Submitted batch job \d+\n$/);
      const id = /(\d+)/.exec(plain.stdout)![1]!;
      submitted.push(id);
      expectOutput(face, `scancel ${id}`, await cmd(face, dir, "scancel", id), 0, "");
      for (const extra of [[], ["--parsable"], ["--array=0-3"]]) {
        const test = await cmd(face, dir, "sbatch", "--test-only", ...extra, "ok.sh");
        expectOutput(
          face,
          `sbatch --test-only ${extra.join(" ")}`,
          test,
          0,
          "",
          new RegExp(
            `^sbatch: Job (\\d+) to start at \\S+ using 1 processors on nodes ${
              escape(face.host)
            } ` +
              `in partition ${escape(face.partition)}\n$`,
          ),
        );
        // Nothing was submitted: the id it names is unknown.
        const named = /Job (\d+)/.exec(test.stderr)![1]!;
        const out = await cmd(face, dir, "squeue", "-h", "-j", named);
        assert.equal(
          out.code,
          1,
          `${face.name} sbatch --test-only made job ${named}:\n${show(out)}`,
        );
      }
      const step = await cmd(
        face,
        dir,
        "srun",
        "sh",
        "-c",
        "echo $SLURM_JOB_ID $SLURM_STEP_ID $SLURM_PROCID",
      );
      expectOutput(face, "srun (outside an allocation)", step, 0, /^\d+ 0 0\n$/);
      expectOutput(
        face,
        "srun sh -c 'exit 3'",
        await cmd(face, dir, "srun", "sh", "-c", "exit 3"),
        3,
        "",
        `srun: error: ${face.host}: task 0: Exited with exit code 3\n`,
      );
    });
  } finally {
    if (submitted.length > 0) await cmd(face, dir, "scancel", ...submitted);
  }
}

// ------------------------------------------------------------------------------------------
// Grid Engine

/** `qstat`'s two header lines (without `-t`/`-r`/`-g t`). */
export const QSTAT_HEADER = "job-ID  prior   name       user         state submit/start at     " +
  "queue                          slots ja-task-ID \n" + "-".repeat(113);

/** One job line of `qstat`, split by column (the widths are fixed). */
export interface QstatLine {
  id: string;
  prior: string;
  name: string;
  user: string;
  state: string;
  date: string;
  queue: string;
  slots: string;
  tasks: string;
}

/**
 * Parses a job line of plain `qstat` by column position: `%7s %7s %-10.10s %-12.12s %-5s
 * %19s %-30s %5s` then ` TASKS` for an array, or 8 spaces for a plain job. Throws when the line
 * does not have that layout.
 */
export function parseQstatLine(line: string): QstatLine {
  const m =
    /^([ \d]{6}\d) (\d\.\d{5}) (.{10}) (.{12}) (.{5}) (\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d) (.{30}) ([ \d]{4}\d)( {8}| \S+)$/
      .exec(line);
  if (!m) throw new Error(`not a qstat job line: ${JSON.stringify(line)}`);
  return {
    id: m[1]!.trim(),
    prior: m[2]!,
    name: m[3]!.trimEnd(),
    user: m[4]!.trimEnd(),
    state: m[5]!.trimEnd(),
    date: m[6]!,
    queue: m[7]!.trimEnd(),
    slots: m[8]!.trim(),
    tasks: m[9]!.trim(),
  };
}

async function qstatLines(face: Face, dir: string, ...args: string[]): Promise<QstatLine[]> {
  const out = await cmd(face, dir, "qstat", ...args);
  assert.equal(out.code, 0, `${face.name} qstat ${args.join(" ")}: ${show(out)}`);
  if (out.stdout === "") return [];
  assert.ok(
    out.stdout.startsWith(QSTAT_HEADER + "\n"),
    `${face.name} qstat header:\n${out.stdout}`,
  );
  return out.stdout.slice(QSTAT_HEADER.length + 1).split("\n").filter((l) => l !== "").map(
    parseQstatLine,
  );
}

/** `qacct -j ID` records as {taskid, failed, exit_status}, or the command's failure. */
async function qacctRecords(
  face: Face,
  dir: string,
  id: string,
): Promise<{ out: Output; records: { taskid: string; failed: string; exit: string }[] }> {
  const out = await cmd(face, dir, "qacct", "-j", id);
  const records = out.stdout.split(/^={62}\n/m).filter((r) => r.trim() !== "").map((r) => {
    const field = (key: string) =>
      (new RegExp(`^${key} +(.*?) *$`, "m").exec(r)?.[1] ?? "").replace(/\s+/g, " ");
    return { taskid: field("taskid"), failed: field("failed"), exit: field("exit_status") };
  });
  return { out, records };
}

const SGE_SCRIPTS: Record<string, string> = {
  "ok.sh": 'echo "task $SGE_TASK_ID"\n',
  // Array task 2, or a plain job, exits 3.
  "fail.sh": 'case "$SGE_TASK_ID" in 2|undefined) exit 3;; esac\nexit 0\n',
  "slow.sh": `sleep ${SLOW_SECONDS}\n`,
};

/**
 * Submits one small array job and one plain job per state to Grid Engine through `face` and
 * asserts what qsub, qstat, qacct, qdel, qhold and qrls print about them.
 */
export async function checkSgeQueries(
  face: Face,
  dir: string,
  t: Deno.TestContext,
): Promise<void> {
  await writeScripts(dir, SGE_SCRIPTS);
  const submitted: string[] = [];
  const qsub = async (...args: string[]): Promise<{ id: string; out: Output }> => {
    const out = await cmd(face, dir, "qsub", "-terse", "-cwd", "-o", dir, "-j", "y", ...args);
    const id = /^(\d+)(?:\.\d+-\d+:\d+)?\n/.exec(out.stdout)?.[1];
    assert.ok(id, `${face.name} qsub -terse ${args.join(" ")} printed no id:\n${show(out)}`);
    submitted.push(id);
    return { id, out };
  };
  const ours = (lines: QstatLine[], ...ids: string[]) => lines.filter((l) => ids.includes(l.id));
  try {
    await t.step("finished OK and failed (qsub -sync y)", async () => {
      const ok = await qsub("-sync", "y", "-N", "qt_ok", "-t", "1-2", "ok.sh");
      expectOutput(face, "qsub -terse -sync y -t 1-2", ok.out, 0, `${ok.id}.1-2:1\n`);
      const fail = await qsub("-sync", "y", "-N", "qt_fail", "-t", "1-2", "fail.sh");
      expectOutput(
        face,
        "qsub -terse -sync y -t 1-2 (task 2 exits 3)",
        fail.out,
        3,
        `${fail.id}.1-2:1\n`,
        `Job ${fail.id}.2 exited with exit code 3.\n`,
      );
      const okPlain = await qsub("-sync", "y", "-N", "qt_okP", "ok.sh");
      expectOutput(face, "qsub -terse -sync y", okPlain.out, 0, `${okPlain.id}\n`);
      const failPlain = await qsub("-sync", "y", "-N", "qt_failP", "fail.sh");
      expectOutput(
        face,
        "qsub -terse -sync y (exits 3)",
        failPlain.out,
        3,
        `${failPlain.id}\n`,
        `Job ${failPlain.id} exited with exit code 3.\n`,
      );
      const ids = [ok.id, fail.id, okPlain.id, failPlain.id];
      // Finished jobs leave qstat at once; qstat -j no longer knows them.
      assert.deepEqual(ours(await qstatLines(face, dir), ...ids), []);
      expectOutput(
        face,
        `qstat -j ${ok.id}`,
        await cmd(face, dir, "qstat", "-j", ok.id),
        1,
        "",
        `Following jobs do not exist: \n${ok.id}\n`,
      );
      // They remain as zombies (state z) for `qstat -s z` (finished_jobs 100).
      const zombies = ours(await qstatLines(face, dir, "-s", "z"), ...ids);
      assert.deepEqual(
        zombies.map((l) => `${l.id} ${l.state} ${l.tasks}`).sort(),
        [`${ok.id} z 1,2`, `${fail.id} z 1,2`, `${okPlain.id} z `, `${failPlain.id} z `].sort(),
      );
      const acct = await waitFor("qacct records", 15, async () => {
        const all = await Promise.all(ids.map((id) => qacctRecords(face, dir, id)));
        return all.every((a, i) => a.records.length === (i < 2 ? 2 : 1)) ? all : undefined;
      });
      const summary = acct.map((a) =>
        a.records.map((r) => `${r.taskid}:${r.failed}:${r.exit}`).sort()
      );
      assert.deepEqual(summary, [
        ["1:0:0", "2:0:0"],
        ["1:0:0", "2:0:3"],
        ["undefined:0:0"],
        ["undefined:0:3"],
      ]);
      // qdel of a finished job: it does not exist.
      expectOutput(
        face,
        `qdel ${okPlain.id}`,
        await cmd(face, dir, "qdel", okPlain.id),
        1,
        `denied: job "${okPlain.id}" does not exist\n`,
      );
    });

    let held = "", heldPlain = "", running = "";
    await t.step("pending (-h) and running", async () => {
      held = (await qsub("-h", "-N", "qt_held", "-t", "1-4", "ok.sh")).id;
      heldPlain = (await qsub("-h", "-N", "qt_heldP", "ok.sh")).id;
      running = (await qsub("-N", "qt_run", "-t", "1-3", "slow.sh")).id;
      const r = running;
      const lines = await waitFor("two running array tasks", 30, async () => {
        const lines = ours(await qstatLines(face, dir), r, held, heldPlain);
        return lines.filter((l) => l.state === "r").length === 2 ? lines : undefined;
      });
      const key = (l: QstatLine) =>
        `${l.id} ${l.name} ${l.user} ${l.state} ${l.queue} ${l.slots} ${l.tasks}`;
      const queue = `all.q@${face.host}`;
      assert.deepEqual(
        lines.map(key).sort(),
        [
          `${r} qt_run ${face.user} r ${queue} 1 1`,
          `${r} qt_run ${face.user} r ${queue} 1 2`,
          `${r} qt_run ${face.user} qw  1 3`,
          `${held} qt_held ${face.user} hqw  1 1-4:1`,
          `${heldPlain} qt_heldP ${face.user} hqw  1 `,
        ].sort(),
      );
      // -g d: one line per array task.
      const tasks = ours(await qstatLines(face, dir, "-g", "d"), held);
      assert.deepEqual(tasks.map((l) => `${l.state} ${l.tasks}`), [
        "hqw 1",
        "hqw 2",
        "hqw 3",
        "hqw 4",
      ]);
      // -s p / -s r: pending / running only.
      assert.deepEqual(
        ours(await qstatLines(face, dir, "-s", "r"), r, held, heldPlain).map((l) => l.tasks).sort(),
        ["1", "2"],
      );
      assert.deepEqual(
        ours(await qstatLines(face, dir, "-s", "p"), r, held, heldPlain).map((l) =>
          `${l.id} ${l.tasks}`
        )
          .sort(),
        [`${r} 3`, `${held} 1-4:1`, `${heldPlain} `].sort(),
      );
      // -u USER lists the same jobs.
      assert.equal(
        ours(await qstatLines(face, dir, "-u", face.user), r, held, heldPlain).length,
        5,
      );

      const detail = await cmd(face, dir, "qstat", "-j", held);
      assert.equal(detail.code, 0, show(detail));
      assert.ok(detail.stdout.startsWith("=".repeat(62) + "\n"), detail.stdout);
      assert.match(detail.stdout, new RegExp(`^job_number: {17}${held}$`, "m"));
      assert.match(detail.stdout, /^job_name: {19}qt_held$/m);
      assert.match(detail.stdout, /^job-array tasks: {12}1-4:1$/m);
      const runDetail = await cmd(face, dir, "qstat", "-j", r);
      assert.match(runDetail.stdout, /^usage {9}1: {12}cpu=/m);

      const xml = await cmd(face, dir, "qstat", "-xml");
      assert.equal(xml.code, 0, show(xml));
      assert.ok(xml.stdout.startsWith("<?xml version='1.0'?>\n<job_info"), xml.stdout);
      const entries = [...xml.stdout.matchAll(/<job_list state="(\w+)">([\s\S]*?)<\/job_list>/g)]
        .map(
          (m) => ({
            list: m[1],
            id: /<JB_job_number>(\d+)</.exec(m[2]!)?.[1],
            state: /<state>(\w+)</.exec(m[2]!)?.[1],
            tasks: /<tasks>([^<]*)</.exec(m[2]!)?.[1] ?? "",
          }),
        ).filter((e) => [r, held, heldPlain].includes(e.id!));
      assert.deepEqual(
        entries.map((e) => `${e.list} ${e.id} ${e.state} ${e.tasks}`).sort(),
        [
          `running ${r} r 1`,
          `running ${r} r 2`,
          `pending ${r} qw 3`,
          `pending ${held} hqw 1-4:1`,
          `pending ${heldPlain} hqw `,
        ].sort(),
      );
      // No accounting record while nothing of the job has ended.
      const acct = await qacctRecords(face, dir, r);
      expectOutput(
        face,
        `qacct -j ${r} (running)`,
        acct.out,
        1,
        "",
        `error: job id ${r} not found\n`,
      );
    });

    await t.step("hold and release", async () => {
      expectOutput(
        face,
        `qrls ${held} -t 4`,
        await cmd(face, dir, "qrls", held, "-t", "4"),
        0,
        `modified hold of job-array task ${held}.4\n`,
      );
      expectOutput(
        face,
        `qhold ${heldPlain} (already held)`,
        await cmd(face, dir, "qhold", heldPlain),
        0,
        "",
      );
      for (const command of ["qrls", "qhold"]) {
        expectOutput(
          face,
          `${command} 999999`,
          await cmd(face, dir, command, "999999"),
          3,
          `denied: job "999999" does not exist\n`,
        );
      }
      // Released task 4 waits for a slot (both run task 1 and 2 of the slow array).
      const lines = ours(await qstatLines(face, dir), held);
      assert.deepEqual(lines.map((l) => `${l.state} ${l.tasks}`).sort(), ["hqw 1-3:1", "qw 4"]);
    });

    await t.step("cancelled: pending task, running tasks, held jobs", async () => {
      const r = running;
      expectOutput(
        face,
        `qdel ${r} -t 3`,
        await cmd(face, dir, "qdel", r, "-t", "3"),
        0,
        `${face.user} has deleted job-array task ${r}.3\n`,
      );
      const del = await cmd(face, dir, "qdel", r);
      expectOutput(
        face,
        `qdel ${r}`,
        del,
        0,
        new RegExp(
          `^(${face.user} has registered the job-array task ${r}\\.[12] for deletion\n){2}$`,
        ),
      );
      expectOutput(
        face,
        `qdel ${heldPlain}`,
        await cmd(face, dir, "qdel", heldPlain),
        0,
        `${face.user} has deleted job ${heldPlain}\n`,
      );
      await cmd(face, dir, "qdel", held);
      await waitFor(
        "the cancelled jobs to leave qstat",
        30,
        async () =>
          ours(await qstatLines(face, dir), r, held, heldPlain).length === 0 ? true : undefined,
      );
      const acct = await waitFor("qacct records of the killed tasks", 15, async () => {
        const a = await qacctRecords(face, dir, r);
        return a.records.length === 2 ? a : undefined;
      });
      assert.deepEqual(
        acct.records.map((x) => `${x.taskid}:${x.failed}:${x.exit}`).sort(),
        ["1:100 : assumedly after job:137 (Killed)", "2:100 : assumedly after job:137 (Killed)"],
      );
      // Never started: no accounting record.
      expectOutput(
        face,
        `qacct -j ${heldPlain}`,
        (await qacctRecords(face, dir, heldPlain)).out,
        1,
        "",
        `error: job id ${heldPlain} not found\n`,
      );
    });

    await t.step("unknown job ids", async () => {
      expectOutput(
        face,
        "qstat -j 999999",
        await cmd(face, dir, "qstat", "-j", "999999"),
        1,
        "",
        "Following jobs do not exist: \n999999\n",
      );
      expectOutput(
        face,
        "qstat -j 999999 -xml",
        await cmd(face, dir, "qstat", "-j", "999999", "-xml"),
        0,
        "<?xml version='1.0'?>\n<unknown_jobs >\n    <ST_name>999999</ST_name>\n</unknown_jobs>\n",
      );
      expectOutput(
        face,
        "qdel 999999",
        await cmd(face, dir, "qdel", "999999"),
        1,
        `denied: job "999999" does not exist\n`,
      );
      expectOutput(
        face,
        "qacct -j 999999",
        await cmd(face, dir, "qacct", "-j", "999999"),
        1,
        "",
        "error: job id 999999 not found\n",
      );
    });

    await t.step("qsub output and -w v", async () => {
      const plain = await cmd(face, dir, "qsub", "-h", "-cwd", "-o", dir, "-j", "y", "ok.sh");
      expectOutput(
        face,
        "qsub -h ok.sh",
        plain,
        0,
        /^Your job \d+ \("ok\.sh"\) has been submitted\n$/,
      );
      const array = await cmd(
        face,
        dir,
        "qsub",
        "-h",
        "-t",
        "1-3",
        "-N",
        "arr",
        "-cwd",
        "-o",
        dir,
        "-j",
        "y",
        "ok.sh",
      );
      expectOutput(
        face,
        "qsub -h -t 1-3 -N arr",
        array,
        0,
        /^Your job-array \d+\.1-3:1 \("arr"\) has been submitted\n$/,
      );
      for (const out of [plain, array]) submitted.push(/(\d+)/.exec(out.stdout)![1]!);
      const before = await qstatLines(face, dir);
      expectOutput(
        face,
        "qsub -w v",
        await cmd(face, dir, "qsub", "-w", "v", "-cwd", "-o", dir, "-j", "y", "ok.sh"),
        0,
        "verification: found suitable queue(s)\n",
      );
      assert.deepEqual((await qstatLines(face, dir)).map((l) => l.id), before.map((l) => l.id));
    });
  } finally {
    if (submitted.length > 0) await cmd(face, dir, "qdel", ...submitted);
  }
}

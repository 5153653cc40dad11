/**
 * Bounded time and memory at scale (issue 12): `arrayjob status` through the live path (records
 * merged with the scheduler's answer) over many records and over a huge task list. Each case
 * times the whole CLI process and reads its peak resident memory (`/usr/bin/time -v`'s "Maximum
 * resident set size", the kernel's VmHWM), against absolute targets; it exits 1 when a case
 * misses one, unless `--no-fail` is given. The scheduler is a stand-in `squeue` first on PATH
 * that cannot reach its controller, as when the cluster is down: the records alone decide, and
 * the live path still reads the submissions and their chunks.
 *
 * Reading 10^5 small files is mostly the kernel's work, which a loaded machine slows several
 * times over, so each case also times its floor: a Deno process that only lists and reads every
 * record, as the first status must. The ratio to it says what arrayjob adds.
 *
 * A case of many records is timed three ways: the first status, which reads every record (against
 * its floor); status again while `records/` changes (it lists the directory and reads only what
 * is new or unfinished); and status again once `records/` has been still for seconds (it reads
 * one summary and the unfinished records, without a listing). Each "again" has the 1 s target.
 *
 * ```sh
 * deno run --allow-all bench/scale.ts                      # all cases, 3 rounds
 * deno run --allow-all bench/scale.ts --cli ../old/cli.ts  # the same cases, another checkout
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { FINISHED_SUMMARY } from "../records.ts";

const repo = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

/** A job directory to time `arrayjob status` on, and what its first line must say. */
interface Case {
  name: string;
  what: string;
  /** Writes the job into `dir` (the CLI renders it; the records are written here). */
  make: (dir: string, cli: string) => Promise<void>;
  /** The counts line `status` must print: a wrong answer fast is no result. */
  expect: RegExp;
  /** Largest allowed median wall-clock seconds. */
  seconds: number;
  /** Largest allowed peak resident memory in MB, if any. */
  megabytes?: number;
  /** Time the first status against its floor (at most this ratio), then status again twice. */
  again?: { floorRatio: number };
}

async function run(argv: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
    stdin: "null",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function render(cli: string, dir: string, numTasks: number, extra: string[]) {
  const out = await run([
    Deno.execPath(),
    "run",
    "-A",
    cli,
    "script",
    "--scheduler",
    "slurm",
    "--num-tasks",
    String(numTasks),
    "--job-name",
    "bench",
    "--output-dir",
    dir,
    ...extra,
    "--",
    "./fit",
  ]);
  if (out.code !== 0) throw new Error(`cli.ts script failed: ${out.stderr}`);
  // A submission, as 'arrayjob submit' records it: the live path asks about job 77.
  const submission = { jobId: "77", script: join(dir, "run.sh"), submitted: "2026-01-01T00:00Z" };
  await Deno.writeTextFile(join(dir, "submissions.jsonl"), JSON.stringify(submission) + "\n");
}

// Many small files, written synchronously: 10^5 awaited writes would take longer than the case.
function writeRecords(dir: string, records: Iterable<[string, string]>): void {
  for (const [name, text] of records) Deno.writeTextFileSync(join(dir, "records", name), text);
}

const CASES: Case[] = [
  {
    name: "status-1e5-records",
    what: "arrayjob status over 10^5 array-task records (1% failed, 10 unended)",
    async make(dir, cli) {
      const n = 100_000;
      await render(cli, dir, n, ["--max-array-size", String(n)]);
      writeRecords(
        dir,
        (function* () {
          for (let k = 0; k < n; k++) {
            // As the rendered script writes them: start, end, exit; 10 killed (start alone).
            const exit = k % 100 === 7 ? 1 : 0;
            const end = k % 10_000 === 5 ? "" : `end\t${exit}\t${k + 2}\nexit\t${exit}\n`;
            yield [`77.${k}`, `start\t${k}\t${k}\n${end}`];
          }
        })(),
      );
    },
    expect:
      /^100000 tasks: 98990 done, 1000 failed, 0 running, 0 pending, 0 never finished, 0 unsubmitted, 10 running or lost \(100000 array-task records\)$/m,
    seconds: 1,
    again: { floorRatio: 1.5 },
  },
  {
    name: "status-1e9-tasks",
    what: "arrayjob status of a 10^9-task job in 1000 array tasks, a few failures and one killed",
    async make(dir, cli) {
      const n = 1_000_000_000, step = 1_000_000;
      await render(cli, dir, n, ["--step", String(step)]);
      writeRecords(
        dir,
        (function* () {
          for (let k = 0; k < n / step; k++) {
            const [a, b] = [k * step, (k + 1) * step];
            if (k === 500) {
              yield [`77.${k}`, `start\t${a}:${b}\t1\n`]; // killed
            } else if (k % 100 === 3) {
              // A runTasks array task: its own lines decide; two tasks failed.
              const lines = [`start\t${a}:${b}\t1`, "reports\trunTasks"];
              for (let t = a; t < a + 1000; t++) {
                lines.push(`task\t${t}\t${t % 500 === 1 ? 2 : 0}\t1`);
              }
              yield [`77.${k}`, `${lines.join("\n")}\nend\t1\t2\n`];
            } else {
              yield [`77.${k}`, `start\t${a}:${b}\t1\nend\t0\t2\n`];
            }
          }
        })(),
      );
    },
    // 10 runTasks array tasks: 998 done each, 2 failed, 999,000 failed by the exit status.
    expect:
      /^1000000000 tasks: 989009980 done, 9990020 failed, 0 running, 0 pending, 0 never finished, 0 unsubmitted, 1000000 running or lost \(1000 array-task records\)$/m,
    seconds: 1,
    megabytes: 100,
  },
];

// Peak resident memory of a process that has exited: /usr/bin/time -v prints it on stderr.
const TIME = "/usr/bin/time";

async function timeStatus(cli: string, dir: string, bin: string) {
  const haveTime = await Deno.stat(TIME).then(() => true, () => false);
  if (!haveTime) {
    throw new Error(`${TIME} is missing: it measures the peak memory (apt-get install time)`);
  }
  const started = performance.now();
  const out = await run(
    [TIME, "-v", Deno.execPath(), "run", "-A", cli, "status", dir],
    { PATH: `${bin}:${Deno.env.get("PATH")}` },
  );
  const seconds = (performance.now() - started) / 1000;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(out.stderr);
  if (rss === null) throw new Error(`no peak memory from ${TIME}: ${out.stderr.slice(-300)}`);
  return { seconds, megabytes: Number(rss[1]) / 1024, stdout: out.stdout, stderr: out.stderr };
}

// The floor: list the records and read each, nothing else (the same system calls as status).
const FLOOR = `const dir = Deno.args[0];
for (const entry of Deno.readDirSync(dir)) Deno.readTextFileSync(dir + "/" + entry.name);`;

async function timeFloor(dir: string): Promise<number> {
  const started = performance.now();
  const out = await run([Deno.execPath(), "eval", FLOOR, join(dir, "records")]);
  if (out.code !== 0) throw new Error(`the floor failed: ${out.stderr}`);
  return (performance.now() - started) / 1000;
}

interface Timed {
  wall?: number;
  floor?: number;
  peak?: number;
  problem?: string;
}

// Medians of wall time and floor, and the peak memory, over rounds; `before` runs before each.
async function timeRounds(
  cli: string,
  dir: string,
  bin: string,
  expect: RegExp,
  rounds: number,
  before: (round: number) => void | Promise<void>,
): Promise<Timed> {
  const seconds: number[] = [], megabytes: number[] = [], floors: number[] = [];
  let problem: string | undefined;
  for (let i = 0; i < rounds && problem === undefined; i++) {
    try {
      await before(i);
      const r = await timeStatus(cli, dir, bin);
      if (!expect.test(r.stdout)) {
        problem = `wrong answer: ${(r.stdout + r.stderr).split("\n").slice(0, 3).join(" | ")}`;
      }
      seconds.push(r.seconds);
      megabytes.push(r.megabytes);
      floors.push(await timeFloor(dir));
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  const median = (xs: number[]) => xs.sort((x, y) => x - y)[xs.length >> 1] ?? NaN;
  return {
    wall: median(seconds),
    floor: median(floors),
    peak: Math.max(...megabytes),
    ...(problem === undefined ? {} : { problem }),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      cli: { type: "string", default: join(repo, "cli.ts") },
      rounds: { type: "string", default: "3" },
      only: { type: "string" },
      "no-fail": { type: "boolean", default: false },
    },
  });
  const rounds = Number(values.rounds);
  const only = values.only?.split(",");
  const root = await Deno.makeTempDir({ prefix: "arrayjob-scale-" });
  const rows: string[] = [];
  let missed = 0;
  const bin = join(root, "bin");
  try {
    await Deno.mkdir(bin);
    // The cluster is down: squeue cannot reach its controller (the live path says so, and
    // counts unended records as running or lost).
    await Deno.writeTextFile(
      join(bin, "squeue"),
      "#!/bin/sh\necho 'slurm_load_jobs error: Unable to contact slurm controller' >&2\nexit 1\n",
    );
    await Deno.chmod(join(bin, "squeue"), 0o755);
    for (const kase of CASES) {
      if (only !== undefined && !only.includes(kase.name)) continue;
      const dir = join(root, kase.name);
      await kase.make(dir, values.cli);
      const target = `≤ ${kase.seconds} s` + (kase.megabytes ? `, ≤ ${kase.megabytes} MB` : "");
      const row = (name: string, what: string, t: Timed, limit: string, ok: boolean) => {
        if (!ok) missed++;
        const [wall, floor, peak] = [t.wall ?? NaN, t.floor ?? NaN, t.peak ?? NaN];
        return `| ${name} | ${what} | ${wall.toFixed(2)} s | ${floor.toFixed(2)} s ` +
          `(${(wall / floor).toFixed(1)}×) | ${peak.toFixed(0)} MB | ` +
          `${limit} | ${ok ? "ok" : `MISSED${t.problem ? `: ${t.problem}` : ""}`} |`;
      };
      const fits = (t: Timed) =>
        t.problem === undefined && t.wall! <= kase.seconds &&
        (kase.megabytes === undefined || t.peak! <= kase.megabytes);
      if (kase.again === undefined) {
        const t = await timeRounds(values.cli, dir, bin, kase.expect, rounds, () => {});
        rows.push(row(kase.name, kase.what, t, target, fits(t)));
        continue;
      }
      // The first status reads every record: the kept summary is removed before each round.
      const records = join(dir, "records");
      const first = await timeRounds(values.cli, dir, bin, kase.expect, rounds, async () => {
        await Deno.remove(join(dir, FINISHED_SUMMARY)).catch(() => {});
      });
      const ratio = first.wall! / first.floor!;
      rows.push(row(
        `${kase.name} (first)`,
        `${kase.what}: the first status, which reads them all`,
        first,
        `≤ ${kase.again.floorRatio}× floor`,
        first.problem === undefined && ratio <= kase.again.floorRatio,
      ));
      // records/ just changed (a record came): listed again, only the new and unfinished read.
      const changed = await timeRounds(values.cli, dir, bin, kase.expect, rounds, () => {
        const now = new Date();
        Deno.utimeSync(records, now, now);
      });
      rows.push(row(
        `${kase.name} (again)`,
        "status again, records/ changed a moment ago",
        changed,
        target,
        fits(changed),
      ));
      // records/ still for seconds: the summary's listing stands, nothing listed.
      const still = await timeRounds(values.cli, dir, bin, kase.expect, rounds, async (i) => {
        if (i > 0) return;
        Deno.utimeSync(records, 1e9, 1e9);
        await timeStatus(values.cli, dir, bin); // keeps the listing of a settled records/
      });
      rows.push(row(
        `${kase.name} (still)`,
        "status again, records/ unchanged for seconds",
        still,
        target,
        fits(still),
      ));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  console.log(
    `arrayjob status at scale (${values.cli}), median of ${rounds}, peak of ${rounds}:\n`,
  );
  console.log("| case | what | wall (median) | floor (ratio) | peak RSS | target | result |");
  console.log("|---|---|---|---|---|---|---|");
  for (const row of rows) console.log(row);
  return missed > 0 && !values["no-fail"] ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());

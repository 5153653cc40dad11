/**
 * The scheduler query table read against the real schedulers' output, verbatim from the probe
 * logs in tests/real/probes/ (each command there is followed by its stdout, its stderr prefixed
 * "2> ", and "[exit N]").
 */

import assert from "node:assert/strict";
import {
  type ArrayTaskState,
  askScheduler,
  cancelJob,
  type CommandOutput,
  parseJobId,
  QUERIES,
  SchedulerUnavailable,
} from "../queries.ts";

const PROBES = new URL("./real/probes/", import.meta.url);

/** The output of the `occurrence`-th run of `command` in a probe log. */
function sample(log: string, command: string, occurrence = 0): CommandOutput {
  const lines = Deno.readTextFileSync(new URL(log, PROBES)).split("\n");
  const starts = lines.flatMap((line, i) => line === `$ ${command}` ? [i] : []);
  assert.ok(starts.length > occurrence, `${log} has no run ${occurrence} of ${command}`);
  const stdout: string[] = [], stderr: string[] = [];
  for (let i = starts[occurrence]! + 1;; i++) {
    const exit = /^\[exit ([0-9]+)\]$/.exec(lines[i]!);
    if (exit !== null) {
      const text = (l: string[]) => l.length === 0 ? "" : l.join("\n") + "\n";
      return { code: Number(exit[1]), stdout: text(stdout), stderr: text(stderr) };
    }
    if (lines[i]!.startsWith("2> ")) stderr.push(lines[i]!.slice(3));
    else stdout.push(lines[i]!);
  }
}

/** A job's states as `index:state[:exit]` words, in index order. */
function words(states: Map<number, ArrayTaskState> | undefined): string[] {
  return [...(states ?? [])].sort(([a], [b]) => a - b).map(([index, s]) =>
    s.state === "finished"
      ? `${index}:${s.ok ? "ok" : "failed"}${s.exitCode === undefined ? "" : `:${s.exitCode}`}`
      : `${index}:${s.state}`
  );
}

const squeue = (ids: string, fields: string) => `squeue -j ${ids} -t all -h -r -o '${fields}'`;

Deno.test("slurm parseLive() reads one state per array task from squeue -r -t all", () => {
  const out = sample("slurm_query.log", "squeue -h -r -o '%i|%A|%a|%K|%F|%T|%t|%r'");
  // The probe printed more columns than the lifecycle asks for; keep %i|%F|%K|%T|%r.
  const stdout = out.stdout.split("\n").map((line) => {
    const f = line.split("|");
    return f.length < 8 ? line : [f[0], f[4], f[3], f[5], f[7]].join("|");
  }).join("\n");
  const states = QUERIES.slurm.parseLive({ ...out, stdout });
  assert.deepEqual(words(states.get("59")), ["0:running", "1:running", "2:pending"]);
  assert.deepEqual(words(states.get("57")), ["0:pending", "1:pending", "2:pending", "3:pending"]);
  assert.deepEqual(states.get("57")!.get(0), { state: "pending", detail: "JobHeldUser" });
  assert.equal(states.has("58"), false, "a plain job has no array task");
});

Deno.test("slurm parseLive() tells completed from failed and cancelled tasks", () => {
  const out = sample("slurm_query.log", squeue("57,58,59", "%i|%A|%a|%K|%T|%t|%r"));
  const stdout = out.stdout.split("\n").map((line) => {
    const f = line.split("|");
    return f.length < 7 ? line : [f[0], f[0]!.split("_")[0], f[3], f[4], f[6]].join("|");
  }).join("\n");
  const states = QUERIES.slurm.parseLive({ ...out, stdout });
  assert.deepEqual(words(states.get("59")), ["0:failed", "1:failed", "2:failed"]);
  assert.equal(
    states.get("59")!.get(0)!.state === "finished" && states.get("59")!.get(0)!.detail,
    "CANCELLED",
  );
  const finished = sample("slurm_query.log", squeue("51,53,54,56", "%i|%A|%a|%K|%F|%T|%t|%r"));
  const rows = finished.stdout.split("\n").map((line) => {
    const f = line.split("|");
    return f.length < 8 ? line : [f[0], f[4], f[3], f[5], f[7]].join("|");
  }).join("\n");
  const done = QUERIES.slurm.parseLive({ ...finished, stdout: rows });
  assert.deepEqual(words(done.get("51")), ["0:ok", "1:ok"]);
  assert.deepEqual(words(done.get("54")), ["0:ok", "1:failed"]);
});

Deno.test("slurm parseLive() expands rows Slurm has not split: ranges, lists, throttles", () => {
  const out = sample("slurm_query.log", "squeue -j 84,85,86,87 -h -o '%i|%F|%K|%T|%r'");
  const states = QUERIES.slurm.parseLive(out);
  assert.deepEqual(words(states.get("87")), [
    "0:running",
    "1:pending",
    "2:pending",
    "3:pending",
    "4:pending",
  ]);
  assert.deepEqual(words(states.get("86")), ["1:pending", "4:pending", "7:pending"]);
  assert.deepEqual(words(states.get("84")), ["0:pending", "3:pending", "6:pending", "9:pending"]);
});

Deno.test("slurm parseLive() takes 'Invalid job id' as no such job, other errors as no answer", () => {
  const gone = sample("slurm_query.log", "squeue -h -j 999999");
  assert.equal(gone.code, 1);
  assert.equal(QUERIES.slurm.parseLive(gone).size, 0);
  assert.throws(
    () =>
      QUERIES.slurm.parseLive({
        code: 1,
        stdout: "",
        stderr: "slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n",
      }),
    SchedulerUnavailable,
  );
});

Deno.test("slurm parseAccounting() reads sacct rows and refuses disabled accounting", () => {
  // Accounting is disabled on the measured cluster: this is the row format of sacct(1) with
  // -n -P -X -o JobID,State,ExitCode, as submitit parses it.
  const states = QUERIES.slurm.parseAccounting({
    code: 0,
    stdout: "12_0|COMPLETED|0:0\n12_1|FAILED|3:0\n12_2|CANCELLED by 0|0:15\n12_[3-4]|PENDING|0:0\n",
    stderr: "",
  });
  assert.deepEqual(words(states.get("12")), [
    "0:ok:0",
    "1:failed:3",
    "2:failed:143",
    "3:pending",
    "4:pending",
  ]);
  assert.throws(
    () => QUERIES.slurm.parseAccounting(sample("slurm_query.log", "sacct -j 51")),
    (e: Error) =>
      e instanceof SchedulerUnavailable && /accounting storage is disabled/.test(e.message),
  );
});

Deno.test("sge parseLive() reads qstat -g d: running, queued and held array tasks", () => {
  const states = QUERIES.sge.parseLive(sample("sge_query.log", "qstat -g d"));
  assert.deepEqual(words(states.get("33")), ["1:running", "2:running", "3:pending"]);
  assert.deepEqual(words(states.get("31")), ["1:pending", "2:pending", "3:pending", "4:pending"]);
  assert.deepEqual(states.get("31")!.get(1), { state: "pending", detail: "hqw" });
  assert.equal(states.has("32"), false, "a plain job has no array task");
});

Deno.test("sge parseLive() expands grouped pending tasks and reads an empty qstat as no job", () => {
  const states = QUERIES.sge.parseLive(sample("sge_query.log", "qstat", 1));
  assert.deepEqual(words(states.get("31")), ["1:pending", "2:pending", "3:pending", "4:pending"]);
  assert.deepEqual(QUERIES.sge.parseLive(sample("sge_query.log", "qstat", 0)), new Map());
  assert.throws(
    () =>
      QUERIES.sge.parseLive({
        code: 1,
        stdout: "",
        stderr: "error: commlib error: got select error (Connection refused)\n",
      }),
    SchedulerUnavailable,
  );
});

Deno.test("sge parseAccounting() reads qacct blocks: exit status, and failed for deleted tasks", () => {
  const ok = QUERIES.sge.parseAccounting(sample("sge_query.log", "qacct -j 27"));
  assert.deepEqual(words(ok.get("27")), ["1:ok:0", "2:ok:0"]);
  const deleted = QUERIES.sge.parseAccounting(sample("sge_query.log", "qacct -j 33", 1));
  assert.deepEqual(words(deleted.get("33")), ["1:failed:137", "2:failed:137"]);
  assert.match(
    (deleted.get("33")!.get(1) as { detail: string }).detail,
    /^failed 100 : assumedly after job/,
  );
  const none = sample("sge_query.log", "qacct -j 999999");
  assert.equal(QUERIES.sge.parseAccounting(none).size, 0, "not found: no record, not an error");
});

Deno.test("parseJobId() reads every form of the submit programs' output", () => {
  assert.equal(parseJobId(QUERIES.slurm, "Submitted batch job 31\n"), "31");
  assert.equal(parseJobId(QUERIES.slurm, "32\n"), "32");
  assert.equal(parseJobId(QUERIES.slurm, "32;cluster\n"), "32");
  assert.equal(
    parseJobId(QUERIES.slurm, "sbatch: error: Batch job submission failed\n"),
    undefined,
  );
  assert.equal(parseJobId(QUERIES.sge, 'Your job 14 ("ok.sh") has been submitted\n'), "14");
  assert.equal(
    parseJobId(QUERIES.sge, 'Your job-array 17.1-3:1 ("arr") has been submitted\n'),
    "17",
  );
  assert.equal(parseJobId(QUERIES.sge, "16.1-3:1\n"), "16");
  assert.equal(parseJobId(QUERIES.sge, "15\n"), "15");
  assert.equal(
    parseJobId(
      QUERIES.sge,
      'Job 24.2 exited with exit code 3.\nYour job-array 24.1-3:1 ("exA") has been submitted\n',
    ),
    "24",
  );
});

Deno.test("askScheduler() asks accounting only about jobs the live command no longer knows", async () => {
  const calls: string[] = [];
  const answer = await askScheduler(QUERIES.sge, ["33", "27"], (argv) => {
    calls.push(argv.join(" "));
    if (argv[0] === "qstat") return Promise.resolve(sample("sge_query.log", "qstat -g d"));
    return Promise.resolve(sample("sge_query.log", "qacct -j 27"));
  });
  assert.deepEqual(calls, ["qstat -g d", "qacct -j 27"]);
  assert.deepEqual(words(answer.states.get("33")), ["1:running", "2:running", "3:pending"]);
  assert.deepEqual(words(answer.states.get("27")), ["1:ok:0", "2:ok:0"]);
  assert.equal(answer.states.has("31"), false, "jobs not asked about are left out");
});

Deno.test("askScheduler() says when accounting could not fill the gaps", async () => {
  const answer = await askScheduler(QUERIES.slurm, ["18"], (argv) =>
    Promise.resolve(
      argv[0] === "squeue"
        ? sample("slurm_query.log", "squeue -h -j 999999")
        : sample("slurm_query.log", "sacct -j 51"),
    ));
  assert.equal(answer.unavailable, undefined);
  assert.equal(answer.accountingUnavailable, "Slurm accounting storage is disabled");
  assert.equal(answer.states.size, 0);
});

Deno.test("cancelJob() cancels whole jobs or array tasks, an ended job being no problem", async () => {
  const calls: string[] = [];
  const answer = (output: CommandOutput) => (argv: readonly string[]) => {
    calls.push(argv.join(" "));
    return Promise.resolve(output);
  };
  const silent = { code: 0, stdout: "", stderr: "" };
  assert.deepEqual(await cancelJob(QUERIES.slurm, "12", [0, 3], answer(silent)), []);
  assert.deepEqual(await cancelJob(QUERIES.slurm, "12", undefined, answer(silent)), []);
  const gone = sample("sge_query.log", "qdel 999999");
  assert.deepEqual(await cancelJob(QUERIES.sge, "7", undefined, answer(gone)), []);
  assert.deepEqual(calls, ["scancel 12_0 12_3", "scancel 12", "qdel 7"]);
  const refused = { code: 1, stdout: "", stderr: "error: commlib error\n" };
  assert.deepEqual(await cancelJob(QUERIES.sge, "7", [2], answer(refused)), [
    "qdel 7 -t 2: error: commlib error",
  ]);
});

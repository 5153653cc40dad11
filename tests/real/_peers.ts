/**
 * Runs the Python drivers of other people's scheduler clients (tests/fixtures/peers/) with the
 * clients from `../shared/peers` (a sibling of the repository, see its README) and records every
 * scheduler command they call. The environment decides which scheduler answers: the real one by
 * default, the fake one with its `bin` directory first on PATH.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { type Output, ROOT, run } from "./_lib.ts";

/** The clients' folder: `$ARRAYJOB_PEERS`, else `../shared/peers` beside the repository. */
export const PEERS = Deno.env.get("ARRAYJOB_PEERS") ?? path.resolve(ROOT, "../shared/peers");
export const DRIVERS = path.join(ROOT, "tests/fixtures/peers");

/** The commands the clients may call, recorded by tests/fixtures/peers/record_calls.py. */
export const SCHEDULER_COMMANDS = [
  "sbatch",
  "squeue",
  "sacct",
  "scancel",
  "scontrol",
  "srun",
  "qsub",
  "qstat",
  "qacct",
  "qdel",
  "qhold",
  "qrls",
];

const NEEDS: Record<string, { modules: string[]; packages: string }> = {
  "submitit": {
    modules: ["cloudpickle", "typing_extensions"],
    packages: "python3-cloudpickle python3-typing-extensions",
  },
  "dask-jobqueue": { modules: ["distributed", "dask"], packages: "python3-distributed" },
};

/**
 * The Python that has the clients' libraries: Debian's /usr/bin/python3 (where apt installs
 * them) when it exists, else python3 on PATH. Throws, naming the apt packages, when one is missing.
 */
export async function peerPython(client: "submitit" | "dask-jobqueue"): Promise<string> {
  let python = "python3";
  try {
    await Deno.stat("/usr/bin/python3");
    python = "/usr/bin/python3";
  } catch { /* not Debian's layout: the one on PATH */ }
  const { modules, packages } = NEEDS[client]!;
  const out = await run([python, "-c", `import ${modules.join(", ")}`], { timeoutSeconds: 60 });
  if (out.code !== 0) {
    throw new Error(
      `${python} cannot import ${modules.join(", ")} for ${client}: ` +
        `apt-get install ${packages}\n${out.stderr.trim()}`,
    );
  }
  try {
    await Deno.stat(path.join(PEERS, client));
  } catch {
    throw new Error(
      `${client} is not in ${PEERS}/${client} (set ARRAYJOB_PEERS to the shared/peers folder)`,
    );
  }
  return python;
}

/** One scheduler command a client ran: argv, and (except `srun`) its exit code and output. */
export interface Call {
  argv: string[];
  cwd: string;
  exit?: number;
  stdout?: string;
  stderr?: string;
}

export interface PeerRun {
  out: Output;
  /** The driver's JSON report (its last stdout line). */
  report: Record<string, unknown>;
  calls: Call[];
}

/**
 * Runs a driver with its client on PYTHONPATH and the call recorder first on PATH. `env` (e.g.
 * the fake's PATH) is applied first, so the recorder passes calls on to the face under test.
 */
export async function runPeerDriver(
  client: "submitit" | "dask-jobqueue",
  driver: string,
  args: string[],
  options: { env?: Record<string, string>; work: string; timeoutSeconds?: number },
): Promise<PeerRun> {
  const python = await peerPython(client);
  const bin = path.join(options.work, "recorded-bin");
  const log = path.join(options.work, "calls.jsonl");
  const install = await run([
    python,
    path.join(DRIVERS, "record_calls.py"),
    "install",
    bin,
    ...SCHEDULER_COMMANDS,
  ]);
  assert.equal(install.code, 0, install.stderr);
  const basePath = options.env?.PATH ?? Deno.env.get("PATH") ?? "";
  const out = await run([python, path.join(DRIVERS, driver), ...args], {
    cwd: options.work,
    env: {
      ...options.env,
      PATH: `${bin}:${basePath}`,
      PEER_CALL_LOG: log,
      PYTHONPATH: path.join(PEERS, client),
    },
    timeoutSeconds: options.timeoutSeconds ?? 240,
  });
  const lastLine = out.stdout.trim().split("\n").at(-1) ?? "";
  let report: Record<string, unknown> = {};
  try {
    report = JSON.parse(lastLine);
  } catch {
    assert.fail(
      `${driver} printed no JSON report:\nexit ${out.code}\n${out.stdout}\n${out.stderr}`,
    );
  }
  let calls: Call[] = [];
  try {
    calls = (await Deno.readTextFile(log)).split("\n").filter((l) => l !== "").map((l) =>
      JSON.parse(l)
    );
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return { out, report, calls };
}

/** Live (not zombie) processes whose command line contains `needle`. */
export async function processesWith(needle: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmdline = (await Deno.readTextFile(`/proc/${entry.name}/cmdline`)).replaceAll(
        "\0",
        " ",
      );
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (cmdline.includes(needle) && state !== "Z") found.push(`${entry.name} ${cmdline.trim()}`);
    } catch { /* the process ended meanwhile */ }
  }
  return found;
}

/**
 * submitit's `SlurmExecutor.map_array` of 6 calls through the face `env`: all 6 results, each
 * call run exactly once, one array job `N_0`..`N_5`, submitted with one `sbatch` of a script
 * asking for `--array=0-5%2`, each array task running its call as an `srun` step.
 */
export async function checkSubmititMapArray(
  work: string,
  env?: Record<string, string>,
): Promise<PeerRun> {
  const folder = path.join(work, "submitit");
  const result = await runPeerDriver("submitit", "submitit_map_array.py", [folder], { env, work });
  const { out, report, calls } = result;
  const context = `\nexit ${out.code}\nstdout: ${out.stdout}\nstderr: ${out.stderr.slice(-3000)}`;
  assert.equal(out.code, 0, `submitit driver failed${context}`);
  assert.deepEqual(report.results, [0, 1, 4, 9, 16, 25], context);
  // Each call appended its input once: read the file, not the driver's word for it.
  const ran = (await Deno.readTextFile(path.join(folder, "calls.txt"))).split("\n")
    .filter((l) => l !== "").map(Number).sort((a, b) => a - b);
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5], "each call exactly once");
  const ids = report.job_ids as string[];
  const job = /^(\d+)_0$/.exec(ids[0] ?? "")?.[1];
  assert.ok(job, `job ids ${ids}`);
  assert.deepEqual(ids, [0, 1, 2, 3, 4, 5].map((i) => `${job}_${i}`));
  const submits = calls.filter((c) => c.argv[0] === "sbatch");
  assert.equal(submits.length, 1, JSON.stringify(calls.map((c) => c.argv)));
  assert.equal(submits[0]!.stdout, `Submitted batch job ${job}\n`);
  const script = await Deno.readTextFile(submits[0]!.argv.at(-1)!.replace(
    /\.submission_file_[0-9a-f]+\.sh$/,
    `${job}/${job}_submission.sh`,
  ));
  assert.match(script, /^#SBATCH --array=0-5%2$/m);
  assert.match(script, /^#SBATCH --wckey=submitit$/m);
  assert.equal(calls.filter((c) => c.argv[0] === "srun").length, 6, "one srun step per task");
  return result;
}

/**
 * dask-jobqueue's SLURMCluster or SGECluster through the face `env`: `scale(jobs=2)` starts
 * two worker jobs, a computation on them gives the right sum, and `close()` returns within 10 s,
 * cancels both jobs (`scancel ID` / `qdel ID`) and leaves no worker process and no live job.
 */
export async function checkDaskCluster(
  kind: "slurm" | "sge",
  work: string,
  env?: Record<string, string>,
): Promise<PeerRun> {
  const folder = path.join(work, `dask-${kind}`);
  const result = await runPeerDriver("dask-jobqueue", "dask_cluster.py", [kind, folder], {
    env,
    work,
  });
  const { out, report, calls } = result;
  const context = `\nexit ${out.code}\nstdout: ${out.stdout}\nstderr: ${out.stderr.slice(-3000)}`;
  assert.equal(out.code, 0, `dask driver failed${context}`);
  assert.equal(report.result, report.expected, context);
  assert.equal(report.workers, 2, context);
  const seconds = report.seconds as Record<string, number>;
  assert.ok(seconds.close! < 10, `close() took ${seconds.close} s`);
  assert.deepEqual(report.leftover, [], "worker processes left after close()");
  const ids = report.job_ids as string[];
  assert.equal(ids.length, 2, context);
  const [submit, cancel] = kind === "slurm" ? ["sbatch", "scancel"] : ["qsub", "qdel"];
  const submitOutput = kind === "slurm"
    ? /^Submitted batch job (\d+)\n$/
    : /^Your job (\d+) \("peer_dask"\) has been submitted\n$/;
  assert.deepEqual(
    calls.filter((c) => c.argv[0] === submit).map((c) => submitOutput.exec(c.stdout ?? "")?.[1])
      .sort(),
    [...ids].sort(),
  );
  assert.deepEqual(
    calls.filter((c) => c.argv[0] === cancel).map((c) => c.argv.slice(1).join(" ")).sort(),
    [...ids].sort(),
  );
  // Nothing of the cluster is left: no process naming its scheduler, no live job.
  assert.deepEqual(await processesWith(String(report.scheduler)), []);
  const deadline = performance.now() + 10_000;
  let live: string[] = [];
  do {
    const query = kind === "slurm"
      ? await run(["squeue", "-h", "-j", ids.join(","), "-o", "%i %T"], { env })
      : await run(["qstat"], { env });
    assert.equal(query.code, 0, query.stderr);
    live = query.stdout.split("\n").filter((l) => ids.includes(l.trim().split(/\s+/)[0]!));
    if (live.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  } while (performance.now() < deadline);
  assert.deepEqual(live, [], "jobs still queued or running 10 s after close()");
  return result;
}

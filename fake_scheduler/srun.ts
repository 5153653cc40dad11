/**
 * The fake Slurm `srun`: one step of the job it runs in, or a one-task job of its own in the
 * fake's job spool (`spool.ts`). `srun(words, context)` returns the command's exit code; run as a
 * program (`bin/srun`), it is the command. Behaviour as measured on Slurm 22.05
 * (tests/real/FACTS.md).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { consoleIO } from "./io.ts";
import {
  parseQuery,
  type QueryContext,
  type QueryReq,
  queryTable,
  userName,
} from "./query_command.ts";
import { expandSlurmPattern } from "./slurm.ts";
import { Spool } from "./spool.ts";
import { host } from "./slurm_view.ts";

/**
 * `srun [OPTIONS] COMMAND...`: inside a job (`SLURM_JOB_ID` set) one step of it, step id 0,
 * with `--output`/`--error` patterns expanded (`%A %a %j %s %t %x %N %u`); outside one, a new
 * one-task job of its own in the spool, running in the foreground. Exits with the command's
 * status, saying so on stderr when it failed, as srun does.
 */
export async function srun(args: string[], ctx: QueryContext = {}): Promise<number> {
  const io = ctx.io ?? consoleIO();
  const env = { ...(ctx.env ?? Deno.env.toObject()) };
  let req: QueryReq;
  try {
    req = parseQuery(
      queryTable(
        "srun",
        [
          "--output -o",
          "--error -e",
          "--ntasks -n",
          "--nodes -N",
          "--cpus-per-task -c",
          "--job-name -J",
          "--time -t",
          "--mem",
          "--partition -p",
          "--open-mode",
          "--export",
          "--chdir -D",
          "--mpi",
          "--cpu-bind",
          "--gres",
          "--input -i",
        ],
        ["--unbuffered -u", "--exclusive", "--overlap", "--quiet -Q", "--label -l", "--wait"],
      ),
      args,
      true,
    );
  } catch (e) {
    io.stderr(`srun: error: ${(e as Error).message}`);
    return 1;
  }
  const command = req.words;
  if (command.length === 0) {
    io.stderr("srun: fatal: No command given to execute.");
    return 1;
  }
  let spool: Spool | undefined;
  let ownJob: string | undefined;
  if (env.SLURM_JOB_ID === undefined) {
    // Outside an allocation srun makes a job of its own (FACTS.md: `43 0 0`).
    spool = ctx.spool ?? new Spool();
    const id = String(spool.nextIds(1));
    ownJob = id;
    const name = String(req["--job-name"] ?? command[0].split("/").at(-1));
    spool.create({
      id,
      scheduler: "slurm",
      name,
      user: userName(env),
      submitDir: Deno.cwd(),
      workDir: Deno.cwd(),
      command: command.join(" "),
      submitTime: Date.now(),
      array: false,
      slots: Number(req["--cpus-per-task"] ?? 1),
      cancelSignal: "SIGTERM",
      partition: String(req["--partition"] ?? "debug"),
      queue: String(req["--partition"] ?? "debug"),
      runner: Deno.pid,
      tasks: [{ index: 0, jobId: id, state: "RUNNING", start: Date.now(), stdout: "" }],
    });
    Object.assign(env, {
      SLURM_JOB_ID: id,
      SLURM_JOBID: id,
      SLURM_JOB_NAME: name,
      SLURM_JOB_NODELIST: host(),
      SLURM_NODELIST: host(),
      SLURM_NNODES: "1",
      SLURM_JOB_NUM_NODES: "1",
      SLURM_JOB_PARTITION: String(req["--partition"] ?? "debug"),
      SLURM_SUBMIT_DIR: Deno.cwd(),
      SLURM_CLUSTER_NAME: "fake",
    });
  }
  Object.assign(env, {
    SLURM_STEP_ID: "0",
    SLURM_STEPID: "0",
    SLURM_PROCID: "0",
    SLURM_LOCALID: "0",
    SLURM_NODEID: "0",
    SLURM_NTASKS: "1",
    SLURM_NPROCS: "1",
    SLURM_STEP_NUM_TASKS: "1",
    SLURM_STEP_NUM_NODES: "1",
    SLURM_STEP_NODELIST: host(),
  });
  const vars = {
    A: env.SLURM_ARRAY_JOB_ID ?? env.SLURM_JOB_ID,
    a: env.SLURM_ARRAY_TASK_ID ?? "4294967294",
    j: env.SLURM_JOB_ID,
    x: env.SLURM_JOB_NAME ?? "",
    N: host(),
    u: userName(env),
  };
  const open = (pattern: unknown): number | "inherit" => {
    if (pattern === undefined) return "inherit";
    const path = expandSlurmPattern(String(pattern).replace(/%(\d*)s/g, "%$1t"), vars);
    const append = req["--open-mode"] === "append";
    return openSync(path, append ? "a" : "w");
  };
  let stdout: number | "inherit", stderr: number | "inherit";
  try {
    stdout = open(req["--output"]);
    stderr = req["--error"] === undefined ? stdout : open(req["--error"]);
  } catch (e) {
    io.stderr(`srun: error: cannot open output: ${(e as Error).message}`);
    return 1;
  }
  const child = spawn(command[0], command.slice(1), {
    env,
    cwd: req["--chdir"] === undefined ? undefined : String(req["--chdir"]),
    stdio: ["inherit", stdout, stderr],
  });
  const status = await new Promise<{ code: number; signal: number | null }>((resolve) => {
    child.once(
      "exit",
      (code, signal) =>
        resolve({
          code: code ?? 0,
          signal: signal ? (Deno.build.os === "linux" ? signalNumber(signal) : 9) : null,
        }),
    );
    child.once("error", () => resolve({ code: 2, signal: null }));
  });
  for (const fd of [stdout, stderr]) {
    if (typeof fd === "number") {
      try {
        closeSync(fd);
      } catch {
        // Closed already (stdout and stderr the same file).
      }
    }
  }
  if (spool && ownJob) {
    spool.update(ownJob, (j) => {
      const t = j.tasks[0];
      t.end = Date.now();
      if (status.signal !== null) t.signal = status.signal;
      else t.exit = status.code;
      t.state = status.code === 0 && status.signal === null ? "COMPLETED" : "FAILED";
      delete j.runner;
    });
  }
  if (status.signal !== null) {
    io.stderr(`srun: error: ${host()}: task 0: Killed`);
    return 128 + status.signal;
  }
  if (status.code !== 0) {
    io.stderr(`srun: error: ${host()}: task 0: Exited with exit code ${status.code}`);
  }
  return status.code;
}

function signalNumber(name: string): number {
  const table: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGKILL: 9,
    SIGTERM: 15,
    SIGUSR1: 10,
    SIGUSR2: 12,
  };
  return table[name] ?? 9;
}

if (import.meta.main) Deno.exit(await srun(Deno.args));

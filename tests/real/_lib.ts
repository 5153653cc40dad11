/**
 * Shared machinery of the real-scheduler tests: finding out whether Grid Engine and Slurm
 * answer, rendering a case with arrayjob, submitting it to the real scheduler or to the fake
 * one, and reading back what every array task did.
 *
 * The schedulers come from scripts/sge-up.sh and scripts/slurm-up.sh (root, Debian 12).
 */

import assert from "node:assert/strict";
import path from "node:path";
import type { Scheduler } from "../../mod.ts";
import { writeClusterScript } from "../../job_dir.ts";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
export const TASK_SH = path.join(ROOT, "tests/real/fixtures/task.sh");
export const FAKE: Record<Scheduler, string> = {
  sge: path.join(ROOT, "fake_scheduler/bin/qsub"),
  slurm: path.join(ROOT, "fake_scheduler/bin/sbatch"),
};
export const NAMES: Record<Scheduler, string> = { sge: "Grid Engine", slurm: "Slurm" };
const UP: Record<Scheduler, string> = { sge: "scripts/sge-up.sh", slurm: "scripts/slurm-up.sh" };

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
  /** Seconds the command took. */
  seconds: number;
}

/** Runs a command to its end; never throws for a non-zero exit or a missing program. */
export async function run(
  cmd: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutSeconds?: number } = {},
): Promise<Output> {
  const started = performance.now();
  const decoder = new TextDecoder();
  try {
    const child = new Deno.Command(cmd[0]!, {
      args: cmd.slice(1),
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, (options.timeoutSeconds ?? 300) * 1000);
    const out = await child.output();
    clearTimeout(timer);
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    return {
      code: 127,
      stdout: "",
      stderr: String(error),
      seconds: (performance.now() - started) / 1000,
    };
  }
}

/** Why the scheduler cannot be used here, or undefined when it answers and has a free queue. */
export async function unavailable(scheduler: Scheduler): Promise<string | undefined> {
  if (scheduler === "slurm") {
    const out = await run(["sinfo", "-h", "-N", "-o", "%t"], { timeoutSeconds: 15 });
    if (out.code !== 0) return `sinfo does not answer: ${(out.stderr || out.stdout).trim()}`;
    if (!/^(idle|mix|alloc)/m.test(out.stdout)) {
      return `no Slurm node is up (sinfo says ${JSON.stringify(out.stdout.trim())})`;
    }
    return undefined;
  }
  const out = await run(["qstat", "-f"], { timeoutSeconds: 15 });
  if (out.code !== 0) return `qstat does not answer: ${(out.stderr || out.stdout).trim()}`;
  // A queue instance line whose states column is empty: "all.q@vm  BIP  0/0/2  0.07  lx-amd64".
  const ready = out.stdout.split("\n").some((line) => {
    const fields = line.trim().split(/\s+/);
    return fields[0]?.includes("@") && fields.length === 5;
  });
  return ready ? undefined : `no Grid Engine queue instance is ready:\n${out.stdout}`;
}

let anyFailed = false;
const createdDirs: string[] = [];
// Remove the cases' directories when every test passed; keep them for inspection otherwise.
globalThis.addEventListener("unload", () => {
  if (anyFailed || Deno.env.get("ARRAYJOB_KEEP")) {
    if (createdDirs.length > 0) console.error(`kept for inspection: ${createdDirs.join(" ")}`);
    return;
  }
  for (const dir of createdDirs) {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch { /* already gone */ }
  }
});

/**
 * Registers a test that needs the real scheduler. Without one it fails with the reason and the
 * script that starts it: a suite that skipped would pass while testing nothing.
 */
export function realTest(
  scheduler: Scheduler,
  reason: string | undefined,
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  Deno.test({
    name: `${NAMES[scheduler]}: ${name}`,
    // The submit commands leave no resources open, but sbatch/qsub children may outlive a
    // failed assertion's timer; keep the sanitizers from blaming the next test.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async (t) => {
      if (reason !== undefined) {
        throw new Error(
          `${NAMES[scheduler]} is not available: ${reason}\n` +
            `(start it with: sudo bash ${UP[scheduler]})`,
        );
      }
      try {
        await fn(t);
      } catch (error) {
        anyFailed = true;
        throw error;
      }
    },
  });
}

/** Detects the scheduler once per test file: the reason it does not answer, if it does not. */
export function detect(scheduler: Scheduler): Promise<string | undefined> {
  return unavailable(scheduler);
}

/** One array job of the suite. */
export interface Case {
  name: string;
  numTasks: number;
  step: number;
  cpus?: number;
  memory?: string;
  time?: number;
  throttle?: number;
  /** `INDEX:CODE:DELAY,...`: tasks whose chunk exits CODE after DELAY more seconds. */
  fails?: string;
  /** The case's chunks outlive `time`, so the scheduler kills them. */
  killed?: boolean;
}

export interface Rendered {
  case: Case;
  scheduler: Scheduler;
  dir: string;
  script: string;
  outputDir: string;
  marker: string;
  envDir: string;
  jobName: string;
}

/** Renders a case with arrayjob into a fresh directory under `base`. */
export async function render(
  scheduler: Scheduler,
  c: Case,
  base: string,
  face: "real" | "fake",
): Promise<Rendered> {
  const dir = path.join(base, `${scheduler}-${face}-${c.name}`);
  await Deno.mkdir(dir, { recursive: true });
  const marker = path.join(dir, "marker");
  const envDir = path.join(dir, "env");
  const outputDir = path.join(dir, "logs");
  const jobName = `aj_${c.name}`;
  const script = await writeClusterScript({
    scheduler,
    numTasks: c.numTasks,
    step: c.step,
    cpus: c.cpus,
    memory: c.memory,
    time: c.time,
    throttle: c.throttle,
    command: ["sh", TASK_SH, marker, envDir, c.fails ?? "-"],
    jobName,
    outputDir,
    workDir: dir,
    wait: true,
  });
  return { case: c, scheduler, dir, script, outputDir, marker, envDir, jobName };
}

export interface Submitted {
  rendered: Rendered;
  out: Output;
  jobId: string;
  /** The marker's lines when the submit command returned. */
  markerAtReturn: string[];
}

/** Submits a rendered script with the plain submit command; the script itself asks to wait. */
export async function submit(r: Rendered, face: "real" | "fake"): Promise<Submitted> {
  const program = face === "real" ? (r.scheduler === "sge" ? "qsub" : "sbatch") : FAKE[r.scheduler];
  const out = await run([program, r.script], {
    cwd: r.dir,
    env: face === "fake" ? { ARRAYJOB_FAKE_SLOTS: "2" } : undefined,
  });
  const markerAtReturn = await lines(r.marker);
  const match = r.scheduler === "sge"
    ? /Your job(?:-array)? (\d+)/.exec(out.stdout)
    : /Submitted batch job (\d+)/.exec(out.stdout);
  assert.ok(
    match,
    `${face} ${r.scheduler} did not report a job id for ${r.case.name}:\n` +
      `exit ${out.code}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`,
  );
  return { rendered: r, out, jobId: match[1]!, markerAtReturn };
}

export async function lines(file: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(file)).split("\n").filter((line) => line !== "");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

/** The task indices that `--tasks=START:STOP` lines cover, clipped to numTasks, sorted. */
export function expand(markerLines: string[], numTasks: number): number[] {
  const indices: number[] = [];
  for (const line of markerLines) {
    const m = /^--tasks=(\d+):(\d+)$/.exec(line);
    assert.ok(m, `unexpected marker line ${JSON.stringify(line)}`);
    for (let i = Number(m[1]); i < Math.min(Number(m[2]), numTasks); i++) indices.push(i);
  }
  return indices.sort((a, b) => a - b);
}

/** The array task ids the scheduler uses for a case: 1..K (Grid Engine) or 0..K-1 (Slurm). */
export function arrayIds(scheduler: Scheduler, c: Case): number[] {
  const k = Math.ceil(c.numTasks / c.step);
  const first = scheduler === "sge" ? 1 : 0;
  return Array.from({ length: k }, (_, i) => first + i);
}

/** Log files the rendered script asked for, as the scheduler names them. */
export function expectedLogs(r: Rendered, jobId: string): string[] {
  return arrayIds(r.scheduler, r.case).map((id) => `${r.jobName}.o${jobId}.${id}`).sort();
}

/** The log files actually written (names only), job id replaced by JOBID. */
export async function logNames(r: Rendered, jobId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(r.outputDir)) {
    if (entry.isFile && entry.name.startsWith(`${r.jobName}.`)) names.push(entry.name);
  }
  return names.map((n) => n.replace(`.o${jobId}.`, ".oJOBID.")).sort();
}

/** Each array task's saved environment: id → { VAR: value }. */
export async function environments(
  r: Rendered,
): Promise<Map<string, Record<string, string>>> {
  const result = new Map<string, Record<string, string>>();
  try {
    for await (const entry of Deno.readDir(r.envDir)) {
      if (!entry.name.endsWith(".env")) continue;
      const vars: Record<string, string> = {};
      for (const line of await lines(path.join(r.envDir, entry.name))) {
        const at = line.indexOf("=");
        vars[line.slice(0, at)] = line.slice(at + 1);
      }
      result.set(entry.name.slice(0, -4), vars);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return result;
}

/**
 * Each array task's exit code as the real scheduler recorded it: Grid Engine's accounting
 * (`qacct -j`) or Slurm's jobcomp/filetxt log. Polls a few seconds, as records land just after
 * the job ends.
 */
export async function schedulerRecords(
  scheduler: Scheduler,
  jobId: string,
  count: number,
): Promise<Map<number, { exit: number; state: string }>> {
  let records = new Map<number, { exit: number; state: string }>();
  for (let attempt = 0; attempt < 40; attempt++) {
    records = scheduler === "sge" ? await qacct(jobId) : await jobcomp(jobId);
    if (records.size >= count) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return records;
}

async function qacct(jobId: string): Promise<Map<number, { exit: number; state: string }>> {
  const out = await run(["qacct", "-j", jobId], { timeoutSeconds: 20 });
  const records = new Map<number, { exit: number; state: string }>();
  let task: number | undefined;
  let failed = "";
  for (const line of out.stdout.split("\n")) {
    const [key, ...rest] = line.trim().split(/\s+/);
    const value = rest.join(" ");
    if (key === "taskid") task = Number(rest[0]);
    else if (key === "failed") failed = value;
    else if (key === "exit_status" && task !== undefined) {
      records.set(task, { exit: Number(rest[0]), state: failed.startsWith("0") ? "done" : failed });
    }
  }
  return records;
}

export const JOBCOMP = "/var/log/slurm/jobcomp.log";

async function jobcomp(jobId: string): Promise<Map<number, { exit: number; state: string }>> {
  const records = new Map<number, { exit: number; state: string }>();
  for (const line of await lines(JOBCOMP)) {
    const field = (key: string) => new RegExp(`(?:^| )${key}=([^ ]*)`).exec(line)?.[1];
    if (field("ArrayJobId") !== jobId) continue;
    const [exit] = (field("ExitCode") ?? "").split(":");
    records.set(Number(field("ArrayTaskId")), {
      exit: Number(exit),
      state: field("JobState") ?? "",
    });
  }
  return records;
}

/**
 * A fresh directory for a test file's cases, removed at the end when every test passed (kept
 * on failure, or when ARRAYJOB_KEEP is set).
 */
export async function baseDir(prefix: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: `arrayjob-real-${prefix}-` });
  createdDirs.push(dir);
  return dir;
}

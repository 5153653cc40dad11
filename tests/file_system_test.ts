/**
 * When the file system refuses (a full disk, a read-only mount) or a render is killed midway, a
 * job's directory holds the old job or the new one whole: one line, exit 1, no manifest, records
 * or staging files left behind, and never a half set of `--split` parts beside a manifest.
 *
 * The full and read-only disks are real: a small tmpfs, mounted by the test. That needs root (as
 * CI and the development container have); without it the tests fail, saying so.
 */

import assert from "node:assert/strict";
import { MANIFEST } from "../job_dir.ts";
import { cli, oneLine } from "./fixtures/cli.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

async function run(program: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(program, { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

// A tmpfs of `size` mounted on a fresh directory for `fn`, unmounted and removed after it.
async function withTmpfs(size: string, fn: (dir: string) => Promise<void>): Promise<void> {
  if (Deno.uid() !== 0) {
    throw new Error(
      "this test mounts a small tmpfs to fill it (mount -t tmpfs), which needs root: run it as " +
        "root, as CI does",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-fs-" });
  await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  try {
    await fn(dir);
  } finally {
    await run("umount", [dir]);
    await Deno.remove(dir, { recursive: true });
  }
}

// Every name under `dir`, recursively, with each file's text: what a failed command must not change.
async function snapshot(dir: string): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const full = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      found[`${entry.name}/`] = "";
      for (const [name, text] of Object.entries(await snapshot(full))) {
        found[`${entry.name}/${name}`] = text;
      }
    } else {
      found[entry.name] = await Deno.readTextFile(full);
    }
  }
  return found;
}

// Fills the file system holding `dir` until it refuses another byte.
async function fill(dir: string): Promise<void> {
  const file = await Deno.open(`${dir}/filler`, { write: true, create: true });
  const block = new Uint8Array(4096);
  try {
    for (;;) await file.write(block);
  } catch (error) {
    if (!(error instanceof Error) || !/No space left on device/.test(error.message)) throw error;
  } finally {
    file.close();
  }
}

// 50 000 tasks, one per array task, on Slurm's 1001-index arrays: 50 parts of about 3 KB each.
const SPLIT = ["--num-tasks", "50000", "--scheduler", "slurm", "--split"];

Deno.test("a full disk (ENOSPC): one line naming the directory and 'no space left on device', exit 1, nothing left", async () => {
  await withTmpfs("64k", async (disk) => {
    // A new job: the parts fill the disk while being staged; no directory is left.
    const fresh = await cli(["script", ...SPLIT, "--output-dir", `${disk}/out`, "--", "./fit"]);
    assert.equal(fresh.code, 1, fresh.stderr);
    assert.equal(
      fresh.stderr,
      `arrayjob: cannot write the job into ${disk}/out: no space left on device\n`,
    );
    assert.equal(fresh.stdout, "");
    assert.deepEqual(await snapshot(disk), {});

    // The same job re-rendered into 50 parts over its one script: the old job stays whole.
    const first = await cli([
      "script",
      ...SPLIT,
      "--step",
      "1000",
      "--output-dir",
      `${disk}/out`,
      "--",
      "./fit",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const before = await snapshot(disk);
    const again = await cli(["script", ...SPLIT, "--output-dir", `${disk}/out`, "--", "./fit"]);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /cannot write the job into .*\/out: no space left on device\n$/);
    oneLine(again.stderr);
    assert.deepEqual(await snapshot(disk), before);

    // Not a byte left: resubmit (its script and chunk map) and status.
    await fill(disk);
    const full = await snapshot(disk);
    const resubmit = await cli(["resubmit", `${disk}/out`]);
    assert.equal(resubmit.code, 1, resubmit.stderr);
    assert.match(
      resubmit.stderr,
      /^arrayjob: cannot write the job into .*: no space left on device\n$/,
    );
    oneLine(resubmit.stderr);
    assert.deepEqual(await snapshot(disk), full);
    // Status reads (it writes nothing), and exits 1 as for any job not all done.
    const status = await cli(["status", `${disk}/out`]);
    assert.equal(status.code, 1, status.stderr);
    assert.match(status.stdout, /^50000 tasks: 0 done, /);
  });
});

Deno.test("a read-only file system: script, resubmit and a new job are one line each, exit 1; status still reads", async () => {
  await withTmpfs("1m", async (disk) => {
    const first = await cli([
      "script",
      "--num-tasks",
      "4",
      "--output-dir",
      `${disk}/out`,
      "--",
      "./fit",
    ]);
    assert.equal(first.code, 0, first.stderr);
    const before = await snapshot(disk);
    await run("mount", ["-o", "remount,ro", disk]);
    for (
      const args of [
        ["script", "--num-tasks", "4", "--step", "2", "--output-dir", `${disk}/out`, "--", "./fit"],
        ["script", "--num-tasks", "4", "--output-dir", `${disk}/new`, "--", "./fit"],
        ["resubmit", `${disk}/out`],
      ]
    ) {
      const r = await cli(args);
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /^arrayjob: cannot write the job into .*: read-only file system\n$/);
      oneLine(r.stderr);
    }
    assert.deepEqual(await snapshot(disk), before);
    const status = await cli(["status", `${disk}/out`]);
    assert.equal(status.code, 1, status.stderr);
    assert.match(status.stdout, /^4 tasks: 0 done, /);
  });
});

// The job directory after a render ended: the manifest's scripts, exactly, are the run-K.sh there.
async function wholeJob(out: string): Promise<{ scripts: string[]; leftovers: string[] }> {
  const names = [...Deno.readDirSync(out)].map((entry) => entry.name);
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/${MANIFEST}`));
  const parts = names.filter((name) => /^run(-[0-9]+)?\.sh$/.test(name)).sort();
  assert.deepEqual(parts, [...manifest.scripts].sort(), "the manifest's scripts, no more, no less");
  for (const name of manifest.scripts) {
    const text = await Deno.readTextFile(`${out}/${name}`);
    // Each part is the manifest's step: a half set would mix the old job's with the new one's.
    assert.match(text, new RegExp(`^STEP_SIZE=${manifest.options.step ?? 1}$`, "m"), name);
  }
  return {
    scripts: manifest.scripts,
    leftovers: names.filter((name) => /tmp|lock/.test(name)),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Re-renders a 400-part job over its 200-part self and sends `signal` once `sign` (a file in the
// output directory) exists, after `delay` ms; returns the render's exit code. The lock appears when
// the render starts staging, run-201.sh (a part only the new job has) when it renames into place.
async function interruptedRender(dir: string, signal: Deno.Signal, sign: string, delay: number) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, "script", "--num-tasks", "400000", "--scheduler", "slurm", "--split"]
      .concat(["--output-dir", `${dir}/out`, "--", "./fit"]),
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 30_000;
  // A sign "*SUFFIX" is any file whose name ends so (a staging file: staging is quick).
  const seen = async () =>
    sign.startsWith("*")
      ? [...Deno.readDirSync(`${dir}/out`)].some((e) => e.name.endsWith(sign.slice(1)))
      : await Deno.stat(`${dir}/out/${sign}`).then(() => true, () => false);
  while (!await seen()) {
    if (Date.now() > deadline) throw new Error(`the render never wrote ${sign}`);
    await sleep(1);
  }
  if (delay > 0) await sleep(delay);
  try {
    child.kill(signal);
  } catch { /* it had already ended */ }
  return (await child.status).code;
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`a render interrupted by ${signal} at a random point leaves the old job or the new one whole, no staging files`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "arrayjob-fs-" });
    try {
      const step2 = ["--num-tasks", "400000", "--step", "2", "--scheduler", "slurm", "--split"];
      // Parts left after an interruption while staging, and while renaming into place.
      const interrupted: Record<string, number[]> = { staging: [], renaming: [] };
      for (let attempt = 0; attempt < 10; attempt++) {
        const first = await cli(["script", ...step2, "--output-dir", `${dir}/out`, "--", "./fit"]);
        assert.equal(first.code, 0, first.stderr);
        const [phase, sign, delay] = attempt % 2 === 0
          ? ["staging", ".arrayjob.lock", Math.floor(Math.random() * 100)] as const
          : ["renaming", "run-201.sh", 0] as const;
        const exit = await interruptedRender(dir, signal, sign, delay);
        const { scripts, leftovers } = await wholeJob(`${dir}/out`);
        assert.deepEqual(leftovers, [], `${signal} ${delay} ms after ${sign}`);
        assert.ok(exit === 0 || exit === code, `exit ${exit}`);
        if (exit === code) interrupted[phase]!.push(scripts.length);
      }
      // While staging, the old job (200 parts) stays; during the renames, the signal waits for the
      // new one (400 parts) to be whole.
      assert.ok(interrupted.staging!.length > 0, "no render was interrupted while staging");
      assert.ok(interrupted.renaming!.length > 0, "no render was interrupted while renaming");
      for (const parts of interrupted.staging!) assert.ok(parts === 200 || parts === 400);
      for (const parts of interrupted.renaming!) assert.equal(parts, 400);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("after a SIGKILL mid-render, status trusts no half set of parts and the next render cleans up", async () => {
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-fs-" });
  try {
    const step2 = ["--num-tasks", "400000", "--step", "2", "--scheduler", "slurm", "--split"];
    const seen = { staging: 0, renaming: 0 };
    for (let attempt = 0; attempt < 6; attempt++) {
      const first = await cli(["script", ...step2, "--output-dir", `${dir}/out`, "--", "./fit"]);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual((await wholeJob(`${dir}/out`)).leftovers, [], "cleaned up by the render");
      const [sign, delay] = attempt % 2 === 0 ? ["*.arrayjob-tmp", 0] : ["run-201.sh", 0];
      assert.equal(await interruptedRender(dir, "SIGKILL", sign, delay), 137);
      const names = [...Deno.readDirSync(`${dir}/out`)].map((entry) => entry.name);
      const status = await cli(["status", `${dir}/out`]);
      assert.equal(status.code, 1, status.stderr);
      if (names.includes(".arrayjob-placing")) {
        // Killed while renaming: the parts may mix the two renders, so status reads none of it.
        seen.renaming++;
        assert.match(status.stderr, /a render was killed doing so .*: .* render the job again\n$/);
        oneLine(status.stderr);
        assert.equal(status.stdout, "");
      } else {
        // Killed while staging: the old job is whole; the staging files are not its.
        if (names.some((name) => name.endsWith(".arrayjob-tmp"))) seen.staging++;
        assert.match(status.stdout, /^400000 tasks: 0 done, /);
        assert.equal((await wholeJob(`${dir}/out`)).scripts.length, 200);
      }
    }
    assert.ok(seen.staging > 0 && seen.renaming > 0, JSON.stringify(seen));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

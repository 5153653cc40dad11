/**
 * job_dir.ts: a job's directory. Scripts are written whole or not at all, beside the manifest
 * that later commands start from; another job's directory is refused, not mixed.
 */

import assert from "node:assert/strict";
import { clusterScript } from "../script.ts";
import { MANIFEST, readManifest, writeClusterScript } from "../job_dir.ts";
import { jobStatus } from "../status.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const base = { numTasks: 14, command: ["python3", "do_something.py"], workDir: "/work" };

const withDir = (fn: (dir: string) => Promise<void>) => withTempDir("arrayjob-job-dir-", fn);

Deno.test("writeClusterScript writes <outputDir>/run.sh atomically, executable, and creates the directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = await writeClusterScript({ ...base, workDir: dir });
    assert.equal(path, `${dir}/do_something/run.sh`);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o755);
    assert.equal(await Deno.readTextFile(path), await clusterScript({ ...base, workDir: dir }));
    const elsewhere = await writeClusterScript({ ...base, workDir: dir, out: `${dir}/a/b/job.sh` });
    assert.equal(elsewhere, `${dir}/a/b/job.sh`);
    const names = [...Deno.readDirSync(`${dir}/do_something`)].map((e) => e.name).sort();
    assert.deepEqual(
      names,
      ["arrayjob.json", "records", "run.sh"],
      "no temporary file is left behind",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad input writes nothing: no directory, no file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(() => writeClusterScript({ ...base, workDir: dir, time: "soon" }));
    await assert.rejects(() => writeClusterScript({ ...base, workDir: dir, template: "{{x}}" }));
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output directory holding another job's records is refused, not mixed", async () => {
  await withDir(async (dir) => {
    await writeClusterScript({ numTasks: 5, command: ["./a"], outputDir: dir });
    await writeClusterScript({ numTasks: 5, command: ["./a"], outputDir: dir, time: 60 }); // same job
    await assert.rejects(
      () => writeClusterScript({ numTasks: 6, command: ["./a"], outputDir: dir }),
      /holds the records of another job/,
    );
  });
});

Deno.test("the manifest records the job's options with paths made absolute; status reads records", async () => {
  await withDir(async (dir) => {
    await writeClusterScript({ numTasks: 4, command: ["./fit"], outputDir: dir, step: 2 });
    const manifest = await readManifest(dir);
    assert.equal(MANIFEST, "arrayjob.json");
    assert.deepEqual(
      [manifest.version, manifest.numTasks, manifest.options.outputDir, manifest.options.step],
      [1, 4, dir, 2],
    );
    await Deno.writeTextFile(`${dir}/records/5.1`, "start\t0:2\t1\ntask\t0\t0\t3\nend\t1\t2\n");
    const status = await jobStatus(dir);
    assert.deepEqual([[...status.done], [...status.failed], [...status.neverFinished]], [[0], [1], [
      2,
      3,
    ]]);
    await assert.rejects(() => readManifest(`${dir}/records`), /has no arrayjob\.json/);
  });
});

/**
 * The command-line qsub/sbatch queue jobs in the spool (queue.ts, spool.ts): they return at
 * once, jobs of several submissions share the slots, held and later-begun jobs wait, a log
 * directory may appear after submission, a cancel stops each task's whole process group, and
 * the tasks' environment is the one measured on the real schedulers. Only the fake is on PATH.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { run } from "../real/_lib.ts";
import { fakeOnlyEnv } from "../fixtures/fake/no_scheduler.ts";
import { mostAtOnce, tempDir } from "../fixtures/fake/helpers.ts";
import { processesWith } from "../real/_peers.ts";

const options = { sanitizeOps: false, sanitizeResources: false };

async function setUp(files: Record<string, string>) {
  const dir = await tempDir(files);
  const env = await fakeOnlyEnv(dir);
  const sh = (line: string) => run(["sh", "-c", line], { cwd: dir, env, timeoutSeconds: 120 });
  return { dir, env, sh };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  seconds = 30,
): Promise<T> {
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

Deno.test({
  name: "sbatch returns at once; two jobs share the 2 slots; the tasks all run once",
  ...options,
  fn: async () => {
    const script =
      '#!/bin/sh\necho + >> trace\nsleep 1\necho "$SLURM_ARRAY_TASK_ID" >> ran\necho - >> trace\n';
    const { dir, sh } = await setUp({ "t.sh": script });
    const first = await sh("sbatch --parsable --array=0-2 -o /dev/null t.sh");
    const second = await sh("sbatch --parsable --array=3-5 -o /dev/null t.sh");
    assert.equal(first.code, 0, first.stderr);
    assert.ok(first.seconds < 5, `sbatch took ${first.seconds} s`);
    const ids = [first.stdout.trim(), second.stdout.trim()];
    await until("both jobs to end", async () => {
      const out = await sh(`squeue -h -j ${ids.join(",")}`);
      return out.stdout === "" ? true : undefined;
    }, 60);
    const ran = (await Deno.readTextFile(path.join(dir, "ran"))).trim().split("\n").sort();
    assert.deepEqual(ran, ["0", "1", "2", "3", "4", "5"]);
    assert.equal(await mostAtOnce(path.join(dir, "trace")), 2);
  },
});

Deno.test({
  name: "--begin in the future and qsub -a keep a job pending; --test-only and -w v submit nothing",
  ...options,
  fn: async () => {
    const { sh } = await setUp({ "ok.sh": "#!/bin/sh\necho ok\n" });
    const later = await sh("sbatch --parsable --begin=now+1hour -o /dev/null ok.sh");
    const id = later.stdout.trim();
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await sh(`squeue -h -j ${id} -o '%T %r'`)).stdout, "PENDING BeginTime\n");
    const year = new Date().getFullYear() + 1;
    const sge = await sh(`qsub -terse -a ${year}01010000 -cwd -o /dev/null -j y ok.sh`);
    await new Promise((r) => setTimeout(r, 1500));
    const qstat = await sh("qstat");
    assert.match(qstat.stdout, new RegExp(`^ +${sge.stdout.trim()} .* qw `, "m"));
    const test = await sh("sbatch --test-only ok.sh");
    assert.equal(test.code, 0);
    const named = /Job (\d+) to start/.exec(test.stderr)?.[1];
    assert.equal((await sh(`squeue -h -j ${named}`)).code, 1);
    assert.equal(
      (await sh("qsub -w v -cwd ok.sh")).stdout,
      "verification: found suitable queue(s)\n",
    );
    await sh(`scancel ${id}; qdel ${sge.stdout.trim()}`);
  },
});

Deno.test({
  name: "a log directory made after submission but before the task starts is fine",
  ...options,
  fn: async () => {
    const { dir, sh } = await setUp({ "ok.sh": "#!/bin/sh\necho logged\n" });
    const out = await sh("sbatch --parsable --hold -o later/%j.out ok.sh");
    assert.equal(out.code, 0, out.stderr);
    const id = out.stdout.trim();
    await Deno.mkdir(path.join(dir, "later"));
    await sh(`scontrol release ${id}`);
    await until("the job to complete", async () => {
      const s = await sh(`squeue -h -t all -j ${id} -o %T`);
      return s.stdout === "COMPLETED\n" ? true : undefined;
    });
    assert.equal(await Deno.readTextFile(path.join(dir, `later/${id}.out`)), "logged\n");
  },
});

for (
  const [submit, cancel] of [["sbatch --parsable -o /dev/null", "scancel"], [
    "qsub -terse -cwd -o /dev/null -j y",
    "qdel",
  ]]
) {
  Deno.test({
    name: `${cancel} stops a running task's whole process group (its children too)`,
    ...options,
    fn: async () => {
      const marker = `aj-cancel-${crypto.randomUUID()}`;
      const { sh } = await setUp({
        "kids.sh": `#!/bin/sh\nsh -c 'sleep 300; : ${marker}' &\nsleep 300\n`,
      });
      const out = await sh(`${submit} kids.sh`);
      const id = out.stdout.trim();
      await until(
        "the child to run",
        async () => (await processesWith(marker)).length > 0 ? true : undefined,
      );
      const del = await sh(`${cancel} ${id}`);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      await until(
        "every process of the task to end",
        async () => (await processesWith(marker)).length === 0 ? true : undefined,
        10,
      );
    },
  });
}

Deno.test({
  name: "task environments: Slurm's measured variables; Grid Engine's, without ENVIRONMENT",
  ...options,
  fn: async () => {
    const { dir, sh } = await setUp({ "env.sh": "#!/bin/sh\nenv | sort\n" });
    await sh("sbatch --wait -o slurm.env env.sh");
    await sh("qsub -sync y -cwd -o sge.env -j y env.sh");
    const vars = async (file: string) =>
      new Map(
        (await Deno.readTextFile(path.join(dir, file))).trim().split("\n").map((l) => {
          const eq = l.indexOf("=");
          return [l.slice(0, eq), l.slice(eq + 1)] as [string, string];
        }),
      );
    const slurm = await vars("slurm.env");
    for (
      const name of [
        "SLURM_JOB_PARTITION",
        "SLURM_MEM_PER_CPU",
        "SLURM_JOB_UID",
        "SLURM_JOB_GID",
        "SLURM_JOB_USER",
        "SLURM_PROCID",
        "SLURM_LOCALID",
        "SLURM_NODEID",
        "SLURM_TASKS_PER_NODE",
      ]
    ) assert.ok(slurm.has(name), `Slurm task lacks ${name}`);
    assert.equal(slurm.get("SLURM_JOB_PARTITION"), "debug");
    assert.equal(slurm.get("ENVIRONMENT"), "BATCH");
    const sge = await vars("sge.env");
    assert.equal(sge.has("ENVIRONMENT"), false, "real 8.1.9 sets no ENVIRONMENT");
    for (
      const name of [
        "JOB_SCRIPT",
        "REQNAME",
        "SGE_ACCOUNT",
        "SGE_JOB_SPOOL_DIR",
        "SGE_STDIN_PATH",
        "ARC",
      ]
    ) {
      assert.ok(sge.has(name), `Grid Engine task lacks ${name}`);
    }
    assert.equal(sge.get("SGE_STDIN_PATH"), "/dev/null");
  },
});

Deno.test({
  name:
    "options real sbatch/qsub accept are accepted: --wckey --hint ... --wrap; qsub -@ FILE, -pty",
  ...options,
  fn: async () => {
    const { dir, sh } = await setUp({
      "ok.sh": "#!/bin/sh\necho ran\n",
      "opts": "-N fromfile\n# a comment\n-cwd -j y\n",
    });
    const extra = "--wckey=x --hint=nomultithread --ntasks-per-core=1 --threads-per-core=1 " +
      "--get-user-env --kill-on-invalid-dep=yes --propagate=ALL --mincpus=1 --distribution=block " +
      "--no-kill --sockets-per-node=1 --priority=1 --deadline=2099-01-01 --time-min=1 " +
      "--oversubscribe";
    const out = await sh(`sbatch --wait -o %x.out ${extra} ok.sh`);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(await Deno.readTextFile(path.join(dir, "ok.sh.out")), "ran\n");
    const wrap = await sh("sbatch --wait --wrap 'echo wrapped' -o %x.out");
    assert.equal(wrap.code, 0, wrap.stderr);
    assert.equal(await Deno.readTextFile(path.join(dir, "wrap.out")), "wrapped\n");
    const q = await sh("qsub -sync y -@ opts -pty n -o sge.out ok.sh");
    assert.match(q.stdout, /^Your job \d+ \("fromfile"\) has been submitted\n/);
    assert.equal(await Deno.readTextFile(path.join(dir, "sge.out")), "ran\n");
  },
});

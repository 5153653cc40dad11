/**
 * Values are data, never shell code: hostile arguments and directories reach the program
 * literally when the rendered script runs, and values that cannot be expressed safely in a
 * directive line are refused.
 */

import assert from "node:assert/strict";
import { ArrayJobError, type Scheduler } from "../mod.ts";
import { clusterScript } from "../script.ts";
import { writeClusterScript } from "../job_dir.ts";
import { jobStatus } from "../status.ts";

const HOSTILE = [
  "$(touch CANARY)",
  "`touch CANARY`",
  "; touch CANARY",
  "&& touch CANARY",
  "| touch CANARY",
  "> CANARY",
  "'",
  '"',
  "it's",
  '"$HOME"',
  "${HOME}",
  "$((1+1))",
  "a b  c",
  " leading and trailing ",
  "tab\there",
  "new\nline",
  "\\",
  "*",
  "~",
  "!",
  "#not a comment",
  "-n",
  "--tasks=999",
  "",
  "ünïcødé ✓",
  "'$(touch CANARY)'",
];

async function runRendered(scheduler: Scheduler, workDir: string): Promise<string[]> {
  const outFile = `${workDir}/argv`;
  const text = await clusterScript({
    scheduler,
    numTasks: 4,
    step: 2,
    // The recorder writes each argument it received, NUL-terminated.
    command: [
      "/bin/sh",
      "-c",
      'for a; do printf "%s\\0" "$a"; done > "$ARGV_FILE"',
      "rec",
      ...HOSTILE,
    ],
    workDir,
    outputDir: "/tmp",
  });
  const script = `${workDir}/run.sh`;
  await Deno.writeTextFile(script, text);
  const status = await new Deno.Command("/bin/sh", {
    args: [script],
    cwd: "/",
    env: { ARGV_FILE: outFile, SGE_TASK_ID: "2", SLURM_ARRAY_TASK_ID: "1" },
  }).output();
  assert.equal(status.code, 0, new TextDecoder().decode(status.stderr));
  const argv = (await Deno.readTextFile(outFile)).split("\0");
  argv.pop();
  return argv;
}

for (const scheduler of ["sge", "slurm"] as const) {
  Deno.test(`${scheduler}: hostile arguments reach the program literally and run no code`, async () => {
    // A working directory with spaces and quotes, which the script must cd into safely.
    const root = await Deno.makeTempDir();
    const workDir = `${root}/dir with 'quotes' and $(touch CANARY) spaces`;
    await Deno.mkdir(workDir);
    try {
      const argv = await runRendered(scheduler, workDir);
      assert.deepEqual(argv, [...HOSTILE, "--tasks=2:4"]);
      for (const dir of [root, workDir, "/"]) {
        assert.ok(!(await exists(`${dir}/CANARY`)), `no CANARY in ${dir}`);
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

Deno.test("values that would break out of a directive line are refused, never rendered", async () => {
  const base = { numTasks: 2, command: ["x"], workDir: "/tmp" };
  const refused: Record<string, unknown>[] = [
    { jobName: "x\n#$ -l evil=1" },
    { jobName: "x\r-l" },
    { jobName: "x y" },
    { jobName: "$(touch CANARY)" },
    { queue: "q\n#$ -S /bin/evil" },
    { queue: "q q" },
    { pe: "smp\n" },
    { outputDir: "logs\n#$ -o /etc" },
    { outputDir: 'a"b' },
    { outputDir: "a$(touch CANARY)" },
    { outputDir: "a`touch CANARY`" },
    { memory: "1G\n#$ -l h_vmem=1T" },
    { memoryResource: "mem_free=1G -l x" },
    { time: "1:00:00\n#$ -l h_rt=9999:00:00" },
    { extraDirectives: ["-l x=1\n#$ -S /bin/evil"] },
    { extraDirectives: ["ok", "\u0000"] },
  ];
  for (const scheduler of ["sge", "slurm"] as const) {
    for (const override of refused) {
      await assert.rejects(
        () => clusterScript({ ...base, scheduler, ...override }),
        ArrayJobError,
        `${scheduler} ${JSON.stringify(override)}`,
      );
    }
  }
  await assert.rejects(
    () => clusterScript({ ...base, command: ["a\0b"] }),
    /NUL character/,
  );
});

for (const scheduler of ["sge", "slurm"] as const) {
  Deno.test(`${scheduler}: an output directory with spaces holds the logs and records on the fake`, async () => {
    const root = await Deno.makeTempDir();
    try {
      const path = await writeClusterScript({
        scheduler,
        numTasks: 3,
        command: ["/bin/sh", "-c", "echo ran $1"],
        workDir: root,
        outputDir: "my logs/run one",
      });
      assert.match(
        await Deno.readTextFile(path),
        /(-o |--output=)"[^"]*\/my logs\/run one\/[^"]*"$/m,
      );
      const { simulateMain } = await import("../fake_scheduler/mod.ts");
      const { captureIO } = await import("../fake_scheduler/mod.ts");
      assert.equal(await simulateMain([path], { cwd: root, io: captureIO() }), 0);
      const logs = [...Deno.readDirSync(`${root}/my logs/run one`)].filter((e) =>
        /\.o[0-9]+\.[0-9]+$/.test(e.name)
      );
      assert.equal(logs.length, 3);
      assert.equal((await jobStatus(`${root}/my logs/run one`)).done.length, 3);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

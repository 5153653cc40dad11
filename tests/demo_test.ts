/** The README's first command: the demo renders the sweep and runs it on the fake scheduler. */

import assert from "node:assert/strict";

const DENO_JSON = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));

for (const scheduler of ["sge", "slurm"]) {
  Deno.test(`deno task demo (${scheduler}): every task of the sweep runs exactly once on the fake`, async () => {
    // The task's own command line, so the test also proves its permissions are enough.
    const [, , ...flags] = (DENO_JSON.tasks.demo as string).split(" ");
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...flags.slice(0, -2),
        new URL("../cli.ts", import.meta.url).pathname,
        "demo",
        "--scheduler",
        scheduler,
      ],
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, scheduler === "sge" ? /^#\$ -t 1-4$/m : /^#SBATCH --array=0-3$/m);
    assert.equal(
      stdout.match(/^ {2}task +[0-9]+: +[0-9]+ samples, seed [1-4]: π ≈ 3\.1[0-9]*$/gm)?.length,
      12,
    );
    assert.match(stdout, /all 12 tasks ran exactly once and succeeded \(exit code 0\)/);
  });
}

Deno.test("demo runs by file URL from another directory, and prints no escape codes into a pipe", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    const env = { ...Deno.env.toObject() };
    delete env.NO_COLOR; // off a terminal, no colour even when NO_COLOR is not set
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../cli.ts", import.meta.url).href, "demo", "--step", "6"],
      cwd,
      env,
      clearEnv: true,
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /all 12 tasks ran exactly once and succeeded/);
    assert.ok(!stdout.includes("\u001b"), "an escape code in a pipe");
    assert.match(stdout, /^1\. Render the cluster script/m);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("demo --help prints its help and runs nothing", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../cli.ts", import.meta.url).pathname, "demo", "--help"],
  }).output();
  const stdout = new TextDecoder().decode(output.stdout);
  assert.equal(output.code, 0);
  assert.match(
    stdout,
    /^Usage: arrayjob demo \[--scheduler sge\|slurm\] \[--step N\] \[--keep\]$/m,
  );
  assert.doesNotMatch(stdout, /Render the cluster script/);
});

Deno.test("demo on a terminal: bold headings, and none with NO_COLOR", async () => {
  // script(1) gives the demo a pseudo-terminal; its output is what the terminal received.
  const onTerminal = async (noColor: boolean) => {
    const env: Record<string, string> = { ...Deno.env.toObject() };
    delete env.NO_COLOR;
    if (noColor) env.NO_COLOR = "1";
    const cli = new URL("../cli.ts", import.meta.url).pathname;
    const output = await new Deno.Command("script", {
      args: ["-qefc", `${Deno.execPath()} run -A ${cli} demo --step 6`, "/dev/null"],
      env,
      clearEnv: true,
      stdin: "null",
    }).output();
    const screen = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, screen);
    assert.match(screen, /all 12 tasks ran exactly once and succeeded/);
    return screen;
  };
  assert.ok((await onTerminal(false)).includes("\u001b[1m1. Render the cluster script"));
  assert.ok(!(await onTerminal(true)).includes("\u001b"), "an escape code with NO_COLOR set");
});

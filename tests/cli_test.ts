/** cli.ts end to end, as a user types it: output, errors and exit codes. */

import assert from "node:assert/strict";

const CLI = new URL("../cli.ts", import.meta.url).pathname;

export async function cli(args: string[], cwd?: string) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", CLI, ...args],
    cwd,
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("slice prints the selected indices one per line", async () => {
  assert.deepEqual(await cli(["slice", "--count", "10", "0:10:3"]), {
    code: 0,
    stdout: "0\n3\n6\n9\n",
    stderr: "",
  });
  assert.equal((await cli(["slice", "--count", "10", "--", "-3:"])).stdout, "7\n8\n9\n");
  assert.equal((await cli(["slice", "--count=4"])).stdout, "0\n1\n2\n3\n");
  assert.equal((await cli(["slice", "--count", "4", "3:1"])).stdout, "");
});

Deno.test("slice: a bad spec, an index out of range, or a missing count is a one-line error, exit 2", async () => {
  for (
    const [args, message] of [
      [["slice", "--count", "10", "a"], /^arrayjob: invalid task spec "a"/],
      [["slice", "--count", "10", "10"], /index 10 is out of range for 10 tasks/],
      [["slice", "--count", "10", "-3:"], /a spec starting with "-" goes after "--"/],
      [["slice", "3"], /slice needs --count N/],
      [["slice", "--count", "x", "3"], /slice needs --count N.*"x"/],
      [["slice", "--count", "9", "1", "2"], /slice takes one SPEC, got 2/],
    ] as const
  ) {
    const { code, stdout, stderr } = await cli([...args]);
    assert.equal(code, 2, args.join(" "));
    assert.equal(stdout, "");
    assert.match(stderr, message);
    assert.equal(stderr.trim().split("\n").length, 1);
  }
});

Deno.test("script writes run.sh for any program, prints its path and the submit command", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout, stderr } = await cli(
      [
        "script",
        "--num-tasks",
        "25",
        "--step",
        "10",
        "--wait",
        "--",
        "python3",
        "fit.py",
        "--lr",
        "0.1",
      ],
      dir,
    );
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `${dir}/fit/run.sh\n`);
    assert.match(stderr, /wrote .*run\.sh for 25 tasks/);
    assert.match(stderr, new RegExp(`submit with:  qsub -sync y ${dir}/fit/run.sh`));
    const text = await Deno.readTextFile(`${dir}/fit/run.sh`);
    assert.match(text, /^ARRAYJOB_RECORD=\$RECORD python3 fit.py --lr 0.1 --tasks="\$TASKS"$/m);
    assert.match(text, /^#\$ -t 1-3$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("script --out - prints the exact script and writes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { code, stdout } = await cli(
      ["script", "--scheduler", "slurm", "--num-tasks", "3", "--out", "-", "--", "Rscript", "a.R"],
      dir,
    );
    assert.equal(code, 0);
    assert.match(stdout, /^#!\/bin\/sh\n/);
    assert.match(stdout, /^#SBATCH --array=0-2$/m);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("script: unknown options and bad values are errors, and nothing is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [args, message] of [
        [
          ["script", "--num-tasks", "3", "--colour", "red", "--", "x"],
          /: unknown option "--colour" \(see --help\)$/m,
        ],
        [
          ["script", "--num-tasks", "3", "--stepp", "2", "--", "x"],
          /: unknown option "--stepp": did you mean --step\? \(see --help\)$/m,
        ],
        [
          ["script", "--num-tasks", "3", "--deno", "/x", "--", "x"],
          /: --deno does not apply to arrayjob script: the command after -- is run as written/,
        ],
        [["script", "--num-tasks", "3", "--", ""], /command is \[""\]/],
        [["script", "--num-tasks", "3", "x"], /needs the command after --/],
        [["script", "--", "x"], /needs --num-tasks N/],
        [
          ["script", "--num-tasks", "three", "--", "x"],
          /--num-tasks "three": expected a whole number/,
        ],
        [
          ["script", "--num-tasks", "3", "--scheduler", "pbs", "--", "x"],
          /unknown scheduler "pbs"/,
        ],
        [
          ["script", "--num-tasks", "3", "--template", "/nonexistent", "--", "x"],
          /--template "\/nonexistent" cannot be read/,
        ],
        [
          ["script", "--num-tasks", "3", "--memory", "lots", "--", "x"],
          /: --memory "lots" is not a memory size/,
        ],
        [
          ["script", "--num-tasks", "3", "--job-name", "a b", "--", "x"],
          /: --job-name "a b" cannot go into/,
        ],
        [["script", "--num-tasks", "0", "--", "x"], /: --num-tasks is 0: expected a whole number/],
      ] as const
    ) {
      const { code, stderr } = await cli([...args], dir);
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr, message);
      assert.equal(stderr.trim().split("\n").length, 1, stderr);
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("templates lists and prints the built-in templates; --template uses an edited copy", async () => {
  assert.equal((await cli(["templates"])).stdout, "sge\nslurm\n");
  const sge = await cli(["templates", "sge"]);
  assert.equal(
    sge.stdout,
    await Deno.readTextFile(new URL("../templates/sge.mustache", import.meta.url)),
  );
  assert.match((await cli(["templates", "pbs"])).stderr, /unknown scheduler "pbs"/);
  assert.equal(
    (await cli(["templates", "body"])).stdout,
    await Deno.readTextFile(new URL("../templates/body.mustache", import.meta.url)),
  );

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/mine.mustache`,
      sge.stdout.replace("#$ -V\n", "#$ -V\n#$ -P myproject\n"),
    );
    const { stdout } = await cli(
      ["script", "--num-tasks", "2", "--template", `${dir}/mine.mustache`, "--out", "-", "--", "x"],
    );
    assert.match(stdout, /^#\$ -P myproject$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--help, --version, help for each command, and unknown commands", async () => {
  const help = await cli(["--help"]);
  assert.equal(help.code, 0);
  for (const command of ["script", "slice", "templates", "simulate", "check", "demo"]) {
    assert.match(help.stdout, new RegExp(`^  ${command}`, "m"));
  }
  const version =
    JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).version;
  assert.equal((await cli(["--version"])).stdout, `arrayjob ${version}\n`);
  assert.match((await cli(["script", "--help"])).stdout, /--throttle N/);
  assert.match((await cli(["slice", "--help"])).stdout, /--count N/);
  // Each command's --help lists exactly the options its table parses.
  const resubmitHelp = (await cli(["resubmit", "--help"])).stdout;
  assert.match(resubmitHelp, /^ {2}--failed /m);
  assert.match(resubmitHelp, /^ {2}--time T /m);
  assert.doesNotMatch(resubmitHelp, /^ {2}--(num-tasks|template|split|out)\b/m);
  assert.match((await cli(["status", "--help"])).stdout, /^ {2}--json /m);
  const unknown = await cli(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  assert.equal((await cli([])).code, 2);
});

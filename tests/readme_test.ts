/**
 * The README quotes only what the tool prints: every block marked
 * `<!-- output checked by tests/readme_test.ts -->` is a session of `$ command` lines, each
 * followed by its output, and this test runs each block's commands in order in one shell
 * (`arrayjob` being cli.ts, the fake `qsub`/`sbatch` first on PATH) in a fresh directory shown as
 * /home/me/proj, and compares what each command prints (stdout and stderr) with the README.
 *
 * The directory holds what the README's sessions use: the seed's script as seed_run.sh, the
 * seed's program as do_something.py (with `python` on PATH), examples/shell/simulate.sh and
 * flaky.sh; the fake's spool is the directory's own.
 * A line `…` in the README stands for any number of lines (the fake's per-array-task lines), a `…`
 * within a line for any text; job ids, durations and which killed array task was slowest differ
 * from run to run (so does a job id alone on a line) and are compared as placeholders.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const README = await Deno.readTextFile(`${ROOT}README.md`);
const MARK = "<!-- output checked by tests/readme_test.ts -->";
const SHOWN_DIR = "/home/me/proj";
const STEP = "@@arrayjob-readme-step@@";

interface Step {
  command: string;
  output: string;
}

/** The marked blocks: each a list of commands with the output the README shows for them. */
function sessions(text: string): Step[][] {
  const blocks = text.split(MARK).slice(1).map((rest) => {
    const block = /^\s*```\n([\s\S]*?)\n```/.exec(rest);
    assert.ok(block, `a marked block is a fenced block right after the mark: ${rest.slice(0, 80)}`);
    return block[1]!;
  });
  return blocks.map((block) => {
    const steps: Step[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("$ ")) steps.push({ command: line.slice(2), output: "" });
      else {
        assert.ok(steps.length > 0, `a block starts with a $ command: ${block}`);
        steps.at(-1)!.output += `${line}\n`;
      }
    }
    return steps;
  });
}

/** What varies from run to run, replaced in both the README and the output. */
function normalise(text: string): string {
  return text
    .replace(/\r\n/g, "\n") // script(1)'s terminal
    .replace(/\b(job-array|job|Job) [0-9]+/g, "$1 ID")
    .replace(/^[0-9]+$/gm, "ID") // a job id alone on a line (submit's stdout)
    .replace(/\.o[0-9]+\./g, ".oID.")
    .replace(/\b[0-9]+\.[0-9]+ s\b/g, "T s")
    .replace(/slowest task: [0-9]+/g, "slowest task: N");
}

/** The README's output as a pattern: a line `…` is any lines, a `…` in a line any text. */
function shown(output: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const lines = normalise(output).split("\n").slice(0, -1).map((line) =>
    line === "…" ? "(?:[^\\n]*\\n)*?" : `${line.split("…").map(escape).join("[^\\n]*")}\\n`
  );
  return new RegExp(`^${lines.join("")}$`);
}

Deno.test("README: the marked blocks are found, and each starts with a command", () => {
  const found = sessions(README);
  assert.ok(found.length >= 6, `${found.length} marked blocks`);
  assert.ok(found.every((steps) => steps.length > 0));
});

Deno.test("README: the output pattern takes … as any lines or any text, and nothing else", () => {
  const pattern = shown("a\n…\nfake qsub: job 7 in 1.20 s: 1,…,9\n");
  assert.match(normalise("a\nb\nc\nfake qsub: job 81 in 3.01 s: 1,2,3,9\n"), pattern);
  assert.match(normalise("a\nfake qsub: job 81 in 3.01 s: 1,5,9\n"), pattern);
  assert.doesNotMatch(normalise("a\nfake qsub: job 81 in 3.01 s: 1,2,3,8\n"), pattern);
  assert.doesNotMatch(normalise("b\nfake qsub: job 81 in 3.01 s: 1,9\n"), pattern);
});

async function python3(): Promise<string> {
  const found = await new Deno.Command("python3", {
    args: ["-c", "import sys; print(sys.executable)"],
  }).output().catch(() => undefined);
  const path = found ? new TextDecoder().decode(found.stdout).trim() : "";
  assert.ok(path, "python3 is needed: the README's seed sessions run the seed's Python program");
  return path;
}

for (const [n, steps] of sessions(README).entries()) {
  Deno.test(`README: block ${n + 1} (${steps[0]!.command}) shows what the commands print`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "arrayjob-readme-" });
    try {
      await Deno.mkdir(`${dir}/bin`);
      await Deno.writeTextFile(
        `${dir}/bin/arrayjob`,
        `#!/bin/sh\nexec ${Deno.execPath()} run -A --quiet ${ROOT}cli.ts "$@"\n`,
        { mode: 0o755 },
      );
      await Deno.symlink(await python3(), `${dir}/bin/python`);
      await Deno.copyFile(`${ROOT}tests/fixtures/fake/seed_run.sh`, `${dir}/seed_run.sh`);
      await Deno.copyFile(`${ROOT}tests/fixtures/seed/seed.mustache`, `${dir}/seed.mustache`);
      // A link, so that the program finds examples/python/arrayjob_record.py beside its real path.
      await Deno.symlink(`${ROOT}tests/fixtures/seed/do_something.py`, `${dir}/do_something.py`);
      for (const program of ["simulate.sh", "flaky.sh"]) {
        await Deno.copyFile(`${ROOT}examples/shell/${program}`, `${dir}/${program}`);
      }
      // One shell runs the block, so `export` and `cd` carry over as in a terminal.
      const script = steps.map(({ command }) => `printf '${STEP}'\n${command}\n`).join("");
      const env = { ...Deno.env.toObject() };
      for (const name of Object.keys(env)) if (name.startsWith("ARRAYJOB_")) delete env[name];
      const result = await new Deno.Command("bash", {
        args: ["-c", `exec 2>&1\n${script}`],
        cwd: dir,
        env: {
          ...env,
          PATH: `${dir}/bin:${ROOT}fake_scheduler/bin:${Deno.env.get("PATH")}`,
          NO_COLOR: "1",
          ARRAYJOB_FAKE_SPOOL: `${dir}/.spool`,
        },
        clearEnv: true,
        stdin: "null",
      }).output();
      const printed = new TextDecoder().decode(result.stdout).replaceAll(dir, SHOWN_DIR)
        .split(STEP).slice(1);
      assert.equal(printed.length, steps.length, printed.join(STEP));
      for (const [i, { command, output }] of steps.entries()) {
        assert.match(normalise(printed[i]!), shown(output), `$ ${command}\n${printed[i]}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

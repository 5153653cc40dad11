/**
 * The README quotes only what the tool prints: every block marked
 * `<!-- output checked by tests/readme_test.ts -->` is a session of `$ command` lines, each
 * followed by its output, and this test runs each command (`arrayjob` being cli.ts) in a fresh
 * directory shown as /home/me/proj, with the seed's script there as seed_run.sh, and compares.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const README = await Deno.readTextFile(`${ROOT}README.md`);
const MARK = "<!-- output checked by tests/readme_test.ts -->";
const SHOWN_DIR = "/home/me/proj";

/** The marked blocks: each a list of commands with the output the README shows for them. */
function sessions(text: string): { command: string; output: string }[][] {
  const blocks = text.split(MARK).slice(1).map((rest) => {
    const block = /^\s*```\n([\s\S]*?)\n```/.exec(rest);
    assert.ok(block, `a marked block is a fenced block right after the mark: ${rest.slice(0, 80)}`);
    return block[1]!;
  });
  return blocks.map((block) => {
    const steps: { command: string; output: string }[] = [];
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

Deno.test("README: the marked blocks are found, and each starts with a command", () => {
  const found = sessions(README);
  assert.ok(found.length >= 3, `${found.length} marked blocks`);
  assert.ok(found.every((steps) => steps.length > 0));
});

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
      await Deno.copyFile(`${ROOT}tests/fixtures/fake/seed_run.sh`, `${dir}/seed_run.sh`);
      for (const { command, output } of steps) {
        const result = await new Deno.Command("sh", {
          args: ["-c", `${command} 2>&1`],
          cwd: dir,
          env: { PATH: `${dir}/bin:${Deno.env.get("PATH")}`, NO_COLOR: "1" },
        }).output();
        const printed = new TextDecoder().decode(result.stdout).replaceAll(dir, SHOWN_DIR);
        assert.equal(printed, output, `$ ${command}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

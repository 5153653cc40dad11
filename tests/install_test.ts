/**
 * The README's Install command in a clean HOME whose PATH has no deno: `npx -y deno@2 task
 * install` runs a Deno that lives in npx's cache, so the test runs a copy of this Deno placed
 * where npx puts it. Afterwards `arrayjob` and `deno` are on PATH; without that deno the
 * installed command and the fake shims fall back to `npx -y deno@2` (here a recording npx that
 * runs this Deno); and a script rendered by the npx Deno runs `deno` from PATH, with a notice.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const FIXTURE = `${ROOT}tests/fixtures/sweep_fixture.ts`;
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

// The cache this Deno already filled, so that the clean HOME downloads nothing.
const DENO_DIR = JSON.parse(
  decode(
    (await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output()).stdout,
  ),
).denoDir as string;

Deno.test("install: one command gives arrayjob and deno on PATH, from a Deno in npx's cache", async () => {
  const home = await Deno.makeTempDir({ prefix: "arrayjob-home-" });
  try {
    // A PATH with a shell, what the fake's shims use, and a recording npx; no deno.
    const tools = `${home}/tools`;
    await Deno.mkdir(tools);
    for (const tool of ["sh", "readlink", "dirname"]) {
      await Deno.symlink(`/bin/${tool}`, `${tools}/${tool}`);
    }
    await Deno.writeTextFile(
      `${tools}/npx`,
      `#!/bin/sh\necho "$*" >> ${home}/npx.log\n` +
        `[ "$1 $2" = "-y deno@2" ] || exit 99\nshift 2\nexec ${Deno.execPath()} "$@"\n`,
      { mode: 0o755 },
    );
    const npxDeno = `${home}/.npm/_npx/8e7c3a/node_modules/deno/deno`;
    await Deno.mkdir(npxDeno.slice(0, npxDeno.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(Deno.execPath(), npxDeno);
    await Deno.chmod(npxDeno, 0o755);
    const bin = `${home}/.local/bin`;
    const run = async (program: string, args: string[], path: string, cwd = home) => {
      const output = await new Deno.Command(program, {
        args,
        cwd,
        env: { HOME: home, PATH: path, DENO_DIR, NO_COLOR: "1" },
        clearEnv: true,
        stdin: "null",
      }).output();
      return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
    };

    // The README's command, as npx runs it: the npx Deno runs the task.
    const installed = await run(npxDeno, ["task", "--cwd", ROOT, "install"], tools);
    assert.equal(installed.code, 0, installed.stderr);
    assert.match(installed.stdout, new RegExp(`^installed ${bin}/arrayjob `, "m"));
    assert.match(
      installed.stdout,
      new RegExp(`^installed ${bin}/deno \\(a copy of ${npxDeno}`, "m"),
    );

    const path = `${bin}:${tools}`;
    const version = await run(`${bin}/arrayjob`, ["--version"], path);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^arrayjob [0-9]+\.[0-9]+\.[0-9]+\n$/);
    const deno = await run("sh", ["-c", "command -v deno && deno --version"], path);
    assert.match(deno.stdout, new RegExp(`^${bin}/deno\ndeno 2\\.`));
    await assert.rejects(() => Deno.stat(`${home}/npx.log`), Deno.errors.NotFound);

    // A script rendered by the npx Deno runs deno from PATH, and the render says so.
    const rendered = await run(
      npxDeno,
      ["run", "-A", FIXTURE, "--cluster-script", "--out", "-"],
      tools,
    );
    assert.equal(rendered.code, 0, rendered.stderr);
    assert.equal(
      rendered.stderr,
      `arrayjob: this Deno is in npx's cache, which compute nodes are unlikely to share: the ` +
        `script runs deno from their PATH (--deno PATH names another)\n`,
    );
    assert.match(
      rendered.stdout,
      /^\s*ARRAYJOB_RECORD=\$RECORD deno run --cached-only --allow-all /m,
    );
    const chosen = await run(
      npxDeno,
      ["run", "-A", FIXTURE, "--cluster-script", "--out", "-", "--deno", "/opt/deno/bin/deno"],
      tools,
    );
    assert.equal(chosen.stderr, "");
    assert.match(chosen.stdout, /^\s*ARRAYJOB_RECORD=\$RECORD \/opt\/deno\/bin\/deno run /m);

    // Without a deno on PATH: the installed command and the fake shims go through npx.
    await Deno.remove(`${bin}/deno`);
    const fallback = await run(`${bin}/arrayjob`, ["--version"], path);
    assert.equal(fallback.code, 0, fallback.stderr);
    assert.match(fallback.stdout, /^arrayjob /);
    const job = `${home}/job.sh`;
    await Deno.writeTextFile(job, "#!/bin/sh\n#$ -t 1-2\n#$ -o /dev/null\necho hi\n");
    for (const shim of ["qsub", "sbatch"]) {
      const args = shim === "qsub" ? ["-sync", "y", job] : ["--wait", "--array=0-1", job];
      const submitted = await run(`${ROOT}fake_scheduler/bin/${shim}`, args, tools);
      assert.equal(submitted.code, 0, `${shim}: ${submitted.stderr}`);
    }
    const calls = (await Deno.readTextFile(`${home}/npx.log`)).trim().split("\n");
    assert.equal(calls.length, 3);
    for (const call of calls) assert.match(call, /^-y deno@2 run --allow-all --quiet --no-config /);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

/**
 * What a user at a terminal sees from `arrayjob simulate` (issue 15): one progress line redrawn in
 * place, and a typed Ctrl-C — SIGINT to the whole foreground process group, the fake and its tasks
 * alike, through a real pseudo-terminal from script(1) — ends with the summary of what finished
 * and what never did, exit 130, and no progress drawn after it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { writeClusterScript } from "../../job_dir.ts";
import { tempDir } from "../fixtures/fake/helpers.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a Ctrl-C typed on the terminal: the summary of what finished and never did, exit 130, no progress after it", async () => {
  const dir = await tempDir();
  const script = await writeClusterScript({
    numTasks: 40,
    command: ["sh", "-c", `echo started >> ${dir}/started; sleep 0.5`],
    outputDir: join(dir, "job"),
  });
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    ARRAYJOB_FAKE_SPOOL: join(dir, "spool"),
  };
  delete env.NO_COLOR;
  const session = new Deno.Command("script", {
    args: [
      "-qefc",
      `${Deno.execPath()} run -A --quiet ${CLI} simulate --slots 2 ${script}`,
      "/dev/null",
    ],
    cwd: dir,
    env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const started = () =>
    Deno.readTextFile(join(dir, "started")).then((t) => t.split("\n").length - 1, () => 0);
  for (let waited = 0; (await started()) < 4; waited += 50) {
    assert.ok(waited < 60_000, "the tasks did not start");
    await sleep(50);
  }
  const keys = session.stdin.getWriter();
  await keys.write(new Uint8Array([3])); // ^C: the terminal sends SIGINT to the foreground group
  await keys.close();
  const { code, stdout } = await session.output();
  const screen = new TextDecoder().decode(stdout);
  assert.equal(code, 130, screen);
  assert.ok(!screen.includes("\x1b"), "an escape code");
  // Before the ^C: the progress line, redrawn in place.
  assert.match(screen, /\rfake qsub: \d+\/40 done, 0 failed, \d+:\d\d elapsed/);
  const after = screen.slice(screen.indexOf("interrupted: "));
  assert.match(
    after,
    /^interrupted: job \d+ \("[^"]+"\): \d+ array task\(s\) finished, \d+ ok, 0 failed; \d+ never finished: \d+-40 \(killed: [0-9,-]+\)\r?\n/,
  );
  assert.match(
    after,
    /^fake qsub: arrayjob tasks: \d+ done, 0 failed, \d+ never finished: \d+:40 /m,
  );
  assert.doesNotMatch(after, /\/40 done/, "progress drawn after the interrupt's summary");
});

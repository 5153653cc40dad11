/**
 * A compute node often has no network. A script that imports arrayjob by URL renders its cluster
 * script with `--cluster-script`, which fills Deno's cache; the rendered command runs with
 * `--cached-only`, so its array tasks run with the server gone.
 */

import assert from "node:assert/strict";
import { captureIO } from "../fake_scheduler/mod.ts";
import { simulateMain } from "../fake_scheduler/mod.ts";
import { jobStatus } from "../status.ts";

const ROOT = new URL("../", import.meta.url);

Deno.test("array tasks of a script importing arrayjob by URL run from the cache, with the server gone", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      const type = path.endsWith(".ts") ? "application/typescript" : "text/plain";
      return new Response(body, { headers: { "content-type": type } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-offline-" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/mod.ts`;
    await Deno.writeTextFile(
      `${dir}/sweep.ts`,
      `import { runTasks } from "${url}";\n` +
        `await runTasks(["a", "b", "c", "d", "e"], async (task, index) => {\n` +
        `  await Deno.writeTextFile("done.txt", index + task + "\\n", { append: true });\n` +
        `});\n`,
    );
    const env = { DENO_DIR: `${dir}/deno-cache`, NO_COLOR: "1" };
    const render = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        `--allow-import=127.0.0.1:${server.addr.port}`,
        "sweep.ts",
        "--cluster-script",
        "--step",
        "2",
      ],
      cwd: dir,
      env,
    }).output();
    assert.equal(render.code, 0, new TextDecoder().decode(render.stderr));
    await server.shutdown();

    const script = `${dir}/sweep/run.sh`;
    const text = await Deno.readTextFile(script);
    assert.match(text, / run --cached-only /);
    // The array tasks see the same DENO_DIR, as on a cluster with a shared home directory.
    Deno.env.set("DENO_DIR", env.DENO_DIR);
    try {
      assert.equal(await simulateMain([script, "-sync", "y"], { cwd: dir, io: captureIO() }), 0);
    } finally {
      Deno.env.delete("DENO_DIR");
    }
    const done = (await Deno.readTextFile(`${dir}/done.txt`)).split("\n").filter(Boolean).sort();
    assert.deepEqual(done, ["0a", "1b", "2c", "3d", "4e"]);
    assert.equal((await jobStatus(`${dir}/sweep`)).done.length, 5);
  } finally {
    await server.shutdown().catch(() => {});
    await removeScratch(dir);
  }
});

// Under load a task's Deno can still be writing its cache (DENO_DIR is inside dir) for a moment
// after the run returned: removing the scratch directory is retried, not asserted.
async function removeScratch(dir: string): Promise<void> {
  for (let attempt = 0;; attempt++) {
    try {
      return await Deno.remove(dir, { recursive: true });
    } catch (error) {
      if (attempt === 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

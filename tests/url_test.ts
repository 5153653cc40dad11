/**
 * mod.ts and cli.ts run by URL: every specifier they use (relative, npm:, node:, text and JSON
 * imports) resolves when the files are served over http, as `deno run https://…/cli.ts` does.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  json: "application/json",
  mustache: "text/plain; charset=utf-8",
};

// Serves the repository on 127.0.0.1 while `test` runs, recording the paths asked for.
async function withServer(test: (root: string, requested: string[]) => Promise<void>) {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    requested.push(path);
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      return new Response(body, {
        headers: { "content-type": TYPES[path.split(".").pop()!] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    await test(`http://127.0.0.1:${server.addr.port}/`, requested);
  } finally {
    await server.shutdown();
  }
}

Deno.test("cli.ts demo runs by URL from a local http server", () =>
  withServer(async (root) => {
    const dir = await Deno.makeTempDir();
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", `--reload=${root}`, `${root}cli.ts`, "demo", "--step", "6"],
        cwd: dir,
        env: { NO_COLOR: "1" },
      }).output();
      const stdout = new TextDecoder().decode(output.stdout);
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      assert.match(
        stdout,
        new RegExp(`--allow-import ${root}examples/sweep\\.ts --cluster-script`),
      );
      assert.match(stdout, /all 12 tasks ran exactly once and succeeded/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }));

Deno.test("cli.ts script runs by URL from a local http server", async () => {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    requested.push(path);
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      return new Response(body, {
        headers: { "content-type": TYPES[path.split(".").pop()!] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const dir = await Deno.makeTempDir();
  try {
    const url = `http://127.0.0.1:${server.addr.port}/cli.ts`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        `--reload=http://127.0.0.1:${server.addr.port}`,
        url,
        "script",
        "--scheduler",
        "slurm",
        "--num-tasks",
        "7",
        "--step",
        "2",
        "--out",
        "-",
        "--",
        "python3",
        "x.py",
      ],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    assert.match(stdout, /^#SBATCH --array=0-3$/m);
    assert.ok(requested.includes("/templates/slurm.mustache"), requested.join(" "));
    assert.ok(requested.includes("/mod.ts"));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

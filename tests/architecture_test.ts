/**
 * The shape of the library, as ARCHITECTURE.md states it: imports run one way (no module imports,
 * however indirectly, a module that imports it), and mod.ts, which every array task starts, loads
 * no other module.
 *
 * Edges are what Deno loads: static imports, and dynamic imports with a literal specifier (Deno
 * puts those into the start-up graph too). Type-only imports are erased before anything runs, so
 * they are not edges: mod.ts names the option types of the modules below it for its own API.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).href;

interface ModuleInfo {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

async function graph(entry: string): Promise<Map<string, string[]>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: new URL(ROOT),
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const { modules } = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: ModuleInfo[];
  };
  const edges = new Map<string, string[]>();
  for (const module of modules) {
    const loaded = (module.dependencies ?? []).flatMap((d) => d.code ? [d.code.specifier] : []);
    edges.set(module.specifier, loaded);
  }
  return edges;
}

const name = (specifier: string) =>
  specifier.startsWith(ROOT) ? specifier.slice(ROOT.length) : specifier;

/** Every cycle's path, found by depth-first search over the project's own modules. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, "open");
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      if (!next.startsWith(ROOT)) continue;
      if (state.get(next) === "open") found.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return found.map((cycle) => cycle.map(name));
}

Deno.test("mod.ts loads no other module: an array task's start-up graph is mod.ts alone", async () => {
  const edges = await graph("mod.ts");
  const reachable = new Set<string>();
  const walk = (node: string): void => {
    if (reachable.has(node)) return;
    reachable.add(node);
    for (const next of edges.get(node) ?? []) walk(next);
  };
  walk(`${ROOT}mod.ts`);
  assert.deepEqual([...reachable].map(name), ["mod.ts"]);
});

Deno.test("no import cycle among the project's modules", async () => {
  const edges = new Map<string, string[]>();
  for (const entry of ["cli.ts", "resubmit.ts", "fake_scheduler/mod.ts"]) {
    for (const [module, loaded] of await graph(entry)) edges.set(module, loaded);
  }
  assert.ok(edges.size > 8, `only ${edges.size} modules found`);
  assert.deepEqual(cycles(edges), []);
});

Deno.test("the cycle finder finds a cycle", () => {
  const edges = new Map([
    [`${ROOT}a.ts`, [`${ROOT}b.ts`]],
    [`${ROOT}b.ts`, [`${ROOT}c.ts`, "node:path"]],
    [`${ROOT}c.ts`, [`${ROOT}a.ts`]],
  ]);
  assert.deepEqual(cycles(edges), [["a.ts", "b.ts", "c.ts", "a.ts"]]);
});

Deno.test("library modules import only upward: mod ← dialects ← script_options ← template_values ← template ← own_script ← script ← script_flags ← task_set ← manifest ← submissions ← job_dir ← records ← status ← local_runs ← resubmit ← queries ← live_status ← lifecycle ← cli_command ← cli_slice ← cli_job ← cli_lifecycle ← cli_install ← cli", async () => {
  const order = [
    "mod.ts",
    "dialects.ts",
    "script_options.ts",
    "template_values.ts",
    "template.ts",
    "own_script.ts",
    "script.ts",
    "script_flags.ts",
    "task_set.ts",
    "manifest.ts",
    "submissions.ts",
    "job_dir.ts",
    "records.ts",
    "status.ts",
    "local_runs.ts",
    "resubmit.ts",
    "queries.ts",
    "live_status.ts",
    "lifecycle.ts",
    "cli_command.ts",
    "cli_slice.ts",
    "cli_job.ts",
    "cli_lifecycle.ts",
    "cli_install.ts",
    "cli.ts",
  ];
  const edges = await graph("cli.ts");
  for (const [module, loaded] of edges) {
    const from = order.indexOf(name(module));
    if (from === -1) continue;
    for (const target of loaded) {
      const to = order.indexOf(name(target));
      if (to !== -1) {
        assert.ok(to < from, `${name(module)} imports ${name(target)}, which is below it`);
      }
    }
  }
});

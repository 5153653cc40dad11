/**
 * `deno bench` of rendering with {@linkcode clusterScript}: one script of each dialect with all
 * options, and 10^4 scripts in a row (varying `numTasks` and `step`, as a sweep generator
 * would), which is what a user rendering many jobs waits for.
 *
 * @module
 */

import { clusterScript, type ClusterScriptOptions } from "../script.ts";

// Kept in a module variable so that the engine cannot drop the call as dead code.
export let sink: unknown;

const full: ClusterScriptOptions = {
  numTasks: 1000,
  step: 7,
  command: ["python3", "fit.py", "--data", "it's a file with spaces.csv"],
  cpus: 4,
  memory: "4G",
  time: "2:00:00",
  queue: "short",
  throttle: 50,
  wait: true,
  outputDir: "/tmp/arrayjob-bench-out",
};

Deno.bench(
  "clusterScript: Grid Engine, all options",
  { group: "one", baseline: true },
  async () => {
    sink = await clusterScript({ ...full, scheduler: "sge" });
  },
);

Deno.bench("clusterScript: Slurm, all options", { group: "one" }, async () => {
  sink = await clusterScript({ ...full, scheduler: "slurm" });
});

Deno.bench("clusterScript: Grid Engine, minimal options", { group: "one" }, async () => {
  sink = await clusterScript({ numTasks: 10, command: ["true"] });
});

// Each iteration renders 10^4 scripts, so a few iterations are enough for a stable figure.
for (const scheduler of ["sge", "slurm"] as const) {
  Deno.bench({
    name: `clusterScript × 10^4 (${scheduler})`,
    group: "10^4 scripts",
    n: 5,
    warmup: 1,
    async fn() {
      for (let i = 1; i <= 10_000; i++) {
        sink = await clusterScript({
          scheduler,
          // At most 1000 array tasks: beyond Slurm's default MaxArraySize the step is raised
          // with a warning on stderr, which would time the warning.
          numTasks: 1 + (i % 1000),
          step: 1 + (i % 13),
          command: ["python3", "fit.py", `--seed=${i}`],
          outputDir: "/tmp/arrayjob-bench-out",
        });
      }
    },
  });
}

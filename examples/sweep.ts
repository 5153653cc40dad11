/**
 * A parameter sweep as a researcher writes it: build the task list, then let arrayjob run the
 * slice the command line asks for. Each task estimates π by Monte Carlo for one (samples, seed)
 * pair and writes its result to `results/<index>.json` in the working directory.
 *
 * ```sh
 * deno run -A examples/sweep.ts                         # all 12 tasks, here
 * deno run -A examples/sweep.ts --tasks 0:3             # tasks 0, 1, 2
 * deno run -A examples/sweep.ts --cluster-script --step 3 --wait
 *                                                       # sweep/run.sh: 4 array tasks
 * ```
 *
 * @module
 */

import { product, runTasks } from "../mod.ts";

const samples = [10_000, 100_000, 1_000_000];
const seeds = [1, 2, 3, 4];

await runTasks(product(samples, seeds), async ([n, seed], index) => {
  let inside = 0;
  const random = mulberry32(seed);
  for (let i = 0; i < n; i++) {
    const x = random(), y = random();
    if (x * x + y * y <= 1) inside++;
  }
  await Deno.mkdir("results", { recursive: true });
  const result = { index, samples: n, seed, pi: (4 * inside) / n };
  await Deno.writeTextFile(`results/${index}.json`, JSON.stringify(result) + "\n");
});

// A small seeded generator, so that every run of a task gives the same answer.
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

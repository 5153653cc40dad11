/**
 * `arrayjob demo` (`deno task demo`): the whole story on the bundled fake scheduler. It renders
 * a cluster script for `examples/sweep.ts` exactly as a user would (`--cluster-script`), shows
 * it, submits it to the fake `qsub -sync y` (or `sbatch --wait`), which runs it once per array
 * index here, and checks that every task of the sweep produced its result exactly once.
 *
 * @module
 */

import { type Scheduler, SCHEDULERS, submitCommand } from "../dialects.ts";
import { simulateMain } from "../fake_scheduler/mod.ts";
import { unsharedPlace } from "../script.ts";

// By URL when cli.ts runs by URL (deno run https://…/cli.ts demo): a path only for a file.
const SWEEP_URL = new URL("./sweep.ts", import.meta.url);
const SWEEP = SWEEP_URL.protocol === "file:"
  ? decodeURIComponent(SWEEP_URL.pathname)
  : SWEEP_URL.href;
const NUM_TASKS = 12;

/**
 * Runs the demo.
 *
 * @param args `[--scheduler sge|slurm] [--step N] [--keep]`.
 * @returns The exit code: 0 when every task ran exactly once and succeeded.
 */
export async function demo(args: readonly string[]): Promise<number> {
  let scheduler: Scheduler = "sge";
  let step = "3";
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--scheduler" && SCHEDULERS.includes(args[i + 1] as Scheduler)) {
      scheduler = args[++i] as Scheduler;
    } else if (arg === "--step" && /^[1-9][0-9]*$/.test(args[i + 1] ?? "")) step = args[++i]!;
    else if (arg === "--keep") keep = true;
    else {
      console.error(
        `arrayjob demo: unexpected ${JSON.stringify(arg)}: expected --scheduler sge|slurm, ` +
          `--step N or --keep`,
      );
      return 2;
    }
  }

  const dir = await Deno.makeTempDir({ prefix: "arrayjob-demo-" });
  // Bold headings on a terminal only, and never with NO_COLOR (https://no-color.org).
  const bold = Deno.stdout.isTerminal() && !Deno.noColor;
  const say = (text: string) => console.log(bold ? `\x1b[1m${text}\x1b[0m` : text);
  try {
    say(
      `1. Render the cluster script for examples/sweep.ts (${NUM_TASKS} tasks, ${step} per array task)`,
    );
    const render = [
      "run",
      "--allow-read",
      "--allow-write",
      // A sweep served over http (cli.ts run by URL) is an import from that host.
      ...(SWEEP_URL.protocol === "file:" ? [] : ["--allow-import"]),
      SWEEP,
      "--cluster-script",
      "--scheduler",
      scheduler,
      "--step",
      step,
      "--wait",
      "--output-dir",
      `${dir}/sweep`,
      // The fake runs the array tasks here, where this Deno is, even when npx's cache holds it.
      ...(unsharedPlace(Deno.execPath()) === undefined ? [] : ["--deno", Deno.execPath()]),
    ];
    console.log(`$ deno ${render.join(" ")}`);
    const rendered = await new Deno.Command(Deno.execPath(), { args: render, cwd: dir }).output();
    await Deno.stdout.write(rendered.stdout);
    await Deno.stderr.write(rendered.stderr);
    if (!rendered.success) return 1;
    const script = `${dir}/sweep/run.sh`;
    console.log(`\n$ cat ${script}\n${await Deno.readTextFile(script)}`);

    const submit = submitCommand(scheduler, script, true);
    say(`2. Submit it to the fake scheduler, which runs every array task here`);
    console.log(`$ ${submit.join(" ")}      (here: arrayjob simulate ${script})`);
    const code = await simulateMain([script], { cwd: dir });

    say(`\n3. Check the results: each of the ${NUM_TASKS} tasks wrote results/<index>.json`);
    const results = [];
    try {
      for await (const entry of Deno.readDir(`${dir}/results`)) {
        results.push(JSON.parse(await Deno.readTextFile(`${dir}/results/${entry.name}`)));
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    results.sort((a, b) => a.index - b.index);
    for (const r of results) {
      console.log(
        `  task ${String(r.index).padStart(2)}: ${
          String(r.samples).padStart(7)
        } samples, seed ${r.seed}: π ≈ ${r.pi}`,
      );
    }
    const indices = results.map((r) => r.index).join(",");
    const expected = Array.from({ length: NUM_TASKS }, (_, i) => i).join(",");
    const ok = code === 0 && indices === expected;
    console.log(
      ok
        ? `\nall ${NUM_TASKS} tasks ran exactly once and succeeded (exit code ${code})`
        : `\nexpected tasks ${expected}, got ${indices || "none"} (exit code ${code})`,
    );
    if (keep) console.log(`kept ${dir}`);
    return ok ? 0 : 1;
  } finally {
    if (!keep) await Deno.remove(dir, { recursive: true });
  }
}

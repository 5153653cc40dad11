/**
 * The seed's workflow end to end, through the command line and the fake schedulers: the seed's
 * own template renders as written and runs every task once; a program whose `--tasks` parser is
 * the seed's `str_to_slice` goes through failure → status → resubmit --step K → status all done,
 * per chunk when it reports nothing and per task when it reports through
 * examples/python/arrayjob_record.py.
 */

import assert from "node:assert/strict";
import path from "node:path";
import type { Scheduler } from "../mod.ts";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const CLI = path.join(ROOT, "cli.ts");
const SEED = path.join(ROOT, "tests/fixtures/seed");
const PROGRAM = path.join(SEED, "do_something.py");
const FAKE_BIN = path.join(ROOT, "fake_scheduler/bin");
const WAIT: Record<Scheduler, string[]> = {
  sge: ["qsub", "-sync", "y"],
  slurm: ["sbatch", "--wait"],
};

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string[], cwd: string, env: Record<string, string> = {}): Promise<Output> {
  const output = await new Deno.Command(cmd[0]!, {
    args: cmd.slice(1),
    cwd,
    env,
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

const arrayjob = (args: string[], cwd: string) =>
  run([Deno.execPath(), "run", "-A", CLI, ...args], cwd);

// The seed's script calls `python`: a directory with `python` pointing at python3, first on PATH
// (before the fake's qsub and sbatch), whatever this machine calls its Python.
async function withJobDir(fn: (dir: string, env: Record<string, string>) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "arrayjob-seed-" });
  try {
    // The interpreter itself: a version manager's shim (pyenv) costs a second per start.
    const found = await run(["python3", "-c", "import sys; print(sys.executable)"], dir)
      .catch(() => ({ stdout: "" }));
    const python3 = found.stdout.trim();
    assert.ok(python3, "python3 is needed: the seed's program is Python");
    await Deno.mkdir(`${dir}/bin`);
    await Deno.symlink(python3, `${dir}/bin/python`);
    await Deno.symlink(python3, `${dir}/bin/python3`);
    await Deno.mkdir(`${dir}/state`);
    const env = {
      PATH: `${dir}/bin:${FAKE_BIN}:${Deno.env.get("PATH")}`,
      SEED_LOG: `${dir}/ran.txt`,
      SEED_STATE: `${dir}/state`,
    };
    await fn(dir, env);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// How often each task ran, and how often it succeeded, from the program's own log.
async function runs(dir: string): Promise<{ ran: number[]; ok: number[] }> {
  const ran = Array(14).fill(0), ok = Array(14).fill(0);
  const text = await Deno.readTextFile(`${dir}/ran.txt`).catch(() => "");
  for (const line of text.split("\n").filter(Boolean)) {
    const [index, outcome] = line.split(" ");
    ran[Number(index)]++;
    if (outcome === "ok") ok[Number(index)]++;
  }
  return { ran, ok };
}

Deno.test("the seed's template, verbatim, renders with the seed's values and runs every task once on the fake qsub", () =>
  withJobDir(async (dir, env) => {
    const template = `${SEED}/seed.mustache`;
    const rendered = await arrayjob([
      "script",
      "--template",
      template,
      "--num-tasks",
      "14",
      "--step",
      "3",
      "--memory",
      "10G",
      "--time",
      "3600",
      "--queue",
      "default.q",
      "--wait",
      "--output-dir",
      `${dir}/out`,
      "--",
      PROGRAM,
    ], dir);
    assert.equal(rendered.code, 0, rendered.stderr);
    // What it cannot do, said at render time.
    assert.match(rendered.stderr, /no \{\{#record_dir\}\} block.*status.*resubmit.*cannot track/);
    assert.match(rendered.stderr, /no \{\{#chunk_map\}\} section.*resubmit.*built-in template/);
    const text = await Deno.readTextFile(`${dir}/out/run.sh`);
    // The seed's template line for line, with the values filled in.
    const expected = (await Deno.readTextFile(template))
      .replace("#{{#job_name}}$ -N {{{.}}}{{/job_name}}", "#$ -N do_something")
      .replace("{{{cpus}}}", "1")
      .replace(
        "#{{#output_dir}}$ -o {{{.}}}/$JOB_NAME",
        `#$ -o ${dir}/out/$JOB_NAME`,
      ).replace("{{/output_dir}}", "")
      .replace("{{#wait}}\n#$ -sync y\n{{/wait}}\n", "#$ -sync y\n")
      .replace("{{{mem_free}}}", "10G")
      .replace("{{{h_rt_secs}}}", "3600")
      .replace("{{{num_array_tasks}}}", "5")
      .replace(
        "{{#queue}}\n# Set the queue\n#$ -q {{{.}}}\n{{/queue}}\n",
        "# Set the queue\n#$ -q default.q\n",
      )
      .replace("{{{step}}}", "3")
      .replace("{{{script_file}}}", PROGRAM);
    assert.doesNotMatch(expected, /\{\{/, "every tag of the seed's template is accounted for");
    assert.equal(text, expected);

    const ran = await run([...WAIT.sge, `${dir}/out/run.sh`], dir, env);
    assert.equal(ran.code, 0, ran.stderr);
    const { ran: counts, ok } = await runs(dir);
    assert.deepEqual(counts, Array(14).fill(1), "every task exactly once");
    assert.deepEqual(ok, Array(14).fill(1));
  }));

Deno.test("strict rendering names every missing tag in one error, and writes nothing", () =>
  withJobDir(async (dir) => {
    const out = await arrayjob([
      "script",
      "--template",
      `${SEED}/seed.mustache`,
      "--num-tasks",
      "14",
      "--output-dir",
      `${dir}/out`,
      "--",
      PROGRAM,
    ], dir);
    assert.equal(out.code, 2);
    const lines = out.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0]!, /no value for tags \{\{mem_free\}\}, \{\{h_rt_secs\}\}[;:]/);
    assert.equal(await Deno.stat(`${dir}/out/run.sh`).then(() => true, () => false), false);
  }));

Deno.test("partials other than body, prototype names, and empty or binary templates are refused", () =>
  withJobDir(async (dir) => {
    const cases: [string, string | Uint8Array, RegExp][] = [
      [
        "partial.mustache",
        "#!/bin/sh\n{{> header}}\n{{{command}}}\n",
        /\{\{> header\}\} includes a partial/,
      ],
      [
        "constructor.mustache",
        "#!/bin/sh\n# {{constructor}}\n",
        /\{\{constructor\}\} is not a plain value name/,
      ],
      [
        "tostring.mustache",
        "{{#toString}}x{{/toString}}{{__proto__}}",
        /\{\{toString\}\}.*\{\{__proto__\}\}/,
      ],
      ["empty.mustache", " \n", /--template is empty/],
      ["binary.mustache", new Uint8Array([0x23, 0x21, 0xff, 0xfe, 0x00]), /--template is not text/],
    ];
    for (const [name, content, message] of cases) {
      if (typeof content === "string") await Deno.writeTextFile(`${dir}/${name}`, content);
      else await Deno.writeFile(`${dir}/${name}`, content);
      const out = await arrayjob([
        "script",
        "--template",
        `${dir}/${name}`,
        "--num-tasks",
        "2",
        "--output-dir",
        `${dir}/out`,
        "--",
        "./fit",
      ], dir);
      assert.equal(out.code, 2, name);
      assert.match(out.stderr, message, name);
      assert.equal(out.stderr.trimEnd().split("\n").length, 1, out.stderr);
    }
    assert.equal(await Deno.stat(`${dir}/out`).then(() => true, () => false), false);
    // An edited copy of a built-in header keeps its {{> body}}.
    const header = (await arrayjob(["templates", "sge"], dir)).stdout;
    await Deno.writeTextFile(
      `${dir}/edited.mustache`,
      header.replace("#$ -cwd", "#$ -cwd\n#$ -l gpu={{{gpus}}}"),
    );
    const edited = await arrayjob([
      "script",
      "--template",
      `${dir}/edited.mustache`,
      "--set",
      "gpus=2",
      "--num-tasks",
      "2",
      "--out",
      "-",
      "--",
      "./fit",
    ], dir);
    assert.equal(edited.code, 0, edited.stderr);
    assert.match(edited.stdout, /^#\$ -l gpu=2$/m);
    assert.match(edited.stdout, /--tasks="\$1"$/m);
  }));

Deno.test("--set NAME=VALUE: extra values stay data; names arrayjob gives, or not plain, are refused", () =>
  withJobDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/t.mustache`, "#!/bin/sh\n# {{{note}}} {{{account}}}\n");
    const set = (...values: string[]) =>
      arrayjob([
        "script",
        "--template",
        `${dir}/t.mustache`,
        ...values.flatMap((v) => ["--set", v]),
        "--num-tasks",
        "2",
        "--out",
        "-",
        "--",
        "./fit",
      ], dir);
    const ok = await set("note=$(touch pwned) {{x}}", "account=a=b");
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "#!/bin/sh\n# $(touch pwned) {{x}} a=b\n");
    for (
      const [value, message] of [
        ["job_name=x", /job_name is a value arrayjob gives/],
        ["__proto__=x", /"__proto__" is not a plain value name/],
        ["constructor=x", /"constructor" is not a plain value name/],
        ["note=a\nb", /one line of text/],
        ["=x", /expected NAME=VALUE/],
      ] as const
    ) {
      const out = await set(value, "account=1");
      assert.equal(out.code, 2, value);
      assert.match(out.stderr, message, value);
    }
  }));

Deno.test("arrayjob templates explains each built-in; --values lists every value with meaning and example", async () => {
  const list = await arrayjob(["templates"], ROOT);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /^sge +Grid Engine/m);
  assert.match(list.stdout, /^slurm +Slurm/m);
  assert.match(list.stdout, /^body +/m);
  const values = await arrayjob(["templates", "--values"], ROOT);
  assert.equal(values.code, 0);
  for (
    const name of [
      "job_name",
      "cpus",
      "output_dir",
      "wait",
      "mem_free",
      "h_rt_secs",
      "num_array_tasks",
      "queue",
      "step",
      "script_file",
    ]
  ) {
    assert.match(values.stdout, new RegExp(`^${name} +\\S.*  e\\.g\\. \\S`, "m"), name);
  }
});

// The seed's program: str_to_slice verbatim, 14 tasks, tasks 1, 5, 6 and 13 fail on their first
// run. Without reporting, a failed run fails its whole chunk; with it, only the failed tasks.
const FAILING = [1, 5, 6, 13];
for (const scheduler of ["sge", "slurm"] as const) {
  // Several steps over the file: 2 and 5 split the retried ranges differently, 4 puts three
  // ranges into one chunk.
  const unreported = scheduler === "sge" ? 2 : 5;
  for (
    const { steps, report } of [{ steps: [unreported], report: false }, {
      steps: [4],
      report: true,
    }]
  ) {
    for (const step of steps) {
      Deno.test(`${scheduler}: the seed's str_to_slice program, ${report ? "reporting each task" : "reporting nothing"}: fail → status → resubmit --step ${step} → all done`, () =>
        withJobDir(async (dir, env) => {
          const jobEnv = {
            ...env,
            SEED_FAIL_ONCE: FAILING.join(","),
            SEED_REPORT: report ? "1" : "0",
          };
          const out = `${dir}/out`;
          const rendered = await arrayjob([
            "script",
            "--scheduler",
            scheduler,
            "--num-tasks",
            "14",
            "--step",
            "3",
            "--output-dir",
            out,
            "--",
            "python3",
            PROGRAM,
          ], dir);
          assert.equal(rendered.code, 0, rendered.stderr);
          const first = await run([...WAIT[scheduler], `${out}/run.sh`], dir, jobEnv);
          assert.notEqual(first.code, 0, "some array tasks failed");

          const status = await arrayjob(["status", out], dir);
          assert.equal(status.code, 1);
          // Chunks of 3: tasks 1, 5, 6 and 13 fail the chunks 0:3, 3:6, 6:9 and 12:14.
          const failed = report ? "1,5:7,13" : "0:9,12:14";
          assert.match(status.stdout, new RegExp(`^failed: ${failed}$`, "m"), status.stdout);

          const again = await arrayjob(["resubmit", out, "--step", String(step)], dir);
          assert.equal(again.code, 0, again.stderr);
          const script = again.stdout.trim();
          const map = (await Deno.readTextFile(script.replace(/\.sh$/, ".chunks"))).trimEnd().split(
            "\n",
          );
          for (const line of map) assert.match(line, /^[0-9]+:[0-9]+(,[0-9]+:[0-9]+)*$/);
          const retried = report ? FAILING.length : 11;
          assert.equal(map.length, Math.ceil(retried / step));
          const second = await run([...WAIT[scheduler], script], dir, jobEnv);
          assert.equal(second.code, 0, second.stderr);

          const after = await arrayjob(["status", out], dir);
          assert.equal(after.code, 0, after.stdout);
          assert.match(after.stdout, /^14 tasks: 14 done, 0 failed,/);
          const { ran, ok } = await runs(dir);
          assert.ok(ok.every((n) => n >= 1), "every task succeeded");
          const failures = ran.map((n, i) => n - ok[i]);
          assert.deepEqual(failures, ran.map((_, i) => FAILING.includes(i) ? 1 : 0));
          const twice = ran.flatMap((n, i) => n === 2 ? [i] : []);
          assert.deepEqual(twice, report ? FAILING : [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13]);
          assert.ok(ran.every((n) => n === 1 || n === 2));
        }));
    }
  }
}

/**
 * script.ts: rendering array-job scripts. Each scheduler's dialect, the seed's SGE shape, strict
 * templates, one shared shell body, the record format as template values, and the flag table.
 */

import assert from "node:assert/strict";
import { ArrayJobError, parseRecordLine, RECORD_FIELDS } from "../mod.ts";
import { builtinTemplate, clusterScript, TEMPLATE_VALUES } from "../script.ts";
import { flagsFor, parseScriptFlags, SCRIPT_FLAGS, scriptFlagsHelp } from "../script_flags.ts";
import { SCHEDULERS } from "../dialects.ts";
import { writeClusterScript } from "../job_dir.ts";

const base = { numTasks: 14, command: ["python3", "do_something.py"], workDir: "/work" };

function directives(text: string, prefix: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(prefix)).map((line) =>
    line.slice(prefix.length).trim()
  );
}

Deno.test("the Grid Engine script keeps the seed's shape: -t 1-ceil(N/step), STEP_SIZE, START_TASK", async () => {
  const text = await clusterScript({ ...base, step: 3 });
  assert.deepEqual(directives(text, "#$ "), [
    "-N do_something",
    "-cwd",
    "-S /bin/sh",
    "-V",
    "-j y",
    "-o /work/do_something/$JOB_NAME.o$JOB_ID.$TASK_ID",
    "-t 1-5",
  ]);
  assert.match(text, /^STEP_SIZE=3\nSTART_TASK=\$\(\(\(SGE_TASK_ID - 1\) \* STEP_SIZE\)\)\n/m);
  assert.match(
    text,
    /^STOP_TASK=\$\(\(START_TASK \+ STEP_SIZE\)\)\nTASKS=\$\{START_TASK\}:\$\{STOP_TASK\}$/m,
  );
  assert.match(text, /^ {2}ARRAYJOB_RECORD=\$RECORD python3 do_something.py --tasks="\$1"$/m);
  assert.match(text, /^ {2}arrayjob_run "\$\{REST%%,\*\}"$/m, "once per START:STOP range");
  const unrecorded = await clusterScript({ ...base, records: false });
  assert.match(unrecorded, /^ {2}python3 do_something.py --tasks="\$1"$/m);
  assert.doesNotMatch(unrecorded, /RECORD/);
  assert.ok(text.startsWith("#!/bin/sh\n"));
});

Deno.test("Grid Engine resources: PE only when cpus > 1, memory per slot, h_rt, -tc, -q, -sync", async () => {
  const text = await clusterScript({
    ...base,
    cpus: 4,
    memory: "10G",
    time: "2:00:00",
    throttle: 3,
    queue: "all.q",
    wait: true,
    extraDirectives: ["-l gpu=1"],
  });
  const lines = directives(text, "#$ ");
  for (
    const expected of [
      "-pe smp 4",
      "-l mem_free=2560M",
      "-l h_rt=2:00:00",
      "-tc 3",
      "-q all.q",
      "-sync y",
      "-l gpu=1",
    ]
  ) assert.ok(lines.includes(expected), `${expected} in ${lines.join(" | ")}`);
  const single = directives(await clusterScript({ ...base, memory: "4G" }), "#$ ");
  assert.ok(!single.some((line) => line.startsWith("-pe")), "no PE for one cpu");
  assert.ok(single.includes("-l mem_free=4G"));
  const univa = await clusterScript({ ...base, memory: "4G", memoryResource: "m_mem_free" });
  assert.match(univa, /^#\$ -l m_mem_free=4G$/m);
  const pe = await clusterScript({ ...base, cpus: 2, pe: "threads" });
  assert.match(pe, /^#\$ -pe threads 2$/m);
});

Deno.test("the Slurm script: 0-based --array with %throttle, cpus, mem, time, partition, log pattern", async () => {
  const text = await clusterScript({
    ...base,
    scheduler: "slurm",
    step: 5,
    cpus: 2,
    memory: "1536M",
    time: 90061,
    throttle: 2,
    queue: "short",
    wait: true,
  });
  assert.deepEqual(directives(text, "#SBATCH "), [
    "--job-name=do_something",
    "--array=0-2%2",
    "--cpus-per-task=2",
    "--output=/work/do_something/%x.o%A.%a",
    "--wait",
    "--mem=1536M",
    "--time=1-01:01:01",
    "--partition=short",
  ]);
  assert.match(text, /^START_TASK=\$\(\(SLURM_ARRAY_TASK_ID \* STEP_SIZE\)\)$/m);
  const perCpu = await clusterScript({ ...base, scheduler: "slurm", memoryPerCpu: "2G" });
  assert.match(perCpu, /^#SBATCH --mem-per-cpu=2G$/m);
});

Deno.test("every #SBATCH line comes before the first command, where Slurm still reads it", async () => {
  const text = await clusterScript({ ...base, scheduler: "slurm", wait: true, time: 60 });
  const lines = text.split("\n");
  const firstCommand = lines.findIndex((line) => line.trim() !== "" && !line.startsWith("#"));
  const lastDirective = lines.findLastIndex((line) => line.startsWith("#SBATCH"));
  assert.ok(lastDirective < firstCommand);
});

Deno.test("array size is ceil(numTasks / step) for every size and step", async () => {
  for (
    const [numTasks, step, size] of [[1, 1, 1], [14, 1, 14], [14, 3, 5], [15, 3, 5], [3, 10, 1]]
  ) {
    const sge = await clusterScript({ ...base, numTasks, step });
    assert.match(sge, new RegExp(`^#\\$ -t 1-${size}$`, "m"));
    const slurm = await clusterScript({ ...base, scheduler: "slurm", numTasks, step });
    assert.match(slurm, new RegExp(`^#SBATCH --array=0-${size - 1}$`, "m"));
  }
});

Deno.test("times: seconds and [D-]H:MM:SS in, each scheduler's format out", async () => {
  const sge = async (time: string | number) =>
    /h_rt=(\S+)/.exec(await clusterScript({ ...base, time }))![1];
  const slurm = async (time: string | number) =>
    /--time=(\S+)/.exec(await clusterScript({ ...base, scheduler: "slurm", time }))![1];
  assert.equal(await sge(3600), "1:00:00");
  assert.equal(await sge("3600"), "1:00:00");
  assert.equal(await sge("1:30:05"), "1:30:05");
  assert.equal(await sge("2-00:00:00"), "48:00:00");
  assert.equal(await slurm("2-00:00:00"), "2-00:00:00");
  assert.equal(await slurm(59), "0:00:59");
  for (const bad of ["1h", "0", "1:60:00", "-5", ""]) {
    await assert.rejects(
      () => clusterScript({ ...base, time: bad }),
      /is not a runtime: .*a bare number of seconds \(3600; Slurm's own --time would read it as minutes/,
      bad,
    );
  }
});

Deno.test("times: MM:SS is refused as ambiguous, with the H:MM:SS and seconds it may have meant", async () => {
  await assert.rejects(
    () => clusterScript({ ...base, scheduler: "slurm", time: "30:00" }),
    (error: ArrayJobError) => {
      assert.equal(error.option, "time");
      assert.equal(
        error.reason,
        '"30:00" is ambiguous: Slurm reads one colon as MM:SS (30 min 0 s), other tools as ' +
          "H:MM; write H:MM:SS (0:30:00) or seconds (1800)",
      );
      return true;
    },
  );
  assert.match(
    scriptFlagsHelp("script"),
    /a bare number of seconds\n.*Slurm's own --time reads a bare number as minutes/,
  );
});

Deno.test("memory sizes: K, M, G, T and decimals; anything else is an error naming it", async () => {
  const mem = async (memory: string) =>
    /--mem=(\S+)/.exec(await clusterScript({ ...base, scheduler: "slurm", memory }))![1];
  assert.equal(await mem("4G"), "4G");
  assert.equal(await mem("4g"), "4G");
  assert.equal(await mem("1.5G"), "1536M");
  assert.equal(await mem("2048K"), "2M");
  assert.equal(await mem("4GB"), "4G");
  for (const bad of ["lots", "4X", "-1G", "0", "4 G B", "1;reboot"]) {
    await assert.rejects(
      () => clusterScript({ ...base, memory: bad }),
      new RegExp(`memory ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not`),
    );
  }
});

Deno.test("the job name defaults to the script's stem, found after the program and its flags", async () => {
  const name = async (command: string[]) =>
    /^#\$ -N (\S+)$/m.exec(await clusterScript({ ...base, command }))![1];
  assert.equal(await name(["python3", "fit.py"]), "fit");
  assert.equal(await name(["deno", "run", "-A", "/x/sweep.ts"]), "sweep");
  assert.equal(await name(["Rscript", "my model.R"]), "my_model");
  assert.equal(await name(["./2024-run"]), "job_2024-run");
  assert.equal(await name(["bash"]), "bash");
});

Deno.test("bad options are one-line errors naming the value and what is allowed", async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ numTasks: 0 }, /numTasks is 0: expected a whole number ≥ 1/],
    [{ numTasks: 2.5 }, /numTasks is 2.5/],
    [{ step: 0 }, /step is 0/],
    [{ cpus: -1 }, /cpus is -1/],
    [{ throttle: 0 }, /throttle is 0/],
    [{ scheduler: "pbs" }, /unknown scheduler "pbs": expected sge or slurm/],
    [{ command: [] }, /command is \[\]/],
    [{ jobName: "1abc" }, /jobName "1abc" is refused by sge/],
    [{ jobName: "a/b" }, /jobName "a\/b" is refused by sge/],
    [{ jobName: "a\nb" }, /jobName "a\\nb" cannot go into a directive line/],
    [{ queue: "all.q\n#$ -l x" }, /queue "all.q\\n#\$ -l x" is not a queue/],
    [{ outputDir: 'logs"dir' }, /outputDir ".*logs\\"dir" cannot go into a directive line/],
    [{ outputDir: "logs$HOME" }, /outputDir ".*logs\$HOME" cannot go into a directive line/],
    [{ memory: "1G", memoryPerCpu: "1G" }, /memory or memoryPerCpu, not both/],
    [{ memoryResource: "mem free" }, /memoryResource "mem free"/],
    [{ extraDirectives: ["-l a=1\n-l b=2"] }, /extra directive .* must be one non-empty line/],
    [{ pe: "smp;x" }, /pe "smp;x"/],
  ];
  for (const [override, message] of cases) {
    await assert.rejects(
      () => clusterScript({ ...base, ...override } as never),
      (error: Error) =>
        error instanceof ArrayJobError && message.test(error.message) &&
        !error.message.includes("\n"),
      JSON.stringify(override),
    );
  }
});

Deno.test("a user template gets the same values as the built-in one", async () => {
  const template = "{{job_name}} {{num_array_tasks}} {{step}} {{command}}{{#time}} {{.}}{{/time}}";
  const text = await clusterScript({ ...base, step: 4, time: 60, template });
  assert.equal(text, "do_something 4 4 python3 do_something.py 0:01:00");
  await assert.rejects(() => clusterScript({ ...base, template: "{{nope}}" }), /\{\{nope\}\}/);
});

Deno.test("the built-in templates are plain files and render without missing tags for any options", async () => {
  for (const scheduler of ["sge", "slurm"] as const) {
    const file = await Deno.readTextFile(
      new URL(`../templates/${scheduler}.mustache`, import.meta.url),
    );
    assert.equal(await builtinTemplate(scheduler), file);
    await clusterScript({ ...base, scheduler });
  }
});

Deno.test("a Deno command under a small h_vmem gets a notice: V8's reservation would kill it", async () => {
  const notices: string[] = [];
  const onNotice = (n: string) => notices.push(n);
  const deno = {
    ...base,
    command: ["/usr/bin/deno", "run", "x.ts"],
    memoryResource: "h_vmem",
    onNotice,
  };
  const text = await clusterScript({ ...deno, memory: "4G" });
  assert.equal(notices.length, 1);
  assert.match(notices[0]!, /h_vmem=4G will kill Deno/);
  assert.ok(text.includes(`# ${notices[0]}`));
  await clusterScript({ ...deno, memory: "40G" });
  await clusterScript({ ...deno, memory: "4G", memoryResource: "mem_free" });
  await clusterScript({ ...base, memory: "4G", memoryResource: "h_vmem", onNotice }); // python3
  assert.equal(notices.length, 1);
});

Deno.test("both schedulers' templates are a header that includes the one shared shell body", async () => {
  const body = await Deno.readTextFile(new URL("../templates/body.mustache", import.meta.url));
  for (const scheduler of SCHEDULERS) {
    const header = builtinTemplate(scheduler);
    assert.match(header, /\n\{\{> body\}\}\n$/);
    assert.doesNotMatch(header, /START_TASK|printf/, `${scheduler}: the body is not repeated`);
  }
  assert.equal(builtinTemplate("body"), body);
  // A user's template that is a whole script needs no partial, and still renders.
  const whole = "#!/bin/sh\n#$ -t 1-{{{num_array_tasks}}}\n{{{command}}} --tasks=$T\n";
  assert.equal(
    await clusterScript({ ...base, template: whole }),
    "#!/bin/sh\n#$ -t 1-14\npython3 do_something.py --tasks=$T\n",
  );
  // An edited header keeps the built-in body.
  const edited = builtinTemplate("sge").replace("#$ -V\n", "#$ -V\n#$ -P myproject\n");
  const text = await clusterScript({ ...base, template: edited });
  assert.match(text, /^#\$ -P myproject$/m);
  assert.match(text, /^START_TASK=\$\(\(\(SGE_TASK_ID - 1\) \* STEP_SIZE\)\)$/m);
});

Deno.test("the rendered record lines are mod.ts's record format", async () => {
  for (const scheduler of SCHEDULERS) {
    const text = await clusterScript({ ...base, scheduler });
    for (const kind of ["start", "end", "exit"] as const) {
      const format = new RegExp(`^ *printf '(${kind}[^']*)'`, "m").exec(text)![1]!;
      // What printf writes, with every %s filled by "x":
      const line = format.replaceAll("\\t", "\t").replaceAll("%s", "x").replace(/\\n$/, "");
      assert.deepEqual(parseRecordLine(line), {
        kind,
        fields: RECORD_FIELDS[kind].map(() => "x"),
      });
    }
    assert.match(text, /^ {2}ARRAYJOB_RECORD=\$RECORD /m);
  }
});

Deno.test("an array task's record ends in its exit line; a rerun of it writes a record of its own", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Array task 2 of job 77 runs tasks 4:6, which fail; then the scheduler runs it again.
    const run = await writeClusterScript({
      scheduler: "slurm",
      numTasks: 6,
      step: 2,
      command: ["/bin/sh", "-c", 'test "$1" != --tasks=4:6', "fit"],
      outputDir: dir,
    });
    const env = { SLURM_ARRAY_JOB_ID: "77", SLURM_ARRAY_TASK_ID: "2" };
    for (let rerun = 0; rerun < 2; rerun++) {
      const out = await new Deno.Command("/bin/sh", { args: [run], env }).output();
      assert.equal(out.code, 1, "tasks 4:6 fail");
    }
    for (const name of ["77.2", "77.2.2"]) {
      const lines = (await Deno.readTextFile(`${dir}/records/${name}`)).trimEnd().split("\n");
      assert.deepEqual(lines.map((line) => line.split("\t")[0]), ["start", "end", "exit"], name);
      assert.equal(lines.at(-1), "exit\t1");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("errors about an option carry it, so a command line can name its flag", async () => {
  const error = await clusterScript({ ...base, jobName: "a b" }).catch((e) => e);
  assert.ok(error instanceof ArrayJobError);
  assert.equal(error.option, "jobName");
  assert.equal(error.message, `jobName ${error.reason}`);
  for (const option of ["memory", "time", "queue", "step", "cpus", "throttle", "outputDir"]) {
    const bad = await clusterScript({ ...base, [option]: option === "outputDir" ? "a'b" : "x y" })
      .catch((e) => e);
    assert.equal(bad.option, option, `${option}: ${bad.message}`);
    assert.ok(SCRIPT_FLAGS.some((flag) => flag.option === option), option);
  }
});

Deno.test("SCRIPT_FLAGS parses every flag it documents, and nothing else", () => {
  const help = scriptFlagsHelp("script");
  for (const { flag } of flagsFor("script")) {
    assert.match(help, new RegExp(`^  --${flag}\\b`, "m"));
  }
  const { options } = parseScriptFlags([
    "--num-tasks=3",
    "--job-name",
    "fit",
    "--directive=-l a=1",
    "--directive=-l b=2",
    "--split",
  ], "script");
  assert.deepEqual(options, {
    numTasks: 3,
    jobName: "fit",
    extraDirectives: ["-l a=1", "-l b=2"],
    split: true,
  });
  assert.throws(() => parseScriptFlags(["--step", "x"], "script"), /--step "x": expected a whole/);
});

Deno.test("parseScriptFlags: an unknown option is one line naming it and the nearest known one", () => {
  for (
    const [arg, message] of [
      ["--stepp", 'unknown option "--stepp": did you mean --step? (see --help)'],
      ["--job-nme=x", 'unknown option "--job-nme": did you mean --job-name? (see --help)'],
      ["--mem", 'unknown option "--mem": did you mean --memory? (see --help)'],
      ["--frobnicate", 'unknown option "--frobnicate" (see --help)'],
    ]
  ) {
    assert.throws(() => parseScriptFlags([arg!, "1"], "script"), (error: Error) => {
      assert.equal(error.message, message);
      return true;
    });
  }
});

Deno.test("parseScriptFlags: a flag that does not apply to a use is refused with the reason", () => {
  assert.throws(
    () => parseScriptFlags(["--num-tasks", "4"], "cluster-script"),
    /^ArrayJobError: --num-tasks does not apply to --cluster-script: the script's own task list/,
  );
  assert.throws(
    () => parseScriptFlags(["--split"], "resubmit"),
    /^ArrayJobError: --split does not apply to arrayjob resubmit: a resubmission keeps the job's/,
  );
  assert.throws(() => parseScriptFlags(["--deno", "/x"], "script"), /--deno does not apply/);
  assert.deepEqual(parseScriptFlags(["--deno", "/x"], "cluster-script").options, { deno: "/x" });
});

Deno.test("scriptFlagsHelp: one table, each use's flags; defaults only where the flags start from nothing", () => {
  const resubmit = scriptFlagsHelp("resubmit");
  assert.doesNotMatch(resubmit, /default|--split|--num-tasks|--out |--template|--deno/);
  assert.match(resubmit, /^ {2}--scheduler sge\|slurm\s{4}which scheduler's script$/m);
  assert.match(resubmit, /^ {2}--max-array-size N\s{7}the scheduler's array limit; .*$/m);
  assert.match(scriptFlagsHelp("script"), /^ {2}--scheduler sge\|slurm\s{4}.* \(default: sge\)$/m);
  assert.doesNotMatch(scriptFlagsHelp("cluster-script"), /--num-tasks/);
  // Every line is a flag's first line or an indented continuation: nothing runs together.
  for (const use of ["script", "resubmit", "cluster-script"] as const) {
    for (const line of scriptFlagsHelp(use).split("\n")) {
      assert.match(line, /^ {2}--[a-z-]+( \S+)? +\S|^ {27}\S/, `${use}: ${line}`);
      assert.ok(line.length <= 100, line);
      assert.doesNotMatch(line, /undefined/);
    }
  }
});

Deno.test("TEMPLATE_VALUES: every value it calls always present renders, with every option or none", async () => {
  const always = TEMPLATE_VALUES.filter(({ kind }) => kind === "value").map(({ name }) => name);
  assert.ok(always.includes("script_file") && always.includes("output_dir"));
  const template = always.map((name) => `${name}={{{${name}}}}`).join("\n");
  for (const scheduler of SCHEDULERS) {
    const text = await clusterScript({ ...base, scheduler, template, onNotice: () => {} });
    assert.match(text, /^script_file=python3 do_something.py$/m);
    assert.match(text, /^output_dir=\/work\/do_something$/m);
  }
  // The seed's sections, given their options, are values too.
  const seed = "{{{mem_free}}} {{{h_rt_secs}}} {{{queue}}} {{#wait}}wait{{/wait}}";
  const text = await clusterScript({
    ...base,
    template: seed,
    memory: "10G",
    time: "1:00:00",
    queue: "default.q",
    wait: true,
    onNotice: () => {},
  });
  assert.equal(text, "10G 3600 default.q wait");
});

/**
 * The one option parser (fake_scheduler/options.ts), through both faces' real tables: how options
 * are spelled, what is refused and how, directives against the command line, and the fake-only
 * options taken out of a command line.
 */

import assert from "node:assert/strict";
import { Findings } from "../../fake_scheduler/diagnostics.ts";
import {
  applyWords,
  type FakeOptions,
  parseRequest,
  takeFakeOptions,
  valueCount,
} from "../../fake_scheduler/options.ts";
import { QSUB_OPTIONS, QSUB_SYNTAX } from "../../fake_scheduler/sge_options.ts";
import { SBATCH_OPTIONS, SBATCH_SYNTAX } from "../../fake_scheduler/slurm_options.ts";

const sbatchWords = (words: string[]) => {
  const req = SBATCH_SYNTAX.newRequest();
  const findings = new Findings();
  applyWords(SBATCH_OPTIONS, words, req, { findings, fake: {} });
  return { req, findings };
};

Deno.test("parseRequest() reads GNU spellings: --opt=v, --opt v, -Xv, -X v, and aliases", () => {
  for (
    const words of [
      ["--job-name=fit", "--time=5", "--chdir=/tmp"],
      ["--job-name", "fit", "--time", "5", "--workdir", "/tmp"],
      ["-Jfit", "-t5", "-D/tmp"],
      ["-J", "fit", "-t", "5", "-D", "/tmp"],
    ]
  ) {
    const { req } = sbatchWords(words);
    assert.deepEqual([req.name, req.time, req.chdir], ["fit", 300, "/tmp"], words.join(" "));
  }
});

Deno.test("parseRequest() reads qsub spellings: one word per option, values as the next words", () => {
  const req = QSUB_SYNTAX.newRequest();
  const findings = new Findings();
  const stop = applyWords(
    QSUB_OPTIONS,
    ["-pe", "smp", "4", "-cwd", "-N", "x", "run.sh", "-N"],
    req,
    {
      findings,
      fake: {},
    },
  );
  assert.equal(stop, 6, "the first word that is not an option ends the options");
  assert.deepEqual(req.pe, { name: "smp", slots: 4 });
  assert.equal(req.cwd, true);
  assert.equal(req.name, "x");
});

Deno.test("applyWords() refuses unknown options, missing values and values given to flags, naming them", () => {
  const refusal = (table: typeof SBATCH_OPTIONS | typeof QSUB_OPTIONS, words: string[]) => {
    const req = table === SBATCH_OPTIONS ? SBATCH_SYNTAX.newRequest() : QSUB_SYNTAX.newRequest();
    try {
      // deno-lint-ignore no-explicit-any
      applyWords(table as any, words, req, { findings: new Findings(), fake: {} });
    } catch (e) {
      return (e as Error).message;
    }
    return "accepted";
  };
  assert.equal(refusal(SBATCH_OPTIONS, ["--frobnicate=1"]), "unknown sbatch option '--frobnicate'");
  assert.equal(refusal(SBATCH_OPTIONS, ["-Z"]), "unknown sbatch option '-Z'");
  assert.equal(refusal(SBATCH_OPTIONS, ["--array"]), "sbatch option --array needs a value");
  assert.equal(
    refusal(SBATCH_OPTIONS, ["--wait=yes"]),
    "sbatch option --wait takes no value, got 'yes'",
  );
  assert.equal(refusal(QSUB_OPTIONS, ["-frobnicate"]), "unknown qsub option '-frobnicate'");
  assert.equal(refusal(QSUB_OPTIONS, ["-pe", "smp"]), "qsub option -pe needs two values");
  assert.equal(refusal(QSUB_OPTIONS, ["-N"]), "qsub option -N needs a value");
});

Deno.test("applyWords() accepts options the fake cannot honour, with a note naming each", () => {
  const { findings } = sbatchWords(["--qos=high", "-d", "afterok:1", "--exclusive"]);
  assert.deepEqual(findings.list.map((d) => [d.severity, d.message]), [
    ["note", "sbatch option --qos is accepted but has no effect in the fake"],
    ["note", "sbatch option --dependency is accepted but has no effect in the fake"],
    ["note", "sbatch option --exclusive is accepted but has no effect in the fake"],
  ]);
});

Deno.test("parseRequest() applies directives, then the command line over them; refusals keep their line", () => {
  const text = "#!/bin/sh\n#SBATCH --job-name=a\n#SBATCH --time=bad\n#SBATCH -a 1-3\necho\n";
  const findings = new Findings();
  const req = parseRequest(SBATCH_SYNTAX, ["-J", "b"], text, findings, {});
  assert.equal(req.name, "b");
  assert.deepEqual(req.array, [1, 2, 3]);
  assert.equal(req.lines.get("--array"), 4);
  assert.equal(req.lines.get("--job-name"), undefined, "set last by the command line");
  const errors = findings.list.filter((d) => d.severity === "error");
  assert.deepEqual(errors.map((d) => d.line), [3]);
  assert.match(errors[0].message, /--time 'bad' is not a Slurm time/);
});

Deno.test("parseRequest() keeps qsub's exit codes and warns, as qsub does, of a directive set twice", () => {
  const findings = new Findings();
  parseRequest(
    QSUB_SYNTAX,
    [],
    "#$ -N a\n#$ -l h_rt=1\n#$ -N b -l h_vmem=1G\n#$ -t 1,3\n",
    findings,
    {},
  );
  const repeated = findings.list.filter((d) => /already been set/.test(d.message));
  assert.deepEqual(repeated.map((d) => [d.line, d.message]), [
    [3, '"-N" option has already been set, overriding previous setting'],
  ]);
  assert.equal(findings.exitCode, 7, "a malformed -t is refused with qsub's exit code 7");
});

Deno.test("valueCount() tells a first pass which words are option values and where the script is", () => {
  assert.equal(valueCount(QSUB_OPTIONS, ["-pe", "smp", "2", "s.sh"], 0), 2);
  assert.equal(valueCount(QSUB_OPTIONS, ["s.sh"], 0), null);
  assert.equal(valueCount(SBATCH_OPTIONS, ["--array=1-3", "s.sh"], 0), 0);
  assert.equal(valueCount(SBATCH_OPTIONS, ["-a", "1-3"], 0), 1);
  assert.equal(valueCount(SBATCH_OPTIONS, ["-"], 0), null, "'-' is stdin, not an option");
});

Deno.test("takeFakeOptions() takes the fake's own options out, leaving the face's words in order", () => {
  const fake: FakeOptions = {};
  const { words, rest } = takeFakeOptions(
    ["--slots", "3", "-N", "--strict", "--flavour=sge8", "-t", "1-2", "run.sh", "--slots", "9"],
    fake,
    QSUB_OPTIONS,
    true,
  );
  assert.deepEqual(fake, { slots: 3, flavour: "sge8" });
  assert.deepEqual(words, ["-N", "--strict", "-t", "1-2"], "-N's value stays the face's");
  assert.deepEqual(rest, ["run.sh", "--slots", "9"], "after the script, words are the script's");
  assert.throws(() => takeFakeOptions(["--slots", "0"], {}), /--slots must be a positive integer/);
  assert.throws(() => takeFakeOptions(["--flavour", "lsf"], {}), /--flavour 'lsf' is not known/);
});

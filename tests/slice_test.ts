/**
 * Task specs select exactly what Python's `list[i]` and `list[a:b:c]` select, and comma lists
 * select the union of their parts in order of first appearance.
 */

import assert from "node:assert/strict";
import { ArrayJobError, formatIndices, parseSlice, selectIndices } from "../mod.ts";

Deno.test("an empty spec selects every task", () => {
  assert.deepEqual(selectIndices("", 5), [0, 1, 2, 3, 4]);
  assert.deepEqual(selectIndices("", 0), []);
});

Deno.test("an index selects one task; a negative index counts from the end (the seed's -1 selected nothing)", () => {
  assert.deepEqual(selectIndices("3", 10), [3]);
  assert.deepEqual(selectIndices("-1", 10), [9]);
  assert.deepEqual(selectIndices("-10", 10), [0]);
});

Deno.test("an index outside the list is an error naming the index, the count and the allowed range", () => {
  assert.throws(
    () => selectIndices("10", 10),
    /index 10 is out of range for 10 tasks \(allowed: -10 to 9\)/,
  );
  assert.throws(() => selectIndices("-11", 10), /index -11 is out of range/);
  assert.throws(() => selectIndices("0", 0), /the list is empty/);
});

Deno.test("slices clamp like Python and accept omitted and negative parts", () => {
  assert.deepEqual(selectIndices(":3", 5), [0, 1, 2]);
  assert.deepEqual(selectIndices("3:", 5), [3, 4]);
  assert.deepEqual(selectIndices("::2", 5), [0, 2, 4]);
  assert.deepEqual(selectIndices("::-1", 4), [3, 2, 1, 0]);
  assert.deepEqual(selectIndices("-2:", 5), [3, 4]);
  assert.deepEqual(selectIndices("-100:100", 3), [0, 1, 2]);
  assert.deepEqual(selectIndices("5:2", 10), []);
  assert.deepEqual(selectIndices("5:2:-1", 10), [5, 4, 3]);
  assert.deepEqual(selectIndices("0:10", 0), []);
});

Deno.test("a comma list is the union of its parts in order of first appearance, without duplicates", () => {
  assert.deepEqual(selectIndices("1,5,7:9", 10), [1, 5, 7, 8]);
  assert.deepEqual(selectIndices("7:9,1,8,-1", 10), [7, 8, 1, 9]);
  assert.deepEqual(selectIndices(" 2 , 0 ", 3), [2, 0]);
});

Deno.test("every malformed spec is an error naming the spec and the accepted forms", () => {
  const malformed = [
    "a",
    "1:2:3:4",
    "1.5",
    "--",
    " ",
    "1,",
    ",1",
    "1,,2",
    "1: 2",
    "0x10",
    "1e3",
    "+-1",
    "::0",
    "1:2:0",
    "9007199254740992",
    "-9007199254740993",
    "99999999999999999999:",
    "½",
    "١",
  ];
  for (const spec of malformed) {
    assert.throws(
      () => selectIndices(spec, 10),
      (error: Error) =>
        error instanceof ArrayJobError &&
        error.message.startsWith(`invalid task spec ${JSON.stringify(spec)}`) &&
        error.message.includes("a slice like 0:10") && !error.message.includes("\n"),
      `spec ${JSON.stringify(spec)}`,
    );
  }
});

Deno.test("a step of zero is its own error", () => {
  assert.throws(() => parseSlice("::0"), /a slice step cannot be zero/);
});

Deno.test("selection over a million tasks returns every index once", () => {
  const all = selectIndices("", 1_000_000);
  assert.equal(all.length, 1_000_000);
  assert.equal(all[999_999], 999_999);
  assert.equal(selectIndices("::-3,0:10", 1_000_000).length, 333_334 + 6); // 0, 3, 6 and 9 are already in ::-3
});

Deno.test("formatIndices writes the compact list that parseSlice reads back", () => {
  assert.equal(formatIndices([]), "");
  assert.equal(formatIndices([4]), "4");
  assert.equal(formatIndices([3, 17, 18, 19, 41, 18]), "3,17:20,41");
  const random = Array.from({ length: 200 }, () => Math.floor(Math.random() * 300));
  assert.deepEqual(
    selectIndices(formatIndices(random), 300),
    [...new Set(random)].sort((a, b) => a - b),
  );
});

Deno.test("selection agrees with CPython on 3000 random specs", async () => {
  const optional = () => Math.random() < 0.3 ? "" : String(Math.floor(Math.random() * 31) - 15);
  const cases: { spec: string; count: number }[] = [];
  for (let i = 0; i < 3000; i++) {
    const count = Math.floor(Math.random() * 13);
    const shape = Math.random();
    let spec: string;
    if (shape < 0.2) spec = String(Math.floor(Math.random() * 31) - 15);
    else if (shape < 0.5) spec = `${optional()}:${optional()}`;
    else {
      let step = optional();
      if (step === "0") step = "-1";
      spec = `${optional()}:${optional()}:${step}`;
    }
    cases.push({ spec, count });
  }
  const python = `
import json, sys
out = []
for case in json.load(sys.stdin):
    tasks = list(range(case["count"]))
    fields = [None if f == "" else int(f) for f in case["spec"].split(":")]
    try:
        out.append([tasks[fields[0]]] if len(fields) == 1 else tasks[slice(*fields)])
    except IndexError:
        out.append("IndexError")
print(json.dumps(out))
`;
  const child = new Deno.Command("python3", {
    args: ["-c", python],
    stdin: "piped",
    stdout: "piped",
  })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(cases)));
  await writer.close();
  const { stdout, success } = await child.output();
  assert.ok(success, "python3 ran");
  const expected = JSON.parse(new TextDecoder().decode(stdout));
  cases.forEach(({ spec, count }, i) => {
    let actual: number[] | string;
    try {
      actual = selectIndices(spec, count);
    } catch (error) {
      assert.match((error as Error).message, /out of range/);
      actual = "IndexError";
    }
    assert.deepEqual(actual, expected[i], `${JSON.stringify(spec)} on ${count} tasks`);
  });
});

/** task_set.ts: a set of task indices kept as ranges, whatever the number of tasks. */

import assert from "node:assert/strict";
import { TaskSet } from "../task_set.ts";

Deno.test("TaskSet merges ranges given in any order, overlapping or touching, and drops empty ones", () => {
  const set = new TaskSet([[8, 9], [0, 2], [5, 5], [1, 4], [4, 6]]);
  assert.deepEqual(set.ranges, [[0, 6], [8, 9]]);
  assert.equal(set.length, 7);
  assert.deepEqual([...set], [0, 1, 2, 3, 4, 5, 8]);
  assert.equal(new TaskSet([]).length, 0);
  assert.equal(String(new TaskSet([])), "");
});

Deno.test("TaskSet keeps its own copy of the ranges it was given", () => {
  const given: [number, number][] = [[0, 2]];
  const set = new TaskSet(given);
  given[0]![1] = 99;
  assert.deepEqual(set.ranges, [[0, 2]]);
});

Deno.test("TaskSet.has() and without() work on ranges: 10^9 tasks cost a few entries", () => {
  const all = new TaskSet([[0, 1e9]]);
  const some = TaskSet.of([5, 6, 7, 999_999_999]);
  const rest = all.without(some);
  assert.deepEqual(rest.ranges, [[0, 5], [8, 999_999_999]]);
  assert.equal(rest.length, 1e9 - 4);
  assert.equal(rest.has(4), true);
  assert.equal(rest.has(6), false);
  assert.equal(rest.has(999_999_999), false);
  assert.equal(rest.has(-1), false);
  assert.equal(all.without(all).length, 0);
});

Deno.test("TaskSet's string is the --tasks spec that selects it, capped on request", () => {
  const set = TaskSet.of([3, 17, 18, 19, 41]);
  assert.equal(String(set), "3,17:20,41");
  assert.equal(set.toString(2), "3,17:20,… (1 more range)");
  assert.equal(JSON.stringify({ failed: set }), '{"failed":"3,17:20,41"}');
});

/** `product(...)` is Python's itertools.product, indexable without materialising it. */

import assert from "node:assert/strict";
import { product, selectIndices } from "../mod.ts";

Deno.test("product iterates in Python's order: the last list varies fastest", () => {
  assert.deepEqual([...product([1, 2], ["a", "b"], [true])], [
    [1, "a", true],
    [1, "b", true],
    [2, "a", true],
    [2, "b", true],
  ]);
});

Deno.test("at(i) agrees with iteration for every index, and negative indices count from the end", () => {
  const grid = product([0, 1, 2], ["x", "y"], [10, 20, 30, 40]);
  const all = [...grid];
  assert.equal(grid.length, 24);
  all.forEach((item, i) => {
    assert.deepEqual(grid.at(i), item);
    assert.deepEqual(grid.at(i - 24), item);
  });
  assert.equal(grid.at(24), undefined);
  assert.equal(grid.at(-25), undefined);
});

Deno.test("an empty list makes an empty product; no lists make one empty combination", () => {
  assert.equal(product([1, 2], []).length, 0);
  assert.deepEqual([...product([1, 2], [])], []);
  assert.deepEqual([...product()], [[]]);
});

Deno.test("a grid of 10^12 combinations is indexed at random without materialising it", () => {
  const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const huge = product(...Array.from({ length: 12 }, () => digits));
  assert.equal(huge.length, 1e12);
  for (let n = 0; n < 1000; n++) {
    const index = Math.floor(Math.random() * 1e12);
    assert.equal(huge.at(index)!.join(""), String(index).padStart(12, "0"));
  }
});

Deno.test("a product too large to index exactly is an error", () => {
  const big = Array.from({ length: 1000 }, (_, i) => i);
  assert.throws(() => product(big, big, big, big, big, big), /cannot be indexed exactly/);
});

Deno.test("a comma list of tasks over a product of 10^12 selects without allocating per task", () => {
  const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const huge = product(...Array.from({ length: 12 }, () => digits));
  const indices = selectIndices("1,5,7:9,-1,5", huge.length);
  assert.deepEqual(indices, [1, 5, 7, 8, 1e12 - 1]);
  assert.equal(huge.at(indices[4]!)!.join(""), "999999999999");
});

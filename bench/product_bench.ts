/**
 * `deno bench` of the lazy {@linkcode product}: random access into 10^12 combinations, built
 * from 12 lists of 10 and from 3 lists of 10^4, next to `Array.prototype.at` on a plain array
 * for scale. Building the product and iterating its first combinations are timed too: neither
 * may cost anything that grows with the 10^12.
 *
 * @module
 */

import { product } from "../mod.ts";

const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const twelveLists = Array.from({ length: 12 }, () => digits);
const tenThousand = Array.from({ length: 10_000 }, (_, i) => i);
const deep = product(...twelveLists);
const wide = product(tenThousand, tenThousand, tenThousand);
const plain = Array.from({ length: 1_000_000 }, (_, i) => i);

// The random indices are drawn before timing, so that the bench times .at() and not the
// generator; 4096 of them, so that the branch predictor cannot learn one.
const MASK = 4095;
const randomIndices = (length: number) =>
  Float64Array.from({ length: MASK + 1 }, () => Math.floor(Math.random() * length));
const deepIndices = randomIndices(deep.length);
const wideIndices = randomIndices(wide.length);
const plainIndices = randomIndices(plain.length);
let k = 0;
// Kept in a module variable so that the engine cannot drop the call as dead code.
export let sink: unknown;

Deno.bench("product of 12 lists of 10 (10^12): .at(random i)", {
  group: "at",
  baseline: true,
}, () => {
  sink = deep.at(deepIndices[k++ & MASK]!);
});

Deno.bench("product of 3 lists of 10^4 (10^12): .at(random i)", { group: "at" }, () => {
  sink = wide.at(wideIndices[k++ & MASK]!);
});

Deno.bench("product of 12 lists of 10 (10^12): .at(-1)", { group: "at" }, () => {
  sink = deep.at(-1);
});

Deno.bench("plain array of 10^6 numbers: .at(random i), for scale", { group: "at" }, () => {
  sink = plain.at(plainIndices[k++ & MASK]!);
});

Deno.bench("product(12 lists of 10): construction", { group: "build" }, () => {
  sink = product(...twelveLists);
});

Deno.bench("product(12 lists of 10): first 1000 combinations by iteration", {
  group: "build",
}, () => {
  let count = 0;
  for (const item of deep) {
    sink = item;
    if (++count === 1000) break;
  }
});

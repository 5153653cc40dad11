/**
 * `deno bench` of task selection over 10^6 tasks: {@linkcode parseSlice} alone, and
 * {@linkcode selectIndices} for the specs an array task gets (`START:STOP`), for whole-list and
 * reversed slices, and for comma lists, whose union needs a pass over a 10^6-entry bitmap.
 *
 * @module
 */

import { formatIndices, parseSlice, selectIndices } from "../mod.ts";

const N = 1_000_000;
// Kept in a module variable so that the engine cannot drop the call as dead code.
export let sink: unknown;

Deno.bench('parseSlice("3:4")', { group: "parse", baseline: true }, () => {
  sink = parseSlice("3:4");
});

Deno.bench('parseSlice("1,5,7:9,-1,::-2,100:200:3")', { group: "parse" }, () => {
  sink = parseSlice("1,5,7:9,-1,::-2,100:200:3");
});

Deno.bench('selectIndices("3:4", 10^6): one array task\'s chunk', {
  group: "select",
  baseline: true,
}, () => {
  sink = selectIndices("3:4", N);
});

Deno.bench('selectIndices("500000:500100", 10^6)', { group: "select" }, () => {
  sink = selectIndices("500000:500100", N);
});

Deno.bench('selectIndices("-1", 10^6)', { group: "select" }, () => {
  sink = selectIndices("-1", N);
});

Deno.bench('selectIndices("", 10^6): all tasks', { group: "select all" }, () => {
  sink = selectIndices("", N);
});

Deno.bench('selectIndices("::-1", 10^6): all, reversed', { group: "select all" }, () => {
  sink = selectIndices("::-1", N);
});

Deno.bench('selectIndices("::7", 10^6)', { group: "select all" }, () => {
  sink = selectIndices("::7", N);
});

Deno.bench('selectIndices("0:600000,400000:", 10^6): overlapping union', {
  group: "select all",
}, () => {
  sink = selectIndices("0:600000,400000:", N);
});

Deno.bench('selectIndices("1,5,7:9", 10^6): short comma list', { group: "select" }, () => {
  sink = selectIndices("1,5,7:9", N);
});

const scattered = Array.from({ length: 10_000 }, (_, i) => i * 97);
Deno.bench("formatIndices of 10^4 scattered failed indices", { group: "format" }, () => {
  sink = formatIndices(scattered);
});

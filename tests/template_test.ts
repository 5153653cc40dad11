/**
 * template.ts: strict Mustache. A variable tag without a value is an error naming every such tag;
 * a section without one is left out; partials other than the body and prototype names are refused.
 */

import assert from "node:assert/strict";
import { renderScript } from "../template.ts";

Deno.test("renderScript is strict about variable tags and lenient about sections", async () => {
  assert.equal(await renderScript("{{a}}-{{{b}}}-{{&c}}", { a: "<", b: 0, c: false }), "<-0-false");
  await assert.rejects(
    () => renderScript("{{#s}}{{missing}}{{/s}}", { s: true }),
    /\{\{missing\}\}/,
  );
  assert.equal(await renderScript("x{{#s}}{{missing}}{{/s}}{{^t}}!{{/t}}", {}), "x!");
  assert.equal(await renderScript("{{#list}}[{{.}}]{{/list}}", { list: ["a", "b"] }), "[a][b]");
  await assert.rejects(() => renderScript("{{#open}}", {}), /template does not parse/);
});

Deno.test("renderScript names every missing tag at once; partials and prototype names are refused", async () => {
  await assert.rejects(
    () => renderScript("{{a}} {{#s}}{{b}}{{/s}} {{c}} {{a}}", { s: true }),
    /no value for tags \{\{a\}\}, \{\{b\}\}, \{\{c\}\};/,
  );
  await assert.rejects(() => renderScript("{{> x}}", {}), /\{\{> x\}\} includes a partial/);
  for (const name of ["constructor", "toString", "__proto__", "a.constructor", "hasOwnProperty"]) {
    await assert.rejects(() => renderScript(`{{${name}}}`, { a: {} }), /is not a plain value name/);
  }
  assert.equal(await renderScript("{{a.b}}", { a: { b: 1 } }), "1");
});

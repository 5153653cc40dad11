/**
 * Templates: strict Mustache ({@linkcode renderScript}), the built-in templates (a header per
 * scheduler and the shared shell body), and what a template uses.
 *
 * @example Rendering a template strictly
 * ```ts
 * import { renderScript } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await renderScript("#$ -N {{job_name}}\n", { job_name: "fit" }), "#$ -N fit\n");
 * ```
 *
 * @module
 */

import { ArrayJobError } from "./mod.ts";
import { dialectOf, type Scheduler } from "./dialects.ts";
import { plainName } from "./template_values.ts";
import BODY from "./templates/body.mustache" with { type: "text" };
import SGE_TEMPLATE from "./templates/sge.mustache" with { type: "text" };
import SLURM_TEMPLATE from "./templates/slurm.mustache" with { type: "text" };

// Not a literal import, so that `arrayjob status`, which loads the rendering modules for the
// options, never needs npm:mustache (a cold cache without network would fail it).
const MUSTACHE = "./_mustache.ts";

const TEMPLATES: Record<Scheduler, string> = { sge: SGE_TEMPLATE, slurm: SLURM_TEMPLATE };

/**
 * Renders a Mustache template with strict missing tags, like pystache's
 * `Renderer(missing_tags="strict")`: a variable tag whose value is absent (`undefined` or
 * `null`) is an error naming the tag, while a section (`{{#x}}…{{/x}}`) whose value is absent is
 * simply left out. Values are inserted as they are, without HTML escaping: the templates are
 * shell scripts, and {@linkcode clusterScript} quotes every value before it gets here.
 *
 * @param template The Mustache template text.
 * @param values The view: tag names to values.
 * @param partials Templates that `{{> name}}` includes; the built-in shell body is `body`.
 * @returns The rendered text.
 * @throws {ArrayJobError} When a variable tag has no value, or the template does not parse.
 *
 * @example Strict tags, optional sections
 * ```ts
 * import { renderScript } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * const template = "#$ -N {{job_name}}\n{{#queue}}#$ -q {{.}}\n{{/queue}}";
 * assert.equal(await renderScript(template, { job_name: "fit" }), "#$ -N fit\n");
 * await assert.rejects(() => renderScript(template, {}), /no value for tag \{\{job_name\}\}/);
 * ```
 */
export async function renderScript(
  template: string,
  values: Record<string, unknown>,
  partials: Record<string, string> = { body: BODY },
): Promise<string> {
  const writer = await strictWriter();
  let text: string;
  const missing = new Set<string>();
  try {
    checkTags(writer.parse(template), partials);
    missingTags = missing;
    text = writer.render(template, values, partials, { escape: String });
  } catch (error) {
    if (error instanceof ArrayJobError) throw error;
    throw new ArrayJobError(`template does not parse: ${(error as Error).message}`);
  } finally {
    missingTags = undefined;
  }
  if (missing.size > 0) {
    const tags = [...missing].map((name) => `{{${name}}}`);
    throw new ArrayJobError(
      `template has no value for ${tags.length === 1 ? "tag" : "tags"} ${tags.join(", ")}; ` +
        `give ${tags.length === 1 ? "it a value" : "each a value"} (--set NAME=VALUE) or wrap ` +
        `it in a section {{#NAME}}…{{/NAME}} to make it optional ('arrayjob templates --values' ` +
        `lists the values)`,
    );
  }
  return text;
}
let writerOnce: Promise<MustacheWriter> | undefined;
// The variable tags without a value in the render under way: rendering is synchronous, so the
// one writer collects them all and renderScript names every one in a single error.
let missingTags: Set<string> | undefined;

// A tag names a plain value: identifiers, dotted for a value's field. Names an object has from
// its prototype (constructor, toString, __proto__) would render JavaScript internals; a partial
// other than those offered would render nothing. Both are errors, all listed at once.
function checkTags(tokens: unknown[][], partials: Record<string, string>): void {
  const problems: string[] = [];
  const walk = (list: unknown[][]): void => {
    for (const token of list) {
      const [type, name] = token as [string, string];
      if (type === ">" && !Object.hasOwn(partials, name)) {
        problems.push(
          `{{> ${name}}} includes a partial, which a template cannot use` +
            (Object.keys(partials).length > 0
              ? ` (only ${Object.keys(partials).map((p) => `{{> ${p}}}`).join(", ")} exists)`
              : ""),
        );
      } else if (["name", "&", "#", "^"].includes(type) && name !== "." && !plainName(name)) {
        problems.push(`{{${name}}} is not a plain value name`);
      }
      if (Array.isArray(token[4])) walk(token[4] as unknown[][]);
    }
  };
  walk(tokens);
  if (problems.length > 0) {
    throw new ArrayJobError(
      `is refused: ${[...new Set(problems)].join("; ")} ('arrayjob templates --values' ` +
        `lists the values)`,
      "template",
    );
  }
}

type MustacheWriter = InstanceType<typeof import("./_mustache.ts").default.Writer>;

// One Writer for the process: it caches parsed templates, six times faster over 10^4 renders
// (bench/render_bench.ts, bench/RESULTS.md).
function strictWriter(): Promise<MustacheWriter> {
  writerOnce ??= (async () => {
    const { default: Mustache } = await import(MUSTACHE) as typeof import("./_mustache.ts");
    const writer = new Mustache.Writer();
    const strict = (token: string[], context: { lookup(name: string): unknown }): string => {
      const value = context.lookup(token[1]!);
      if (value === undefined || value === null) {
        missingTags?.add(token[1]!);
        return "";
      }
      return String(value);
    };
    // mustache.js has no strict mode; its Writer looks every variable tag up through these two.
    Object.assign(writer, { escapedValue: strict, unescapedValue: strict });
    return writer;
  })();
  return writerOnce;
}

/**
 * A built-in template, to print, copy and edit: a scheduler's header, which includes the shared
 * shell body with `{{> body}}`, or (`"body"`) that body. {@linkcode renderScript} always offers
 * the body as a partial, so an edited header keeps the built-in body, and a template that is a
 * whole script needs none. {@linkcode TEMPLATE_VALUES} lists the values a template can use;
 * every value is already quoted for where the built-in templates put it.
 *
 * @param scheduler Which scheduler's template, or `"body"` for the shared shell body.
 * @returns The template text.
 *
 * @example The Grid Engine template keeps the seed's shape
 * ```ts
 * import { builtinTemplate } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(builtinTemplate("sge"), /^#\$ -t 1-\{\{\{num_array_tasks\}\}\}$/m);
 * assert.match(builtinTemplate("body"), /^START_TASK=\$\(\(\{\{\{chunk_number\}\}\} \* STEP_SIZE\)\)$/m);
 * ```
 */
export function builtinTemplate(scheduler: Scheduler | "body"): string {
  return scheduler === "body" ? BODY : TEMPLATES[dialectOf(scheduler).name];
}

/**
 * Whether the array tasks of a job rendered with these options keep records: not when records
 * are turned off, nor when the job's own template has no `{{#record_dir}}` block (the seed's).
 * Without records, which tasks succeeded is unknown: status says the job is not tracked.
 *
 * @param options The job's options, as its manifest keeps them.
 * @returns True when every array task writes its record.
 *
 * @example
 * ```ts
 * import { keepsRecords } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(keepsRecords({}), true);
 * assert.equal(keepsRecords({ template: "#!/bin/sh\n{{{command}}}\n" }), false);
 * assert.equal(keepsRecords({ template: "#!/bin/sh\n{{> body}}\n" }), true);
 * assert.equal(keepsRecords({ records: false }), false);
 * ```
 */
export function keepsRecords(options: { template?: string; records?: boolean }): boolean {
  return options.records !== false &&
    (options.template === undefined || templateNames(options.template, "record_dir"));
}

/**
 * Whether a template, or the built-in body it includes with `{{> body}}`, uses a value: as a
 * section or as a variable.
 *
 * @param template The template text.
 * @param name The value's name.
 * @returns Whether it uses it.
 *
 * @example
 * ```ts
 * import { templateNames } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(templateNames("#!/bin/sh\n{{> body}}\n", "record_dir"));
 * assert.ok(!templateNames("#!/bin/sh\necho {{{job_name}}}\n", "record_dir"));
 * ```
 */
export function templateNames(template: string, name: string): boolean {
  if (/\{\{>\s*body\s*\}\}/.test(template) && templateNames(BODY, name)) return true;
  return template.includes(`{{#${name}}}`) || template.includes(`{{{${name}}}}`) ||
    template.includes(`{{${name}}}`);
}

/**
 * Checks a user's template ({@linkcode ClusterScriptOptions.template}) is text and not empty: a
 * mistyped path to an empty file would render nothing.
 *
 * @param template The template, as read.
 * @throws {ArrayJobError} When it is empty or not text, with `option` set to `template`.
 *
 * @example
 * ```ts
 * import { checkUserTemplate } from "./template.ts";
 * import assert from "node:assert/strict";
 *
 * checkUserTemplate("#!/bin/sh\n{{> body}}\n");
 * assert.throws(() => checkUserTemplate("  \n"), /^ArrayJobError: template is empty/);
 * ```
 */
export function checkUserTemplate(template: unknown): void {
  if (typeof template !== "string" || template.trim() === "") {
    throw new ArrayJobError(
      "is empty: expected a Mustache template (see 'arrayjob templates')",
      "template",
    );
  }
  // A file read as text turns bytes that are not UTF-8 into U+FFFD.
  if (template.includes("\0") || template.includes("\uFFFD")) {
    throw new ArrayJobError(
      "is not text (it has NUL bytes or is not UTF-8): expected a Mustache template",
      "template",
    );
  }
}

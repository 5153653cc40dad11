/**
 * A program's own script: the options of the array job that runs a runTasks program itself
 * (`runTasks --cluster-script`), with this Deno, the permissions this process was granted and
 * the program's path, and which such jobs are the same job.
 *
 * @example
 * ```ts
 * import { programOptions } from "./own_script.ts";
 * import assert from "node:assert/strict";
 *
 * const options = programOptions(4, "/home/me/sweep.ts", { deno: "deno" });
 * assert.deepEqual(options.command.slice(0, 3), ["deno", "run", "--cached-only"]);
 * ```
 *
 * @module
 */

import * as path from "node:path";
import { RECORD_VARIABLE } from "./mod.ts";
import {
  defaultJobName,
  printNotice,
  RECORDS_DIR,
  resolveOutputDir,
  type WriteClusterScriptsOptions,
} from "./script_options.ts";

/**
 * The options of the script that runs a program itself (`runTasks --cluster-script`): the
 * command is this Deno (`deno run --cached-only`, since compute nodes often have no network and
 * this run has just filled the cache) with the permissions this process was granted, and the
 * program; the job name defaults to the program's stem.
 *
 * @param numTasks The number of tasks in the program's list.
 * @param program The program's path or URL.
 * @param settings The other options.
 * @returns The options for {@linkcode renderJob}.
 *
 * @example
 * ```ts
 * import { programOptions } from "./own_script.ts";
 * import assert from "node:assert/strict";
 *
 * const options = programOptions(6, "/home/me/sweep.ts", { step: 2 });
 * assert.equal(options.jobName, "sweep");
 * assert.deepEqual(options.command.slice(1, 3), ["run", "--cached-only"]);
 * assert.equal(options.command.at(-1), "/home/me/sweep.ts");
 * ```
 */
export function programOptions(
  numTasks: number,
  program: string | URL,
  settings: Partial<WriteClusterScriptsOptions>,
): WriteClusterScriptsOptions {
  const url = new URL(program, `file://${Deno.cwd()}/`);
  const programWord = url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href;
  const jobName = settings.jobName ?? defaultJobName(["deno", programWord]);
  const recordsDir = path.join(resolveOutputDir(settings, jobName), RECORDS_DIR);
  const permissions = grantedPermissionFlags(recordsDir);
  const { deno: chosen, ...rest } = settings;
  let deno = chosen;
  if (deno === undefined) {
    const where = unsharedPlace(Deno.execPath());
    deno = where === undefined ? Deno.execPath() : "deno";
    if (where !== undefined) {
      (settings.onNotice ?? printNotice)(
        `this Deno is in ${where}, which compute nodes are unlikely to share: the script runs ` +
          `deno from their PATH (--deno PATH names another)`,
      );
    }
  }
  const command = [deno, "run", PROGRAM_RUN, ...permissions, programWord];
  return { ...rest, numTasks, command, jobName, scriptFile: programWord, taskLists: true };
}

// Array tasks run from the cache this run filled: compute nodes often have no network.
const PROGRAM_RUN = "--cached-only";

/**
 * Where a program lives that compute nodes are unlikely to see, or `undefined`: npx's private
 * cache (`npx -y deno@2` unpacks Deno there, and clears it at will), another package runner's
 * cache (pnpm dlx, yarn dlx, bunx), or a temporary directory.
 *
 * @param file An absolute path, such as `Deno.execPath()`.
 * @returns A short description of the place, or `undefined` for a path worth sharing.
 *
 * @example
 * ```ts
 * import { unsharedPlace } from "./own_script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(unsharedPlace("/home/me/.npm/_npx/4f3a/node_modules/deno/deno"), "npx's cache");
 * assert.equal(unsharedPlace("/tmp/x/deno"), "a temporary directory");
 * assert.equal(unsharedPlace("/home/me/.deno/bin/deno"), undefined);
 * assert.equal(unsharedPlace("/usr/lib/node_modules/deno/deno"), undefined); // npm install -g
 * ```
 */
export function unsharedPlace(file: string): string | undefined {
  if (/\/_npx\//.test(file)) return "npx's cache";
  // pnpm dlx, yarn dlx and bunx keep theirs here; a global npm install (/usr/lib/node_modules)
  // is an install like any other.
  if (/\/\.cache\/(pnpm|yarn)\/|\/\.bun\/install\/cache\//.test(file)) {
    return "a package runner's cache";
  }
  if (/^\/(tmp|var\/tmp|dev\/shm|private\/var\/folders)\//.test(file)) {
    return "a temporary directory";
  }
  return undefined;
}

/**
 * Whether two commands run the same job's tasks: the same words, except that for a program's
 * own command ({@linkcode programOptions}) only the program counts, so that rendering again
 * with other permissions or another Deno is the same job.
 *
 * @param a One job's command.
 * @param b The other's.
 * @returns Whether the tasks are the same.
 *
 * @example
 * ```ts
 * import { sameJobCommand } from "./own_script.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(sameJobCommand(["deno", "run", "--cached-only", "-A", "/a.ts"], ["/x/deno", "run", "--cached-only", "--allow-env", "/a.ts"]));
 * assert.ok(!sameJobCommand(["python3", "a.py"], ["python3", "b.py"]));
 * ```
 */
export function sameJobCommand(a: readonly string[], b: readonly string[]): boolean {
  const program = (command: readonly string[]) =>
    command[1] === "run" && command[2] === PROGRAM_RUN ? command.at(-1) : undefined;
  if (program(a) !== undefined && program(b) !== undefined) return program(a) === program(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

// The array tasks get the permissions this process was granted in full, so that a script run
// with -A, or with --allow-read --allow-write, behaves the same on the cluster.
// Beyond those, an array task needs to read its record variable and write its record.
function grantedPermissionFlags(recordsDir: string): string[] {
  const names = ["read", "write", "net", "env", "run", "sys", "ffi", "import"] as const;
  const granted = names.filter((name) =>
    Deno.permissions.querySync({ name } as Deno.PermissionDescriptor).state === "granted"
  );
  if (granted.length === names.length) return ["--allow-all"];
  const flags = granted.map((name) => `--allow-${name}`);
  if (!granted.includes("env")) flags.push(`--allow-env=${RECORD_VARIABLE}`);
  if (!granted.includes("write")) flags.push(`--allow-write=${recordsDir}`);
  return flags;
}

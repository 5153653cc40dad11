/**
 * `arrayjob install`: puts an `arrayjob` command (and, when no deno is on PATH, this Deno) into a
 * directory.
 *
 * @example
 * ```ts
 * import { INSTALL_COMMAND } from "./cli_install.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await INSTALL_COMMAND.run(["here"]), /install takes no "here"/);
 * ```
 *
 * @module
 */

import { ArrayJobError, shellQuote } from "./mod.ts";
import { type Command, parseOptions, VERSION } from "./cli_command.ts";

/**
 * `arrayjob install [--dir DIR]`: writes DIR/arrayjob, and DIR/deno when none is on PATH.
 *
 * @example
 * ```ts
 * import { INSTALL_COMMAND } from "./cli_install.ts";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(async () => await INSTALL_COMMAND.run(["here"]), /install takes no "here"/);
 * ```
 */
export const INSTALL_COMMAND: Command = {
  synopsis: "install [--dir DIR]",
  summary: ["put the arrayjob command (and deno, when none is on PATH) into DIR"],
  about: `Usage: arrayjob install [--dir DIR]

Writes DIR/arrayjob, which runs this cli.ts with the deno on PATH or, when there is none,
with the Deno that 'npx -y deno@2' fetches. When no deno is on PATH, also copies the Deno
running this command to DIR/deno: the one 'npx -y deno@2 task install' unpacked into
npx's cache, which npx may clear, and which compute nodes cannot see.`,
  options: [{
    flag: "dir",
    type: "string",
    value: "DIR",
    help: ["where to install (default: ~/.local/bin, which login shells put on PATH)"],
  }],
  run: install,
};

async function install(args: string[]): Promise<number> {
  const { values, positionals } = parseOptions(args, INSTALL_COMMAND.options!);
  if (positionals.length > 0) {
    throw new ArrayJobError(`install takes no ${JSON.stringify(positionals[0])}: only --dir DIR`);
  }
  const home = Deno.env.get("HOME");
  const dir = (values.dir as string | undefined) ?? (home ? `${home}/.local/bin` : undefined);
  if (dir === undefined) throw new ArrayJobError("install needs --dir DIR: HOME is not set");
  const searchPath = (Deno.env.get("PATH") ?? "").split(":").filter((entry) => entry !== "");
  const onPath = (name: string) =>
    searchPath.find((entry) => {
      try {
        return Deno.statSync(`${entry}/${name}`).isFile;
      } catch {
        return false;
      }
    });
  await Deno.mkdir(dir, { recursive: true });
  // What the command runs: cli.ts, beside this file.
  const cli = new URL("./cli.ts", import.meta.url);
  const target = shellQuote(cli.protocol === "file:" ? decodeURIComponent(cli.pathname) : cli.href);
  const run = `run --allow-all --quiet --no-config ${target} "$@"`;
  await writeExecutable(
    `${dir}/arrayjob`,
    `#!/bin/sh\n# arrayjob ${VERSION}, written by 'arrayjob install'. Without a deno on PATH, the\n` +
      `# Deno that npx fetches.\n` +
      `command -v deno >/dev/null 2>&1 && exec deno ${run}\nexec npx -y deno@2 ${run}\n`,
  );
  console.log(`installed ${dir}/arrayjob (runs ${target})`);
  const deno = onPath("deno");
  if (deno === undefined) {
    await Deno.copyFile(Deno.execPath(), `${dir}/deno.tmp`);
    await Deno.chmod(`${dir}/deno.tmp`, 0o755);
    await Deno.rename(`${dir}/deno.tmp`, `${dir}/deno`);
    console.log(`installed ${dir}/deno (a copy of ${Deno.execPath()}, Deno ${Deno.version.deno})`);
  } else {
    console.log(`kept the deno on PATH: ${deno}/deno`);
  }
  if (!searchPath.includes(dir)) {
    console.log(
      `${dir} is not on PATH: add it, e.g. echo 'export PATH="${dir}:$PATH"' >> ~/.profile`,
    );
  }
  return 0;
}

async function writeExecutable(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  await Deno.writeTextFile(temporary, text, { mode: 0o755 });
  await Deno.chmod(temporary, 0o755);
  await Deno.rename(temporary, path);
}

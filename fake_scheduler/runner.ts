/**
 * A long-lived starter process per slot, so that a slot whose task has ended starts its next task
 * at once, as `xargs` does, instead of waiting for the fake's own thread: there a task's exit is
 * noticed 0.2 ms late, and each `node:child_process` spawn blocks the thread 0.3 ms, during which
 * the other slot's finished task waits too. The runner is a small Python loop: it is handed the
 * slot's next task while the current one runs, reaps the current one in a blocking wait, and
 * starts the next at once with `subprocess.Popen` (a vfork since Python 3.10, as Deno's own spawn
 * is). 2000 tasks of a trivial script on 2 slots: 1.00–1.07× `xargs -P 2` in wall time, against
 * 1.11–1.17× for the fake spawning each task itself (bench/compare.ts, alternated runs).
 *
 * Python, not `/bin/sh`: a shell cannot tell `exit 143` from a death by SIGTERM, runs background
 * jobs with SIGINT ignored, reads a pipe one byte per system call and cannot hand a program an
 * exact environment. Not Perl: its `fork` copies a large interpreter's page tables and faults on
 * every page it then touches (three times the page faults, 25% more CPU in all). Where no Python
 * 3.8+ is found, {@link startRunner} returns undefined and the core spawns each task itself.
 *
 * @module
 */

import { type ChildProcess, spawn } from "node:child_process";

// The protocol. Deno → runner, per task, NUL-terminated fields (no value can hold a NUL: paths,
// argv and environment are C strings): append (1/0), merged stderr (1/0), new session (1/0), cwd,
// stdout path, stderr path, argc, argv..., number of variables, then name and value of each.
// Runner → Deno, lines: "R" once ready; then per task either "S <wait status>" (it never ran) or
// "P <pid>" once started and "X <wait status> <microseconds>" once reaped.
//
// Per task, as the core's own spawn does it: the logs are opened as `>`/`>>` would (a log that
// cannot be opened: status 2 and no message, like a failed `exec >LOG`), then the cwd, then the
// program is looked up on the task's own PATH and exec'd with exactly the task's environment, all
// signals at their defaults, stdin /dev/null; a cwd or program that cannot be used gives 127
// (ENOENT) or 126 and the message in the error log; an executable without `#!` runs under /bin/sh.
//
// The runner ignores SIGINT (Ctrl-C reaches the tasks, and the fake, which decides what happens
// next); SIGTERM makes it kill its current task, also one whose pid has not been reported yet, and
// exit. At the end of its input it exits.
const SCRIPT = String.raw`
import errno, os, signal, subprocess, sys, time
if sys.version_info < (3, 8): sys.exit(3)
child, spawning, stopping = None, False, False
def stop():
    for target in (-child.pid, child.pid) if child else ():
        try: os.kill(target, signal.SIGKILL)
        except OSError: pass
    os._exit(0)
def on_term(*_):
    global stopping
    stopping = True
    if not spawning: stop()
# Handled, not ignored, and none blocked: a task starts with its signals at their defaults.
signal.signal(signal.SIGINT, lambda *_: None)
signal.signal(signal.SIGTERM, on_term)
signal.pthread_sigmask(signal.SIG_SETMASK, [])
null = os.open("/dev/null", os.O_RDONLY)
buffered = b""
def field():
    global buffered
    while True:
        end = buffered.find(b"\0")
        if end >= 0:
            value, buffered = buffered[:end], buffered[end + 1:]
            return value
        chunk = os.read(0, 65536)
        if not chunk: os._exit(0)
        buffered += chunk
def say(line):
    try: os.write(1, line.encode() + b"\n")
    except OSError: stop()  # the fake has gone: so must its task
def which(name, path):
    for d in (path if path is not None else os.defpath.encode()).split(b":"):
        candidate = os.path.join(d or b".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK): return candidate
    return name
def spawn(argv, cwd, env, o, e, session):
    options = dict(stdin=null, stdout=o, stderr=e, cwd=cwd, env=env, start_new_session=session)
    try:
        return subprocess.Popen(argv, **options)
    except OSError as x:
        if x.errno != errno.ENOEXEC: raise
    # As execvp does: a file the kernel cannot run is a script for /bin/sh.
    path = argv[0] if b"/" in argv[0] else which(argv[0], env.get(b"PATH"))
    return subprocess.Popen([b"/bin/sh", path] + argv[1:], **options)
def cannot(x, program, fd):
    code = errno.errorcode.get(x.errno, str(x.errno))
    why = {errno.ENOENT: b"not found", errno.EACCES: b"Permission denied"}.get(
        x.errno, b"spawn " + program + b" " + code.encode())
    try: os.write(fd, b"exec: " + program + b": " + why + b"\n")
    except OSError: pass
    return 127 if x.errno == errno.ENOENT else 126
say("R")
while True:
    append, merged, session, cwd, out, err = [field() for _ in range(6)]
    argv = [field() for _ in range(int(field()))]
    env = {}
    for _ in range(int(field())):
        name = field()
        env[name] = field()
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append == b"1" else os.O_TRUNC)
    o = e = -1
    try:
        o = os.open(out, flags, 0o666)
        e = o if merged == b"1" else os.open(err, flags, 0o666)
    except OSError:
        if o >= 0: os.close(o)
        say("S %d" % (2 << 8))
        continue
    started = time.monotonic_ns()
    try:
        spawning = True
        try: child = spawn(argv, cwd, env, o, e, session == b"1")
        finally: spawning = False
    except OSError as x:
        say("S %d" % (cannot(x, argv[0], e) << 8))
    finally:
        os.close(o)
        if e != o: os.close(e)
    if stopping: stop()
    if not child: continue
    say("P %d" % child.pid)
    code = child.wait()
    child = None
    say("X %d %d" % (-code if code < 0 else code << 8, (time.monotonic_ns() - started) // 1000))
`;

/** What the runner is to start: one task process. */
export interface Launch {
  /** Program and arguments; the program is looked up on the task's own `PATH` when bare. */
  argv: string[];
  /** Working directory. */
  cwd: string;
  /** The complete environment. */
  env: Record<string, string>;
  /** File for stdout. */
  stdoutPath: string;
  /** File for stderr, or null to share stdout's descriptor. */
  stderrPath: string | null;
  /** Open the logs as `>>` would rather than `>`. */
  append: boolean;
  /** Put the task in a session (and process group) of its own, as a detached spawn does. */
  newSession: boolean;
}

/** How a task ended: its wait status and how long it ran, spawn to reap, as the runner saw it. */
export interface Reaped {
  status: number;
  durationMs: number;
}

/** The start of a queued task: its pid and its end, or the status of a task that never ran. */
export type Start = { pid: number; exited: Promise<Reaped> } | { status: number };

/** One runner process: it runs one task at a time, in the order they were queued. */
export interface Runner {
  /** The runner's own pid (on SIGTERM it kills its current task and exits). */
  readonly pid: number;
  /**
   * Queue a task: the runner starts it once the task before it has ended. At most one task may
   * wait in the queue, and each must be followed by a {@link Runner.started} call.
   */
  queue(launch: Launch): Promise<void>;
  /** The start of the next queued task, in queue order. */
  started(): Promise<Start>;
  /** Let the runner exit once its tasks are done, and wait until it has. */
  close(): Promise<void>;
}

/**
 * Whether a job's tasks can go through a runner: every variable name must be one Python can put in
 * an environment (not empty, no `=`), as every name a real environment holds is.
 */
export function runnerCanRun(env: Record<string, string>): boolean {
  for (const name in env) if (name === "" || name.includes("=")) return false;
  return true;
}

let unavailable = false;

/**
 * Start a runner and wait until it is ready, or return undefined when there is no Python 3.8+ to
 * run it with (or no permission to run one); then the caller starts its tasks itself, and later
 * calls return undefined at once.
 */
export async function startRunner(): Promise<Runner | undefined> {
  if (unavailable) return undefined;
  let child: ChildProcess;
  try {
    // node:child_process, as the core's own spawn: a Deno.Command child starts with glibc's
    // signals 32 and 33 ignored, which the runner would hand on to every task.
    child = spawn(python(), ["-I", "-S", "-c", SCRIPT], {
      stdio: ["pipe", "pipe", "inherit"],
      // Nothing of the caller's environment may reach the tasks through the runner's; -I -S:
      // nor the caller's PYTHON* variables, user site or site packages.
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    });
  } catch {
    unavailable = true;
    return undefined;
  }
  const stdin = child.stdin!;
  const lines = new Lines();
  const gone = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve()); // never started: no "R" comes
  }).then(() => lines.end());
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (text: string) => lines.push(text));
  // A runner that died is reported by the reply that never comes, not by the write.
  stdin.on("error", () => {});
  const close = async () => {
    stdin.end();
    await gone;
  };
  if ((await lines.next()) !== "R" || child.pid === undefined) {
    await close();
    unavailable = true;
    return undefined;
  }
  const reply = async (): Promise<string[]> => {
    const line = await lines.next();
    if (line === undefined) throw new Error("the fake scheduler's task runner exited unexpectedly");
    return line.split(" ");
  };
  return {
    pid: child.pid,
    queue: (launch) => {
      stdin.write(encode(launch));
      return Promise.resolve();
    },
    async started() {
      const [kind, value] = await reply();
      if (kind === "S") return { status: Number(value) };
      if (kind !== "P") throw new Error(`task runner: unexpected reply '${kind} ${value}'`);
      // Asked for now, before any later start: the replies come in this order.
      const exited = reply().then(([kind, status, micros]) => {
        if (kind !== "X") throw new Error(`task runner: unexpected reply '${kind} ${status}'`);
        return { status: Number(status), durationMs: Number(micros) / 1000 };
      });
      return { pid: Number(value), exited };
    },
    close,
  };
}

// The system's Python where there is one: a `python3` found first on PATH may be a version
// manager's shim, which takes 50 ms to start the same Python.
function python(): string {
  try {
    if (Deno.statSync("/usr/bin/python3").isFile) return "/usr/bin/python3";
  } catch {
    // Not there: whichever PATH finds.
  }
  return "python3";
}

function encode(launch: Launch): string {
  const fields = [
    launch.append ? "1" : "0",
    launch.stderrPath === null ? "1" : "0",
    launch.newSession ? "1" : "0",
    launch.cwd,
    launch.stdoutPath,
    launch.stderrPath ?? "",
    String(launch.argv.length),
    ...launch.argv,
  ];
  // Sorted by name, as the spawn of node:child_process in Deno passes them.
  const names = Object.keys(launch.env).sort();
  fields.push(String(names.length));
  for (const name of names) fields.push(name, launch.env[name]);
  for (const field of fields) {
    if (field.includes("\0")) {
      throw new TypeError(`a task's argv, environment and paths cannot contain NUL: '${field}'`);
    }
  }
  return fields.join("\0") + "\0";
}

// The runner's replies, line by line; next() calls are answered in the order they were made.
class Lines {
  #partial = "";
  #lines: string[] = [];
  #waiting: ((line: string | undefined) => void)[] = [];
  #ended = false;

  push(text: string): void {
    const parts = (this.#partial + text).split("\n");
    this.#partial = parts.pop()!;
    for (const line of parts) {
      const waiter = this.#waiting.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    }
  }

  end(): void {
    this.#ended = true;
    for (const waiter of this.#waiting.splice(0)) waiter(undefined);
  }

  next(): Promise<string | undefined> {
    if (this.#lines.length > 0) return Promise.resolve(this.#lines.shift());
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

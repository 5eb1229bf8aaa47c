/**
 * Runs src/main.ts as its own process on the runtime under test, as an operator
 * would run vane (or the executable named by `VANE_BIN`, e.g. dist/vane), and collects
 * its output. Every child is killed by `killAll()`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DENO_RUN_FLAGS } from "../../src/runtime/deno-flags.ts";

const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));
const children = new Set<ChildProcess>();
/** Processes a test did not start itself but must stop: the new vane of an upgrade. */
const adopted = new Set<number>();

export interface VaneProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process exited and its output ended. */
  exited: Promise<number | null>;
  /**
   * Resolves with the exit code as the process exits, even while a process it started
   * (the new vane of an upgrade, which shares its output) keeps the output open.
   */
  exitCode: Promise<number | null>;
}

/**
 * `env` is added to this process's environment for the child. `ulimit` runs vane under
 * those limits (the arguments of bash's ulimit, e.g. "-n 256"): bash sets them and
 * execs vane, so the child's pid is vane's.
 */
export function spawnVane(
  args: string[],
  env: Record<string, string> = {},
  opts: { ulimit?: string } = {},
): VaneProcess {
  const isDeno = "Deno" in globalThis;
  let cmd = process.execPath;
  // On Deno as `npm run vane` starts it (src/runtime/deno-flags.ts).
  let argv = isDeno ? ["run", ...DENO_RUN_FLAGS, MAIN, ...args] : [MAIN, ...args];
  // VANE_BIN=dist/vane: the compiled executable instead of src/main.ts, to test what ships.
  if (process.env.VANE_BIN) [cmd, argv] = [process.env.VANE_BIN, [...args]];
  if (opts.ulimit !== undefined) {
    argv = ["-c", `ulimit ${opts.ulimit} && exec "$@"`, "vane", cmd, ...argv];
    cmd = "bash";
  }
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      children.delete(child);
      resolve(code);
    })
  );
  const exitCode = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited, exitCode };
}

/**
 * Sends a signal by pid. Deno's child_process reports an exit of (null, SIGTERM) after
 * `child.kill()` even when the child handled the signal and exited 0, which would hide
 * the exit code under test.
 */
export function signal(p: VaneProcess, sig: "SIGTERM" | "SIGINT"): void {
  process.kill(p.child.pid!, sig);
}

/** Has `killAll()` stop `pid` too: a process started by one of the test's (vane upgrade's new vane). */
export function adopt(pid: number): void {
  adopted.add(pid);
}

export function killAll(): void {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
  for (const pid of adopted) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  adopted.clear();
}

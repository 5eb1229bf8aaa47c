/**
 * Runs a command to its end (shell scripts, compiled binaries, systemd-analyze) and
 * returns its exit code and output; a long-running one is started with `startCommand`
 * and stopped by `stopCommands()`.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Replace the environment instead of adding to this process's. */
  cleanEnv?: boolean;
  timeoutMs?: number;
}

function envFor(opts: CommandOptions): Record<string, string | undefined> {
  return opts.cleanEnv ? { ...opts.env } : { ...process.env, ...opts.env };
}

/** Runs `cmd args` and resolves when it exits (killed after `timeoutMs`, default 60 s). */
export function runCommand(cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: envFor(opts), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const running = new Set<ChildProcess>();

export interface StartedCommand {
  child: ChildProcess;
  output(): string;
  /** The exit code once the process exited and its output ended. */
  exited: Promise<number | null>;
  /** The exit code as the process exits, while a process it started may still hold its output. */
  exitCode: Promise<number | null>;
}

/** Starts `cmd args` in the background; `stopCommands()` kills what is still running. */
export function startCommand(cmd: string, args: string[], opts: CommandOptions = {}): StartedCommand {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: envFor(opts), stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      running.delete(child);
      resolve(code);
    })
  );
  const exitCode = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited, exitCode };
}

export function stopCommands(): void {
  for (const c of running) c.kill("SIGKILL");
  running.clear();
}

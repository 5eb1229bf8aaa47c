/**
 * Servers the tests write for Node (node:http2 targets, the gRPC server, TLS targets),
 * each run in a `node` process of its own: it prints its port as its first line, and
 * may print more lines after (what it saw), which `lines()` returns. Every one started
 * is killed by `stopNodeServers()`, which each test file calls after each test.
 */
import { type ChildProcess, spawn } from "node:child_process";

export interface NodeServer {
  port: number;
  child: ChildProcess;
  /** The lines it printed after its port, so far. */
  lines(): string[];
}

const started: ChildProcess[] = [];

/** Runs `script` (node -e) or a script file with `args`; resolves once it printed its port. */
export function nodeServer(script: { code: string } | { file: string; args?: string[] }): Promise<NodeServer> {
  const argv = "code" in script ? ["-e", script.code] : [script.file, ...(script.args ?? [])];
  const child = spawn("node", argv, { stdio: ["ignore", "pipe", "inherit"] });
  started.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    let port = 0;
    const lines = () => out.split("\n").slice(1).filter((l) => l !== "");
    child.stdout!.on("data", (d) => {
      out += String(d);
      if (port !== 0 || !out.includes("\n")) return;
      port = Number(out.slice(0, out.indexOf("\n")).trim());
      resolve({ port, child, lines });
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (port === 0) reject(new Error(`node server exited (${code}) before printing its port`));
    });
  });
}

/** Kills every server started so far. */
export function stopNodeServers(): void {
  for (const c of started.splice(0)) c.kill("SIGKILL");
}

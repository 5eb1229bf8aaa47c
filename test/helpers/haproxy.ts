/**
 * HAProxy as a reference: the same raw bytes sent through it and through vane, in front
 * of the same kind of recording backend, show where vane is stricter or laxer. Started
 * as a real process on loopback (`haproxy -db`), one single-threaded HTTP proxy.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { freePort } from "./net.ts";

export interface Haproxy {
  port: number;
  stop(): Promise<void>;
}

const running = new Set<Haproxy>();

/** HAProxy in `mode http` on an ephemeral loopback port, forwarding to 127.0.0.1:`backendPort`. */
export async function startHaproxy(backendPort: number): Promise<Haproxy> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "vane-haproxy-"));
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(
    cfg,
    `global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  timeout http-request 5s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  server s1 127.0.0.1:${backendPort}
`,
  );
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  await listening(port, () => err);
  const h: Haproxy = {
    port,
    stop: async () => {
      running.delete(h);
      child.kill("SIGKILL");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(h);
  return h;
}

export async function stopAllHaproxy(): Promise<void> {
  await Promise.all([...running].map((h) => h.stop()));
}

/** Waits (bounded) until something accepts on `port`. */
async function listening(port: number, stderr: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`haproxy did not start: ${stderr()}`);
}

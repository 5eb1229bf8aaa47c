/**
 * A real Redis (Debian's redis-server, 7) for tests: one server on a free loopback port
 * with a temporary directory and no persistence, which a test can kill (SIGKILL, as a
 * crash) and start again on the same port. `cli` runs redis-cli against it, so what the
 * test checks in Redis does not go through the client under test.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.ts";
import { waitFor } from "./wait.ts";

export const REDIS = "/usr/bin/redis-server";
export const haveRedis = () => existsSync(REDIS) && existsSync("/usr/bin/redis-cli");

export interface TestRedis {
  port: number;
  url: string;
  /** Kills the server at once (SIGKILL): its data is gone (no persistence). */
  kill(): Promise<void>;
  /** Starts it again on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** Runs redis-cli with these arguments: its stdout, trimmed. */
  cli(...args: string[]): Promise<string>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

const running = new Set<TestRedis>();

/** One server; with `password`, clients must AUTH (requirepass). */
export async function startRedis(opts: { password?: string } = {}): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "vane-redis-"));
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir];
  if (opts.password) args.push("--requirepass", opts.password);
  const auth = opts.password ? ["--no-auth-warning", "-a", opts.password] : [];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const cli = (...a: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        "redis-cli",
        ["-p", String(port), ...auth, ...a],
        (e, out, err) => e ? reject(new Error(`redis-cli ${a.join(" ")}: ${err || e.message}`)) : resolve(out.trim()),
      )
    );
  const h: TestRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(REDIS, args, { stdio: "ignore" });
      const c = child;
      exited = new Promise((r) => c.on("exit", () => r()));
      await waitFor("redis answers", async () => (await cli("ping").catch(() => "")) === "PONG", 10_000);
    },
    async kill() {
      child?.kill("SIGKILL");
      await exited;
      child = null;
    },
    cli,
    async stop() {
      running.delete(h);
      await h.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(h);
  await h.start();
  return h;
}

/** Stops every Redis still running (afterEach/afterAll). */
export async function stopAllRedis(): Promise<void> {
  await Promise.all([...running].map((r) => r.stop()));
}

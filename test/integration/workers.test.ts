/**
 * `--workers N`: the executable starts N processes that share each listener through
 * SO_REUSEPORT. The kernel spreads new connections over them; the primary alone runs
 * the health checks and every worker follows its verdicts; /status and /metrics add
 * up all workers; a reload reaches every worker before it is reported done; a worker
 * that dies is started again, and workers leave with their primary.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/net.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import type { StatusSnapshot } from "../../src/control/snapshot.ts";
import { waitFor } from "../helpers/wait.ts";
import { DENO_V8_FLAGS } from "../../src/runtime/deno-flags.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-workers-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A backend that says its name; `/health` answers `healthy` (200) or 503. */
async function namedBackend(name: string): Promise<{ port: number; checks: number; healthy: boolean }> {
  const state = { port: 0, checks: 0, healthy: true };
  const b: Backend = await startBackend((req, res) => {
    if (req.url === "/health") {
      state.checks++;
      res.writeHead(state.healthy ? 200 : 503).end();
      return;
    }
    res.end(name);
  });
  state.port = b.port;
  return state;
}

/** One request on a new connection, as a new client would make it; the body says who answered. */
async function get(port: number, path = "/"): Promise<string> {
  const r = await curl(["-H", "Connection: close", `http://127.0.0.1:${port}${path}`]);
  return r.stdout.toString();
}

/** How process `pid` was started, up to its main module (its arguments left out). */
function launch(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  const main = argv.findIndex((a) => a.endsWith("/src/main.ts"));
  return main < 0 ? argv.slice(0, 1) : argv.slice(0, main + 1);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("--workers 2", () => {
  it("serves connections from both workers, on a port the primary chose, and /status and /metrics add them up", async () => {
    const a = await namedBackend("a");
    const statusPort = await freePort();
    const vane = spawnVane([
      "--listen",
      "127.0.0.1:0",
      "--route",
      `*=127.0.0.1:${a.port}`,
      "--status",
      `127.0.0.1:${statusPort}`,
      "--workers",
      "2",
    ]);
    const before = await serving(statusPort, 2);
    const port = Number(before.listeners[0].address.split(":").pop());
    expect(port).toBeGreaterThan(0);
    const pids = before.workers.map((w) => w.pid);
    expect(new Set([...pids, vane.child.pid]).size).toBe(2);
    // The worker runs as its primary does: on Deno with vane's flags (src/runtime/deno-flags.ts).
    const worker = pids.find((pid) => pid !== vane.child.pid)!;
    expect(launch(worker)).toEqual(launch(vane.child.pid!));
    if ("Deno" in globalThis) expect(launch(worker)).toContain(`--v8-flags=${DENO_V8_FLAGS.join(",")}`);

    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await get(port));
    expect(answers.every((x) => x === "a")).toBe(true);

    const after = await statusOf(statusPort);
    const served = after.workers.map((w) => w.connections);
    // The kernel hashes each new connection to one of the two sockets: both get some.
    expect(served.every((n: number) => n > 0)).toBe(true);
    expect(served.reduce((x: number, y: number) => x + y, 0)).toBe(40);
    expect(after.pools.default.targets[0].totalConnections).toBe(40);

    const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
    expect(metrics).toContain(`vane_worker_connections_total{worker="0"} ${served[0]}`);
    expect(metrics).toContain(`vane_worker_connections_total{worker="1"} ${served[1]}`);
    expect(metrics).toMatch(/vane_connections_total\{pool="default",target="127\.0\.0\.1:\d+",role="primary"\} 40/);
    expect(vane.stderr().match(/INFO {2}listening/g)?.length).toBe(1);
  });

  it("checks health once, in the primary, and every worker follows its verdict", async () => {
    const a = await namedBackend("a");
    const b = await namedBackend("b");
    const statusPort = await freePort();
    const listen = await freePort();
    spawnVane([
      "--listen",
      `127.0.0.1:${listen}`,
      "--route",
      `*=127.0.0.1:${a.port},127.0.0.1:${b.port}`,
      "--health",
      "http:/health",
      "--health-interval",
      "100ms",
      "--rise",
      "1",
      "--fall",
      "1",
      "--status",
      `127.0.0.1:${statusPort}`,
      "--workers",
      "2",
    ]);
    await serving(statusPort, 2);
    // Checks in every worker would come twice as often as the interval says.
    const from = a.checks;
    await new Promise((r) => setTimeout(r, 2000));
    const checks = a.checks - from;
    expect(checks).toBeGreaterThan(3);
    expect(checks).toBeLessThanOrEqual(28); // one checker: at most ~20 in 2 s at 100 ms

    a.healthy = false;
    await waitFor("a marked down", async () => {
      const s = await statusOf(statusPort);
      return s.pools.default.targets[0].healthy === false;
    });
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await get(listen));
    expect(answers.filter((x) => x === "b").length).toBe(30);
    const s = await statusOf(statusPort);
    expect(s.workers.every((w) => w.connections > 0)).toBe(true);
  });

  it("hands a reload to every worker before it reports the new config in service", async () => {
    const a = await namedBackend("a");
    const b = await namedBackend("b");
    const statusPort = await freePort();
    const listen = await freePort();
    const file = join(dir, "reload.yaml");
    const write = (target: number) =>
      writeFileSync(
        file,
        `listeners:
  - listen: 127.0.0.1:${listen}
    flow:
      - proxy: [127.0.0.1:${target}]
control:
  listen: 127.0.0.1:${statusPort}
workers: 2
`,
      );
    write(a.port);
    const vane = spawnVane(["run", file]);
    await serving(statusPort, 2);
    expect(await get(listen)).toBe("a");

    write(b.port);
    const r = await fetch(`http://127.0.0.1:${statusPort}/reload`, { method: "POST" });
    expect(r.status).toBe(200);
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await get(listen));
    expect(answers.filter((x) => x === "b").length).toBe(30);
    const s = await statusOf(statusPort);
    expect(s.config.generation).toBe(2);
    expect(s.workers.every((w) => w.connections > 0)).toBe(true);
    expect(vane.stderr()).not.toMatch(/worker kept its config|did not confirm/);
  });

  it("starts a worker again when it dies, and its workers leave with the primary", async () => {
    const a = await namedBackend("a");
    const statusPort = await freePort();
    const listen = await freePort();
    const vane: VaneProcess = spawnVane([
      "--listen",
      `127.0.0.1:${listen}`,
      "--route",
      `*=127.0.0.1:${a.port}`,
      "--status",
      `127.0.0.1:${statusPort}`,
      "--workers",
      "2",
    ]);
    const first = await serving(statusPort, 2);
    const worker = first.workers.find((w) => w.worker === 1)!.pid;
    process.kill(worker, "SIGKILL");
    let again: StatusSnapshot | null = null;
    await waitFor("worker 1 started again", async () => {
      again = await statusOf(statusPort);
      const w = again.workers.find((x) => x.worker === 1)!;
      return !w.silent && w.pid > 0 && w.pid !== worker;
    }, 15_000);
    expect(vane.stderr()).toContain("worker exited; starting it again");
    for (let i = 0; i < 10; i++) expect(await get(listen)).toBe("a");

    const replacement = again!.workers.find((x) => x.worker === 1)!.pid;
    process.kill(vane.child.pid!, "SIGKILL");
    await waitFor("the worker leaves with its primary", () => !pidAlive(replacement), 15_000);
  });
});

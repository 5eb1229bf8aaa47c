/**
 * Out of file descriptors (issue 18, point 1), with vane as a real process under
 * `ulimit -n 256` and 400 clients: vane does not spin (its CPU time over a few seconds
 * is well below a busy loop's), the status endpoint answers through the flood, a
 * connect that fails for want of a descriptor does not mark the healthy target down,
 * requests succeed again as soon as the flood ends, the limit is said at start and the
 * lines about the limit are few.
 */
import { afterEach, describe, expect, it } from "vitest";
import net from "node:net";
import { execSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { freePort } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { type Backend, infoBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";
import { defaultMaxConns } from "../../src/server/client-slots.ts";

const CLIENTS = 400;
const held = new Set<net.Socket>();

afterEach(async () => {
  dropClients();
  killAll();
  await stopAllHttp();
});

/** Opens `n` connections that send nothing, and keeps them. */
function holdClients(port: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    held.add(s);
  }
}

function dropClients(): void {
  for (const s of held) s.destroy();
  held.clear();
}

const TICKS_PER_SECOND = Number(execSync("getconf CLK_TCK").toString().trim()) || 100;

/** User plus system CPU time of `pid` so far, in seconds (/proc/PID/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The share of one core `pid` used over the next `ms`. */
async function cpuShare(pid: number, ms: number): Promise<number> {
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
}

async function get(url: string, timeoutMs = 2000): Promise<{ code: number; text: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { code: res.status, text: await res.text() };
  } catch {
    return null;
  }
}

interface Target {
  healthy: boolean;
  lastError: string | null;
}

async function target(status: number): Promise<Target | null> {
  const res = await get(`http://127.0.0.1:${status}/status`);
  if (!res || res.code !== 200) return null;
  return JSON.parse(res.text).pools.default.targets[0];
}

/** One request through vane on a connection of its own; the status code, or 0. */
async function request(port: number): Promise<number> {
  try {
    const res = await exchange(port, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    return Number(res.toString().slice(9, 12)) || 0;
  } catch {
    return 0;
  }
}

const count = (text: string, re: RegExp) => text.split("\n").filter((l) => re.test(l)).length;

async function startVane(backend: Backend, listen: string, more: string[], ulimit: string) {
  const port = await freePort();
  const status = await freePort();
  const p = spawnVane(
    [
      "--listen",
      `${listen}://127.0.0.1:${port}`,
      "--route",
      `*=127.0.0.1:${backend.port}`,
      "--status",
      `127.0.0.1:${status}`,
      "--workers",
      "1",
      ...more,
    ],
    {},
    { ulimit },
  );
  await waitFor(
    "vane serving",
    async () => (await get(`http://127.0.0.1:${status}/healthz`, 500))?.code === 200,
    15_000,
  );
  await waitFor("target up", async () => (await target(status))?.healthy === true);
  return { p, port, status };
}

describe("out of file descriptors (ulimit -n 256, 400 clients)", () => {
  it("queues what is over max-conns without spinning, keeps /healthz answering, and says the limit once", async () => {
    const backend = await infoBackend("b");
    const { p, port, status } = await startVane(backend, "http", [], "-n 256");
    const pid = p.child.pid!;
    expect(p.stderr()).toMatch(/file descriptors: limit 256\b.*maxConns=96\b/);

    holdClients(port, CLIENTS);
    await waitFor("max-conns reached", () => /max-conns reached/.test(p.stderr()));
    // Before: Bun retried the failing accept4 at 100% of a core; Deno's status server died.
    const share = await cpuShare(pid, 2000);
    expect(share).toBeLessThan(0.5);
    expect((await get(`http://127.0.0.1:${status}/healthz`))?.code).toBe(200);

    dropClients();
    await waitFor("a request succeeds after the flood", async () => (await request(port)) === 200, 5000);
    const t = await target(status);
    expect(t).toMatchObject({ healthy: true, lastError: null });
    const log = p.stderr();
    expect(count(log, /max-conns reached/)).toBeLessThanOrEqual(2);
    expect(log).not.toMatch(/target down/);
  }, 40_000);

  it("does not count a connect that failed for want of a descriptor against the target", async () => {
    const backend = await infoBackend("b");
    // max-conns above what 256 descriptors hold: vane runs dry, as it did before max-conns.
    const { p, port, status } = await startVane(
      backend,
      "tcp",
      ["--max-conns", "1000", "--health-interval", "5s", "--rise", "2"],
      "-n 256",
    );
    expect(p.stderr()).toMatch(/max-conns is more than the open-file limit allows/);

    // A tcp:// listener connects to the target at once for each client: the descriptors
    // run out on those connects (Bun reports them as ECONNREFUSED from the target).
    holdClients(port, CLIENTS);
    await waitFor("a connect failure", () => /connect failed on this host|target down/.test(p.stderr()), 15_000);
    const share = await cpuShare(p.child.pid!, 2000);
    expect(share).toBeLessThan(0.5);

    dropClients();
    // Before: the target was down until two checks passed (10 s here), each request refused.
    await waitFor("a request succeeds after the flood", async () => (await request(port)) === 200, 4000);
    const t = await target(status);
    expect(t).toMatchObject({ healthy: true, lastError: null });
    const log = p.stderr();
    expect(log).not.toMatch(/target down/);
    expect(count(log, /connect failed on this host/)).toBeLessThanOrEqual(2);
    expect(count(log, /cannot accept: out of file descriptors/)).toBeLessThanOrEqual(2);
  }, 40_000);

  it("raises a lower soft limit to the hard one and says it at start", async () => {
    const hard = Number(/^Max open files\s+\S+\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1]);
    expect(hard).toBeGreaterThan(256);
    const backend = await infoBackend("b");
    const { p } = await startVane(backend, "http", [], "-S -n 256");
    const m = /file descriptors: limit (\d+).*maxConns=(\d+)/.exec(p.stderr());
    expect(Number(m?.[1])).toBe(hard);
    expect(Number(m?.[2])).toBe(defaultMaxConns(hard));
    expect(readFileSync(`/proc/${p.child.pid}/limits`, "utf8")).toMatch(
      new RegExp(`^Max open files\\s+${hard}\\s`, "m"),
    );
  }, 30_000);
});

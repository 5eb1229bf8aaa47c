/**
 * Pools, health and fallback end to end: real backends that name themselves, vane
 * with fast checks, and the status endpoint read the way an operator reads it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, nameServer, type TestServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { healthyIn, metrics, startVane, status, stopAllVanes } from "../helpers/vane.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});

const FAST_CHECKS = ["--health-interval", "100ms", "--health-timeout", "500ms", "--rise", "2", "--fall", "2"];

async function hit(port: number, times: number): Promise<string[]> {
  const seen: string[] = [];
  // Send a byte: Deno's node:net loses a reply to a client that ends without sending.
  for (let i = 0; i < times; i++) seen.push((await exchange(port, "?")).toString());
  return seen;
}

function count(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

async function backends(...names: string[]): Promise<TestServer[]> {
  return await Promise.all(names.map((n) => nameServer(n)));
}

const targetsOf = (servers: TestServer[]) => servers.map((s) => `127.0.0.1:${s.port}`).join(",");

describe("pools", () => {
  it("serial spreads connections exactly evenly over three backends, in order", async () => {
    const servers = await backends("a", "b", "c");
    const v = await startVane(["--route", `*=${targetsOf(servers)}`, "--strategy", "serial"]);
    const seen = await hit(v.port, 9);
    expect(count(seen)).toEqual({ a: 3, b: 3, c: 3 });
    // Round robin: no backend twice in a row.
    for (let i = 1; i < seen.length; i++) expect(seen[i]).not.toBe(seen[i - 1]);
    const s = await status(v);
    expect(s.pools.default.strategy).toBe("serial");
    expect(s.pools.default.targets.map((t) => t.totalConnections)).toEqual([3, 3, 3]);
  });

  it("random reaches every backend", async () => {
    const servers = await backends("a", "b", "c");
    const v = await startVane(["--route", `*=${targetsOf(servers)}`, "--strategy", "random"]);
    const seen = count(await hit(v.port, 60));
    expect(Object.keys(seen).sort()).toEqual(["a", "b", "c"]);
  });

  it("takes a killed backend out with no client-visible error, and brings it back after rise checks", async () => {
    const [a, b, c] = await backends("a", "b", "c");
    const v = await startVane(["--route", `*=${targetsOf([a, b, c])}`, ...FAST_CHECKS]);
    const bTarget = `127.0.0.1:${b.port}`;
    const bPort = b.port;
    await b.close();

    // Every connection still gets an answer, from a or c: the failed connect to b is
    // retried on the next candidate and b is marked down.
    const seen = await hit(v.port, 12);
    expect(seen.every((n) => n === "a" || n === "c")).toBe(true);
    expect(count(seen).a).toBeGreaterThan(0);
    expect(count(seen).c).toBeGreaterThan(0);
    expect(await healthyIn(v, "default", bTarget)).toBe(false);
    const down = (await status(v)).pools.default.targets.find((t) => t.target === bTarget);
    expect(down?.lastError).toMatch(/refused|ECONNREFUSED|connect/i);
    expect(await metrics(v)).toContain(`vane_target_up{pool="default",target="${bTarget}",role="primary"} 0`);
    expect(v.logs.filter((l) => l.msg === "target down" && l.target === bTarget)).toHaveLength(1);

    // Revive b on the same port: after `rise` good checks it serves again.
    await nameServer("b", bPort);
    await waitFor("b is healthy again", () => healthyIn(v, "default", bTarget));
    const upLogs = v.logs.filter((l) => l.msg === "target up" && l.target === bTarget);
    expect(upLogs.map((l) => l.reason)).toEqual(["initial check passed", "2 checks passed"]);
    expect(count(await hit(v.port, 9))).toEqual({ a: 3, b: 3, c: 3 });
    expect(await metrics(v)).toContain(`vane_target_up{pool="default",target="${bTarget}",role="primary"} 1`);
  });

  it("active checks take a dead backend out before any client tries it", async () => {
    const [a, b] = await backends("a", "b");
    const v = await startVane(["--route", `*=${targetsOf([a, b])}`, ...FAST_CHECKS]);
    const bTarget = `127.0.0.1:${b.port}`;
    await b.close();
    await waitFor("checks mark b down", async () => !(await healthyIn(v, "default", bTarget)));
    // b saw only vane's checks, no proxied connection.
    expect((await status(v)).pools.default.targets[1].totalConnections).toBe(0);
    expect(v.logs.find((l) => l.msg === "target down" && l.target === bTarget)?.reason).toMatch(/refused|connect/i);
  });

  it("uses the fallback pool when every target is dead, and leaves it when one revives", async () => {
    const [a, fb] = await backends("a", "fallback");
    const aPort = a.port;
    const v = await startVane([
      "--route",
      `*=127.0.0.1:${aPort}`,
      "--fallback",
      `127.0.0.1:${fb.port}`,
      ...FAST_CHECKS,
    ]);
    expect(await hit(v.port, 2)).toEqual(["a", "a"]);
    await a.close();
    expect(await hit(v.port, 3)).toEqual(["fallback", "fallback", "fallback"]);
    const s = await status(v);
    expect(s.pools.default.targets[0].healthy).toBe(false);
    expect(s.pools.default.fallback[0]).toMatchObject({
      target: `127.0.0.1:${fb.port}`,
      healthy: true,
      totalConnections: 3,
    });
    expect(await metrics(v)).toContain(
      `vane_connections_total{pool="default",target="127.0.0.1:${fb.port}",role="fallback"} 3`,
    );

    await nameServer("a", aPort);
    await waitFor("a is back", () => healthyIn(v, "default", `127.0.0.1:${aPort}`));
    expect(await hit(v.port, 2)).toEqual(["a", "a"]);
  });

  it("fastest prefers the target with the lowest measured latency", async () => {
    // Loopback latencies are all alike, so the measurements are set by hand here; the
    // checker's own measuring is covered by the status tests (latencyMs is filled).
    const [a, b] = await backends("a", "b");
    const v = await startVane(["--route", `*=${targetsOf([a, b])}`, "--strategy", "fastest"]);
    // Teach the registry the latencies, as measured checks would.
    const entries = v.vane.registry.all();
    entries.find((e) => e.key.endsWith(`:${a.port}`))!.latencyMs = 50;
    entries.find((e) => e.key.endsWith(`:${b.port}`))!.latencyMs = 5;
    expect(count(await hit(v.port, 4))).toEqual({ b: 4 });
    expect((await status(v)).pools.default.strategy).toBe("fastest");
  });

  it("closes the client when nothing at all is alive, and logs why", async () => {
    const [a] = await backends("a");
    const v = await startVane(["--route", `*=127.0.0.1:${a.port}`]);
    await a.close();
    const reply = await exchange(v.port, "?").catch((err) => err.code);
    expect(reply === "ECONNRESET" || (Buffer.isBuffer(reply) && reply.length === 0)).toBe(true);
    await waitFor(
      "the log says why",
      () => v.logs.some((l) => l.msg === "connection closed: no target available" && String(l.reason).length > 0),
    );
  });
});

describe("target resolution", () => {
  it("resolves a hosts-file name (localhost) and reports the address it connected to", async () => {
    const [a] = await backends("a");
    const v = await startVane(["--route", `*=localhost:${a.port}`]);
    expect(await hit(v.port, 2)).toEqual(["a", "a"]);
    const t = (await status(v)).pools.default.targets[0];
    expect(t.target).toBe(`localhost:${a.port}`);
    expect(t.healthy).toBe(true);
    expect(t.address).toMatch(new RegExp(`^(127\\.0\\.0\\.1|\\[::1\\]):${a.port}$`));
  });

  it("resolves node:NAME through the static registry, failing over between its addresses", async () => {
    const [a] = await backends("a");
    // 127.0.0.2 is loopback too, but nothing listens there on this port: refused.
    const v = await startVane(["--node", "web=127.0.0.2,127.0.0.1", "--route", `*=node:web:${a.port}`]);
    expect(await hit(v.port, 3)).toEqual(["a", "a", "a"]);
    const t = (await status(v)).pools.default.targets[0];
    expect(t).toMatchObject({ target: `node:web:${a.port}`, healthy: true, address: `127.0.0.1:${a.port}` });
  });
});

describe("HTTP health checks", () => {
  it("takes out a target whose port accepts but whose health path fails, and brings it back", async () => {
    const http = await import("node:http");
    let sick = true;
    const servers: import("node:http").Server[] = [];
    const start = (name: string, isSick: () => boolean) =>
      new Promise<number>((resolve) => {
        const srv = http.createServer((req, res) => {
          if (req.url === "/health") {
            res.statusCode = isSick() ? 503 : 200;
            return res.end(isSick() ? "sick" : "ok");
          }
          res.end(name);
        });
        servers.push(srv);
        srv.listen(0, "127.0.0.1", () => resolve((srv.address() as { port: number }).port));
      });
    const a = await start("a", () => false);
    const b = await start("b", () => sick);
    try {
      const v = await startVane([
        "--route",
        `*=127.0.0.1:${a},127.0.0.1:${b}`,
        "--health",
        "http:/health",
        "--health-interval",
        "100ms",
        "--rise",
        "2",
      ]);
      const s = await status(v);
      expect(s.pools.default.targets.map((t) => t.healthy)).toEqual([true, false]);
      expect(s.pools.default.targets[1].lastError).toBe("HTTP 503");
      sick = false;
      await waitFor("b passes its HTTP check", () => healthyIn(v, "default", `127.0.0.1:${b}`));
    } finally {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });
});

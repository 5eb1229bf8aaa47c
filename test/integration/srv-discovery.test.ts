/**
 * DNS SRV discovery (issue 24 point 3) end to end: a vane process asks a loopback DNS
 * server (--resolver) for `srv:_api._tcp.svc.test`, serves the lowest-priority records
 * by their weights, moves to the next priority when those targets die, and follows the
 * answer when records come and go after their TTL (1 s).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { freePort } from "../helpers/net.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { type SrvRecordSpec, startDnsServer } from "../helpers/dns-server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Dnsmasq, startDnsmasq } from "../helpers/dnsmasq.ts";
import type { TargetStatus } from "../../src/control/snapshot.ts";

const SRV = "_api._tcp.svc.test";
const dns = await startDnsServer({});

afterEach(async () => {
  killAll();
  await stopAllHttp();
});
afterAll(() => dns.close());

/** A backend that answers its name, reachable as NAME.svc.test (an A record to 127.0.0.1). */
async function named(name: string): Promise<Backend> {
  dns.set(`${name}.svc.test`, { A: ["127.0.0.1"], ttl: 1 });
  return await startBackend((req, res) => {
    req.resume();
    res.end(`${name}\n`);
  });
}

const record = (priority: number, weight: number, name: string, b: Backend): SrvRecordSpec => ({
  priority,
  weight,
  port: b.port,
  target: `${name}.svc.test`,
});

/** vane routing everything to the SRV name; resolves with its HTTP and status ports. */
async function vane(workers = 1, resolverPort = dns.port): Promise<{ port: number; statusPort: number }> {
  const statusPort = await freePort();
  spawnVane([
    "--listen",
    "http://127.0.0.1:0",
    "--status",
    `127.0.0.1:${statusPort}`,
    "--resolver",
    `127.0.0.1:${resolverPort}`,
    "--route",
    `*=srv:${SRV}`,
    "--health-interval",
    "200ms",
    "--rise",
    "1",
    "--fall",
    "1",
    "--workers",
    String(workers),
  ]);
  const s = await serving(statusPort, workers);
  return { port: Number(s.listeners[0].address.split(":").pop()), statusPort };
}

/** `n` requests, each on its own connection; the names that answered, counted. */
async function counts(port: number, n: number): Promise<Record<string, number>> {
  const urls = Array.from({ length: n }, () => `http://127.0.0.1:${port}/`);
  const r = await curl(["-H", "Connection: close", ...urls]);
  const out: Record<string, number> = {};
  for (const name of r.stdout.toString().trim().split("\n")) out[name] = (out[name] ?? 0) + 1;
  return out;
}

async function targets(statusPort: number): Promise<TargetStatus[]> {
  return (await statusOf(statusPort)).pools.default.targets;
}

describe("srv: targets", () => {
  it(
    "serve the lowest priority by weight, and the next priority once those are down",
    { timeout: 30_000 },
    async () => {
      const [a, b, c] = [await named("a"), await named("b"), await named("c")];
      dns.set(SRV, { SRV: [record(10, 3, "a", a), record(10, 1, "b", b), record(20, 1, "c", c)], ttl: 1 });
      const { port, statusPort } = await vane();

      const shown = await targets(statusPort);
      expect(shown.map((t) => [t.target, t.srv, t.healthy])).toEqual([
        [`a.svc.test:${a.port}`, { name: SRV, priority: 10 }, true],
        [`b.svc.test:${b.port}`, { name: SRV, priority: 10 }, true],
        [`c.svc.test:${c.port}`, { name: SRV, priority: 20 }, true],
      ]);

      const got = await counts(port, 80);
      // Weights 3:1 give a 60 and b 20; the priority-20 target serves none while they live.
      expect(got.a).toBeGreaterThanOrEqual(50);
      expect(got.a).toBeLessThanOrEqual(70);
      expect(got.b).toBeGreaterThanOrEqual(10);
      expect(got.b).toBeLessThanOrEqual(30);
      expect(got.c).toBeUndefined();

      await closeBackends([a, b]);
      await waitFor("a and b are down", async () => (await targets(statusPort)).filter((t) => t.healthy).length === 1);
      expect(await counts(port, 10)).toEqual({ c: 10 });
    },
  );

  it(
    "follows records that appear and vanish after the TTL, keeping the targets that stay",
    { timeout: 30_000 },
    async () => {
      const [a, b, d] = [await named("a"), await named("b"), await named("d")];
      dns.set(SRV, { SRV: [record(10, 1, "a", a), record(10, 1, "b", b)], ttl: 1 });
      const { port, statusPort } = await vane();
      expect(await counts(port, 10)).toEqual({ a: 5, b: 5 });
      const aBefore = (await targets(statusPort)).find((t) => t.target.startsWith("a."))!;

      dns.set(SRV, { SRV: [record(10, 1, "a", a), record(10, 1, "d", d)], ttl: 1 });
      await waitFor("d listed and up, b gone", async () => {
        const now = await targets(statusPort);
        return now.map((t) => `${t.target.split(".")[0]}:${t.healthy}`).sort().join() === "a:true,d:true";
      });
      expect(await counts(port, 10)).toEqual({ a: 5, d: 5 });
      // A failed lookup (the name gone: NXDOMAIN) keeps the last good targets.
      const asked = dns.queries;
      dns.set(SRV, null);
      await waitFor("vane asks again after the TTL", () => dns.queries > asked + 1);
      expect(await counts(port, 10)).toEqual({ a: 5, d: 5 });
      // a's entry stayed (a new one would count from 0 again), b served nothing more.
      const aAfter = (await targets(statusPort)).find((t) => t.target.startsWith("a."))!;
      expect(aBefore.totalConnections).toBeGreaterThan(0);
      expect(aAfter.totalConnections).toBeGreaterThanOrEqual(aBefore.totalConnections);
      expect(b.requests).toBe(5);
    },
  );

  it("is followed by every worker of --workers 2", { timeout: 40_000 }, async () => {
    const [a, b, c] = [await named("a"), await named("b"), await named("c")];
    dns.set(SRV, { SRV: [record(10, 1, "a", a), record(20, 1, "c", c)], ttl: 1 });
    const { port, statusPort } = await vane(2);
    expect(await counts(port, 20)).toEqual({ a: 20 });
    dns.set(SRV, { SRV: [record(10, 1, "a", a), record(10, 1, "b", b), record(20, 1, "c", c)], ttl: 1 });
    await waitFor(
      "b listed and up",
      async () => (await targets(statusPort)).some((t) => t.target.startsWith("b.") && t.healthy),
    );
    // Once each worker has b, a and b share 40 connections about evenly (one worker alone would give b a quarter).
    await waitFor("both workers send to b", async () => {
      const got = await counts(port, 40);
      return got.c === undefined && (got.b ?? 0) >= 14 && (got.a ?? 0) >= 14;
    }, 10_000);
  });
});

/** Closes these backends now (their ports refuse from then on). */
async function closeBackends(gone: Backend[]): Promise<void> {
  await Promise.all(gone.map((b) =>
    new Promise<void>((done) => {
      b.server.closeAllConnections?.();
      b.server.close(() => done());
    })
  ));
}

describe("srv: an answer too long for UDP", () => {
  let dnsmasq: Dnsmasq | null = null;
  afterEach(async () => {
    await dnsmasq?.stop();
    dnsmasq = null;
  });

  it(
    "is asked again over TCP (dnsmasq sets TC past the 1232-byte EDNS size): all 40 targets, the live one serves",
    { timeout: 30_000 },
    async () => {
      const live = await startBackend((req, res) => {
        req.resume();
        res.end("live\n");
      });
      const dead = await freePort();
      // 40 records with long names come to about 2.3 KB: more than one datagram vane accepts.
      const records = Array.from({ length: 40 }, (_, i) => ({
        service: SRV,
        target: `instance-with-a-rather-long-name-${String(i).padStart(2, "0")}.svc.test`,
        port: i === 0 ? live.port : dead,
        priority: i === 0 ? 10 : 20,
        weight: 1,
      }));
      dnsmasq = await startDnsmasq(records);
      const { port, statusPort } = await vane(1, dnsmasq.port);
      const shown = await targets(statusPort);
      expect(shown).toHaveLength(40);
      expect(shown[0]).toMatchObject({ target: `${records[0].target}:${live.port}`, healthy: true });
      expect(await counts(port, 5)).toEqual({ live: 5 });
      // dnsmasq saw the SRV question twice: over UDP (answered truncated), then over TCP.
      expect(dnsmasq.output.match(/query\[SRV\] _api\._tcp\.svc\.test/g)?.length).toBeGreaterThanOrEqual(2);
    },
  );
});

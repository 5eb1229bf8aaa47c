/**
 * Targets that register themselves in etcd (issue 24 point 2) with a real etcd 3.4 and
 * real vane processes: a service puts `127.0.0.1:PORT` under a lease and gets requests
 * (counted on the backends); a second one shares them; a lease that expires (its
 * keep-alive stopped) takes its target out; a registered port that is dead is kept out
 * by the health checks; a bad value is warned about once by key while the rest serve;
 * etcd killed keeps the known targets serving, and on its return the changes made
 * since are followed. A vane started while etcd is down serves once etcd answers.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../src/config/etcd/client.ts";
import { startEtcd, stopAllEtcd, type TestEtcd } from "../helpers/etcd.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";
import type { TargetStatus } from "../../src/control/snapshot.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-etcd-targets-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
  await stopAllEtcd();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PREFIX = "/services/api/";

const backend = () =>
  startBackend((req, res) => {
    req.resume();
    res.end("ok\n");
  });

interface Running {
  port: number;
  status: number;
  proc: VaneProcess;
  file: string;
  /** The config file's text for `connect` (a reload rewrites it with another). */
  yaml(connect: string): string;
}

/** vane on a config file whose pool `api` is `{etcd: /services/api}` on `etcd`. */
async function vane(etcd: TestEtcd, opts: { workers?: number } = {}): Promise<Running> {
  const [port, status] = [await freePort(), await freePort()];
  const file = join(dir, `vane-${port}.yaml`);
  const workers = opts.workers ?? 1;
  const yaml = (connect: string) =>
    `listeners:
  - listen: http://127.0.0.1:${port}
    flow: [{ proxy: api }]
pools:
  api:
    targets: { etcd: /services/api }
    health: { check: tcp, interval: 200ms, timeout: 300ms, rise: 1, fall: 1 }
etcd:
  endpoints: [${etcd.url}]
control: { listen: 127.0.0.1:${status} }
timeouts: { grace: 0s, connect: ${connect} }
workers: ${workers}
`;
  writeFileSync(file, yaml("5s"));
  const proc = spawnVane(["run", file]);
  await serving(status, workers);
  return { port, status, proc, file, yaml };
}

async function targets(v: Running): Promise<TargetStatus[]> {
  return (await statusOf(v.status)).pools.api.targets;
}

/** The registered targets that are up, as `PORT` strings, sorted. */
async function upPorts(v: Running): Promise<string> {
  return (await targets(v)).filter((t) => t.healthy).map((t) => t.target.split(":")[1]).sort().join(",");
}

/** `n` requests, each on its own connection; the HTTP codes, counted. */
async function send(v: Running, n: number): Promise<Record<string, number>> {
  const urls = Array.from({ length: n }, () => ["-o", "/dev/null", `http://127.0.0.1:${v.port}/`]).flat();
  const r = await curl(["-w", "%{http_code}\\n", "-H", "Connection: close", ...urls]);
  const out: Record<string, number> = {};
  for (const code of r.stdout.toString().trim().split("\n")) out[code] = (out[code] ?? 0) + 1;
  return out;
}

const ports = (...bs: Backend[]) => bs.map((b) => String(b.port)).sort().join(",");

/** A service's registration: its key under a lease of `ttl` s, renewed every second until `stop()`. */
async function register(c: EtcdClient, name: string, value: string, ttl = 10) {
  const lease = await c.grantLease(ttl);
  await c.put(`${PREFIX}${name}`, value, lease);
  const timer = setInterval(() => void c.keepAlive(lease).catch(() => {}), 1000);
  return { lease, stop: () => clearInterval(timer) };
}

describe("etcd: targets", () => {
  it(
    "a registered service gets requests, a second shares them, and one whose lease expires gets none",
    { timeout: 60_000 },
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      const [a, b] = [await backend(), await backend()];
      const v = await vane(etcd);
      expect(await targets(v)).toEqual([]);

      const ra = await register(c, "a", `127.0.0.1:${a.port}`, 2);
      await waitFor("a registered and up", async () => (await upPorts(v)) === ports(a), 10_000);
      const shown = (await targets(v))[0];
      expect(shown.etcd).toEqual({ prefix: PREFIX, key: `${PREFIX}a` });
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBe(10);

      const rb = await register(c, "b", JSON.stringify({ address: `127.0.0.1:${b.port}`, zone: "eu-1" }));
      await waitFor("b registered and up", async () => (await upPorts(v)) === ports(a, b), 10_000);
      expect((await targets(v)).find((t) => t.target.endsWith(`:${b.port}`))!.etcd?.zone).toBe("eu-1");
      expect(await send(v, 20)).toEqual({ "200": 20 });
      expect(a.requests - 10).toBe(10);
      expect(b.requests).toBe(10);

      // a's service stops renewing: its 2 s lease expires and etcd deletes its key.
      ra.stop();
      await waitFor("a's lease expired", async () => (await upPorts(v)) === ports(b), 15_000);
      const [aBefore, bBefore] = [a.requests, b.requests];
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBe(aBefore);
      expect(b.requests).toBe(bBefore + 10);
      expect(v.proc.stderr()).toMatch(
        /etcd targets changed pool=api prefix=\/services\/api\/ added=- removed=127\.0\.0\.1:\d+/,
      );
      rb.stop();
    },
  );

  it(
    "keeps a registered dead port out by its health check, and skips a bad value with one warning naming its key",
    { timeout: 60_000 },
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      const a = await backend();
      const dead = await freePort();
      await c.put(`${PREFIX}a`, `127.0.0.1:${a.port}`);
      await c.put(`${PREFIX}dead`, `127.0.0.1:${dead}`);
      await c.put(`${PREFIX}junk`, "not an address");
      const v = await vane(etcd);
      await waitFor("both listed, only a up", async () => {
        const t = await targets(v);
        return t.length === 2 && (await upPorts(v)) === ports(a);
      }, 10_000);
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBe(10);
      // More changes re-read the prefix; the bad value is still said once.
      await c.put(`${PREFIX}other`, `127.0.0.1:${await freePort()}`);
      await c.delete(`${PREFIX}other`);
      await waitFor("the changes seen", () => (v.proc.stderr().match(/etcd targets changed/g) ?? []).length >= 2);
      const warnings = v.proc.stderr().match(/a registered value is not a target; skipped key=\/services\/api\/junk/g);
      expect(warnings?.length).toBe(1);
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBe(20);
    },
  );

  it(
    "serves the known targets while etcd is down, and follows what changed once it is back",
    { timeout: 90_000 },
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      const [a, b] = [await backend(), await backend()];
      await c.put(`${PREFIX}a`, `127.0.0.1:${a.port}`);
      const v = await vane(etcd);
      await waitFor("a up", async () => (await upPorts(v)) === ports(a), 10_000);

      await etcd.kill();
      await waitFor("vane saw the watch break", () => /etcd watch broken/.test(v.proc.stderr()), 15_000);
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBe(10);

      await etcd.start();
      // Changed before vane's watch is back (it retries with a backoff): seen from its revision on.
      await c.put(`${PREFIX}b`, `127.0.0.1:${b.port}`);
      await c.delete(`${PREFIX}a`);
      await waitFor("b in, a out", async () => (await upPorts(v)) === ports(b), 20_000);
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBe(10);
      expect(b.requests).toBe(10);
    },
  );

  it(
    "starts while etcd is down, serving no etcd target, and takes them once etcd answers",
    { timeout: 60_000 },
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      const a = await backend();
      await c.put(`${PREFIX}a`, `127.0.0.1:${a.port}`);
      await etcd.kill();
      const v = await vane(etcd);
      expect(v.proc.stderr()).toMatch(
        /cannot read etcd: targets; serving without them until etcd answers prefix=\/services\/api\//,
      );
      expect(await targets(v)).toEqual([]);
      expect((await send(v, 2))["200"]).toBeUndefined();
      await etcd.start();
      await waitFor("a up", async () => (await upPorts(v)) === ports(a), 20_000);
      expect(await send(v, 5)).toEqual({ "200": 5 });
      expect(a.requests).toBe(5);
    },
  );

  it(
    "is followed by every worker of --workers 2, and a reload keeping the prefix keeps the targets",
    { timeout: 90_000 },
    async () => {
      const etcd = await startEtcd();
      const c = new EtcdClient([etcd.url]);
      const [a, b] = [await backend(), await backend()];
      await c.put(`${PREFIX}a`, `127.0.0.1:${a.port}`);
      const v = await vane(etcd, { workers: 2 });
      await waitFor("a up", async () => (await upPorts(v)) === ports(a), 10_000);
      expect(await send(v, 20)).toEqual({ "200": 20 });
      expect(a.requests).toBe(20);

      await c.put(`${PREFIX}b`, JSON.stringify({ address: `127.0.0.1:${b.port}`, weight: 1 }));
      await waitFor("b up", async () => (await upPorts(v)) === ports(a, b), 10_000);
      // Each worker follows etcd itself: once both have b, 40 connections go about evenly to a and b.
      await waitFor("both workers send to b", async () => {
        const [a0, b0] = [a.requests, b.requests];
        expect(await send(v, 40)).toEqual({ "200": 40 });
        return a.requests - a0 >= 14 && b.requests - b0 >= 14;
      }, 15_000);

      const before = (await targets(v)).find((t) => t.target.endsWith(`:${a.port}`))!;
      const generation = (await statusOf(v.status)).config.generation;
      writeFileSync(v.file, v.yaml("4s"));
      await waitFor("reloaded", async () => (await statusOf(v.status)).config.generation > generation, 15_000);
      const after = (await targets(v)).find((t) => t.target.endsWith(`:${a.port}`))!;
      // The same entry (its count went on, health kept): no target left or came back with the reload.
      expect(after.healthy).toBe(true);
      expect(after.totalConnections).toBeGreaterThanOrEqual(before.totalConnections);
      expect(before.totalConnections).toBeGreaterThan(0);
      const a0 = a.requests;
      expect(await send(v, 10)).toEqual({ "200": 10 });
      expect(a.requests).toBeGreaterThan(a0);
    },
  );
});

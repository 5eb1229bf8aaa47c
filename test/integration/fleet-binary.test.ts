/**
 * A fleet as operators run it: two compiled vanes (dist/vane), each with --workers 2,
 * on one etcd and one Redis, all real processes. Both serve the config in etcd, share
 * one rate limit per key through Redis (four processes, one bucket), follow a change
 * put in etcd, and send to a service that registered itself under a lease until the
 * lease expires.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EtcdClient } from "../../src/config/etcd/client.ts";
import { compiledVane } from "../helpers/compiled-vane.ts";
import { startCommand, type StartedCommand, stopCommands } from "../helpers/command.ts";
import { haveEtcd, startEtcd, stopAllEtcd } from "../helpers/etcd.ts";
import { startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { freePort } from "../helpers/net.ts";
import { haveRedis, startRedis, stopAllRedis } from "../helpers/redis.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-fleet-binary-"));
afterEach(async () => {
  stopCommands();
  await stopAllHttp();
  await stopAllEtcd();
  await stopAllRedis();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PREFIX = "/vane/fleet";

/**
 * The fleet's config: a limit per X-User counted in `redis`, then the pool `app` at
 * `target`; requests for host `svc` go to the services registered under /services/svc/.
 */
function config(redis: string, target: number): string {
  return `listeners:
  - listen: http://127.0.0.1:1
    flow:
      - when: { host: svc }
        proxy: svc
      - rate-limit: { rate: 1/m, burst: 10, key: "{{req.header.x-user}}", store: "${redis}" }
      - proxy: app
pools:
  app: { targets: [127.0.0.1:${target}], health: { check: none } }
  svc: { targets: { etcd: /services/svc }, health: { check: none } }
timeouts: { grace: 0s }
`;
}

/** One GET on its own connection as `user`: its status (0: no answer). */
function get(port: number, user: string, host = "app"): Promise<number> {
  return new Promise((resolve) => {
    const headers = { connection: "close", "x-user": user, host };
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", agent: false, headers },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
  });
}

describe.skipIf(!haveEtcd() || !haveRedis())("a fleet of compiled vanes on etcd and Redis", () => {
  it("serves etcd's config, holds one Redis limit over 2 vanes x 2 workers, and follows a change", async () => {
    const bin = await compiledVane();
    const [one, two] = [await startBackend((_q, r) => r.end("one")), await startBackend((_q, r) => r.end("two"))];
    const etcd = await startEtcd();
    const redis = await startRedis();
    const client = new EtcdClient([etcd.url]);
    await client.put(`${PREFIX}/config`, config(redis.url, one.port));

    const vanes: Array<{ port: number; status: number; proc: StartedCommand }> = [];
    for (const name of ["a", "b"]) {
      const port = await freePort();
      const status = await freePort();
      const args = ["--etcd", etcd.url, "--etcd-prefix", PREFIX, "--state-dir", join(dir, name)];
      args.push("--listen", `http://127.0.0.1:${port}`, "--status", `127.0.0.1:${status}`, "--workers", "2");
      vanes.push({ port, status, proc: startCommand(bin, args) });
    }
    for (const v of vanes) await serving(v.status, 2);

    // 40 requests as one user, spread over both vanes: one bucket of 10 for the four
    // processes (counted apart it would admit up to 40). A process may still hold a
    // leased token when the requests end (one each at most, 1/m refills nothing).
    const codes: number[] = [];
    for (let i = 0; i < 40; i++) codes.push(await get(vanes[i % 2].port, "alice"));
    const admitted = codes.filter((c) => c === 200).length;
    expect(codes.filter((c) => c !== 200 && c !== 429)).toEqual([]);
    expect(admitted).toBeLessThanOrEqual(10);
    expect(admitted).toBeGreaterThanOrEqual(6);
    expect(one.requests).toBe(admitted);
    expect(await redis.cli("KEYS", "vane:rl:*")).toBe("vane:rl:t0.0:alice");
    // Every process of both vanes served some of them (connection by connection).
    for (const v of vanes) {
      expect((await statusOf(v.status)).workers.every((w) => w.connections > 0)).toBe(true);
    }

    // A change put in etcd: every process of both vanes goes to the other backend.
    const generation = (await statusOf(vanes[0].status)).config.generation;
    await client.put(`${PREFIX}/config`, config(redis.url, two.port));
    await waitFor("both vanes serve the change", async () => {
      const s = await Promise.all(vanes.map((v) => statusOf(v.status)));
      return s.every((x) => x.config.generation > generation);
    }, 20_000);
    const before = one.requests;
    for (let i = 0; i < 8; i++) expect(await get(vanes[i % 2].port, `user${i}`)).toBe(200);
    expect(two.requests).toBe(8);
    expect(one.requests).toBe(before);

    // A service registers itself under a 2 s lease: both vanes send it requests for
    // host svc; it stops renewing, etcd deletes its key, and they stop (502: no target, as
    // failure-status.ts says).
    const svc = await startBackend((_q, r) => r.end("svc"));
    const lease = await client.grantLease(2);
    await client.put("/services/svc/instance-1", `127.0.0.1:${svc.port}`, lease);
    const renew = setInterval(() => void client.keepAlive(lease).catch(() => {}), 500);
    const svcStatus = async () => await Promise.all(vanes.map((v) => get(v.port, "s", "svc")));
    await waitFor("both vanes reach the registered service", async () => {
      return (await svcStatus()).every((c) => c === 200);
    }, 20_000);
    expect(svc.requests).toBeGreaterThanOrEqual(2);
    clearInterval(renew);
    let last: number[] = [];
    await waitFor("the lease expired and both vanes let the service go", async () => {
      last = await svcStatus();
      return last.every((c) => c === 502);
    }, 20_000).catch((err) => {
      throw new Error(`${err.message}; the vanes answered ${last.join(", ")}`);
    });
    const seen = svc.requests;
    for (let i = 0; i < 4; i++) expect(await get(vanes[i % 2].port, "s", "svc")).toBe(502);
    expect(svc.requests).toBe(seen);
  }, 240_000);
});

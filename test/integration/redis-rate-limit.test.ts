/**
 * Rate limits shared through a real Redis (`rate-limit: { store: redis://... }`) by two
 * real vane processes with a real backend, counted on the backend's side:
 * (a) the two admit one limit for a key together (the burst and what the rate brought
 *     in meanwhile, within the documented slack of one batch per vane), not one each;
 *     and so do the two processes of one `--workers 2` vane;
 * (b) different keys are counted apart;
 * (c) Redis killed mid-test: `on-error: open` lets every request through and logs one
 *     "redis unavailable" line, `closed` answers 429; Redis started again: a "redis back"
 *     line, and the shared limit holds again;
 * (d) a bad store URL or on-error value is reported by line and column.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/net.ts";
import { type Backend, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { haveRedis, startRedis, stopAllRedis, type TestRedis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-redis-rate-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
  await stopAllRedis();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Started {
  port: number;
  proc: VaneProcess;
}

/** One vane (one process) whose only listener limits by `key`, counting in `redis`. */
async function start(
  backend: Backend,
  redis: TestRedis,
  limit: string,
  key: string,
  extra = "",
  workers = 1,
): Promise<Started & { status: number }> {
  const port = await freePort();
  const status = await freePort();
  const file = join(dir, `vane-${port}.yaml`);
  writeFileSync(
    file,
    `listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - rate-limit: { ${limit}, key: "${key}", store: "${redis.url}"${extra} }
      - proxy: [127.0.0.1:${backend.port}]
control:
  listen: 127.0.0.1:${status}
workers: ${workers}
`,
  );
  const proc = spawnVane(["run", file]);
  await serving(status, workers);
  return { port, proc, status };
}

/** One GET on a connection of its own; its status (0: no answer). */
function get(port: number, user = "u"): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", agent: false, headers: { connection: "close", "x-user": user } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
  });
}

/** `n` requests spread over the vanes in turn, two at a time; how many got each status, per vane. */
async function spread(vanes: Started[], n: number, user = "u"): Promise<{ all: Record<number, number>; ok: number[] }> {
  const all: Record<number, number> = {};
  const ok = vanes.map(() => 0);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++ % vanes.length;
      const code = await get(vanes[i].port, user);
      all[code] = (all[code] ?? 0) + 1;
      if (code === 200) ok[i]++;
    }
  };
  await Promise.all([lane(), lane()]);
  return { all, ok };
}

const lines = (v: Started, re: RegExp) => v.proc.stderr().split("\n").filter((l) => re.test(l));

describe.skipIf(!haveRedis())("rate-limit with store: redis://", () => {
  it("holds one limit for a key across two vanes, not one each", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const redis = await startRedis();
    const vanes = [
      await start(backend, redis, "rate: 1/s, burst: 10", "{{conn.ip}}"),
      await start(backend, redis, "rate: 1/s, burst: 10", "{{conn.ip}}"),
    ];
    const t0 = performance.now();
    const { all, ok } = await spread(vanes, 60);
    const seconds = (performance.now() - t0) / 1000;
    // Both vanes admitted some: otherwise the sharing is not shown.
    expect(ok[0]).toBeGreaterThan(0);
    expect(ok[1]).toBeGreaterThan(0);
    // One bucket: 10, plus one token a second while the requests ran, plus a batch (1 here)
    // per vane of slack; counted per vane it would be ~20.
    expect(all[200]).toBeGreaterThanOrEqual(10);
    expect(all[200]).toBeLessThanOrEqual(10 + Math.ceil(seconds) + 2);
    expect(all[429]).toBe(60 - all[200]);
    expect(backend.requests).toBe(all[200]);
    // Counted in Redis under the place of the action in the config (the same in both).
    expect(await redis.cli("KEYS", "vane:rl:*")).toBe("vane:rl:t0.0:127.0.0.1");
  }, 60_000);

  it("holds one limit over the processes of --workers 2, each talking to Redis", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const redis = await startRedis();
    const v = await start(backend, redis, "rate: 1/m, burst: 10", "{{conn.ip}}", "", 2);
    const { all } = await spread([v], 40);
    // Both processes served: otherwise the test proves nothing.
    expect((await statusOf(v.status)).workers.map((w) => w.connections > 0)).toEqual([true, true]);
    expect(all).toEqual({ 200: 10, 429: 30 });
    expect(backend.requests).toBe(10);
  }, 60_000);

  it("counts different keys apart", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const redis = await startRedis();
    const vanes = [
      await start(backend, redis, "rate: 1/m, burst: 5", "{{req.header.x-user}}"),
      await start(backend, redis, "rate: 1/m, burst: 5", "{{req.header.x-user}}"),
    ];
    const a = await spread(vanes, 12, "alice");
    const b = await spread(vanes, 12, "bob");
    const again = await spread(vanes, 4, "alice");
    expect([a.all[200], b.all[200], again.all[200] ?? 0]).toEqual([5, 5, 0]);
    expect(backend.requests).toBe(10);
  }, 60_000);

  it("fails open when Redis goes away, says so once, and shares again once it is back", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const redis = await startRedis();
    const vanes = [await start(backend, redis, "rate: 1/m, burst: 5", "{{conn.ip}}")];
    expect((await spread(vanes, 8)).all).toEqual({ 200: 5, 429: 3 });
    await redis.kill();
    // Redis down: every request admitted (the default on-error is open).
    expect((await spread(vanes, 20)).all).toEqual({ 200: 20 });
    expect(lines(vanes[0], /redis unavailable/)).toHaveLength(1);
    expect(lines(vanes[0], /redis unavailable/)[0]).toContain(`store=${redis.url}`);
    await redis.start();
    await waitFor("vane says Redis is back", () => lines(vanes[0], /redis back/).length === 1, 15_000);
    // A restarted Redis lost its buckets (no persistence): a new one, shared again.
    expect((await spread(vanes, 8)).all).toEqual({ 200: 5, 429: 3 });
    expect(lines(vanes[0], /redis unavailable/)).toHaveLength(1);
  }, 60_000);

  it("fails closed with on-error: closed (429), and admits again once Redis is back", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const redis = await startRedis();
    const vanes = [await start(backend, redis, "rate: 1/m, burst: 5", "{{conn.ip}}", ", on-error: closed")];
    expect((await spread(vanes, 3)).all).toEqual({ 200: 3 });
    await redis.kill();
    await waitFor(
      "vane sees Redis gone",
      async () => (await get(vanes[0].port)) === 429 && lines(vanes[0], /redis unavailable/).length === 1,
    );
    expect((await spread(vanes, 10)).all).toEqual({ 429: 10 });
    await redis.start();
    await waitFor("vane says Redis is back", () => lines(vanes[0], /redis back/).length === 1, 15_000);
    expect((await spread(vanes, 8)).all).toEqual({ 200: 5, 429: 3 });
  }, 60_000);

  it("reports a bad store URL and a bad on-error by line and column", async () => {
    const path = join(dir, "bad.yaml");
    writeFileSync(
      path,
      `listeners:
  - listen: http://127.0.0.1:8080
    flow:
      - rate-limit: { rate: 1/s, store: "http://127.0.0.1:6379" }
      - rate-limit: { rate: 1/s, store: "redis://:hunter2@127.0.0.1:6379/x" }
      - rate-limit: { rate: 1/s, store: "redis://127.0.0.1", on-error: maybe }
      - rate-limit: { rate: 1/s, on-error: closed }
      - proxy: [127.0.0.1:9000]
`,
    );
    const p = spawnVane(["check", path]);
    expect(await p.exited).toBe(1);
    const expected = "a URL like redis://127.0.0.1:6379 or redis://user:pass@host:6379/2";
    expect(p.stderr().trim().split("\n")).toEqual([
      `${path}:4:41: listeners[0].flow[0].rate-limit.store: expected ${expected} (only redis://; no TLS); got "http://127.0.0.1:6379"`,
      `${path}:5:41: listeners[0].flow[1].rate-limit.store: expected ${expected} (a database number after /); got "redis://:***@127.0.0.1:6379/x"`,
      `${path}:6:72: listeners[0].flow[2].rate-limit.on-error: expected open or closed; got "maybe"`,
      `${path}:7:44: listeners[0].flow[3].rate-limit.on-error: on-error applies to a shared rate limit: add store: redis://HOST:PORT`,
      `${path}: 4 errors; nothing was started`,
    ]);
    expect(p.stderr()).not.toContain("hunter2");
  }, 20_000);
});

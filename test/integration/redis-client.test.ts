/**
 * vane's Redis client (src/store/redis/client.ts, link.ts) against a real redis-server
 * over the runtime's TCP: AUTH and SELECT from the URL, a wrong password said once,
 * a turn's commands pipelined on one connection and answered in order, a server that
 * never answers failing within the command timeout, and Redis killed and started again:
 * commands fail at once while it is down, then the client reconnects by itself and the
 * bucket script is loaded again (NOSCRIPT, then EVAL).
 */
import { afterEach, describe, expect, it } from "vitest";
import { RedisClient } from "../../src/store/redis/client.ts";
import { RedisLink } from "../../src/store/redis/link.ts";
import { BUCKET_SHA } from "../../src/store/redis/bucket-script.ts";
import { parseRedisUrl, type RedisUrl } from "../../src/config/redis-url.ts";
import { runtime } from "../../src/runtime/mod.ts";
import { SYSTEM_CLOCK } from "../../src/runtime/clock.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { haveRedis, startRedis, stopAllRedis } from "../helpers/redis.ts";
import { closeAll, startServer } from "../helpers/net.ts";
import { waitFor } from "../helpers/wait.ts";

const rt = runtime();
const connect = (addr: Parameters<typeof rt.connectTcp>[0], ms: number) => rt.connectTcp(addr, ms);
const clients: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await stopAllRedis();
  await closeAll();
});

function url(text: string): RedisUrl {
  const p = parseRedisUrl(text);
  if (!p.ok) throw new Error(p.reason);
  return p.url;
}

/** A client that records each state change as "up" or "down: REASON". */
function client(text: string, opts: { commandTimeoutMs?: number } = {}) {
  const states: string[] = [];
  const c = new RedisClient(connect, url(text), {
    ...opts,
    retryMinMs: 50,
    retryMaxMs: 200,
    onState: (up, reason) => states.push(up ? "up" : `down: ${reason}`),
  });
  clients.push(c);
  return { c, states };
}

describe.skipIf(!haveRedis())("RedisClient", () => {
  it("authenticates and selects the URL's database", async () => {
    const redis = await startRedis({ password: "s3cret" });
    const { c, states } = client(`redis://:s3cret@127.0.0.1:${redis.port}/3`);
    expect(await c.command(["SET", "vane-test", "here"])).toBe("OK");
    expect(await redis.cli("-n", "3", "GET", "vane-test")).toBe("here");
    expect(await redis.cli("-n", "0", "EXISTS", "vane-test")).toBe("0");
    expect(states).toEqual(["up"]);
  }, 20_000);

  it("says once that a wrong password is refused, and fails its commands", async () => {
    const redis = await startRedis({ password: "s3cret" });
    const { c, states } = client(`redis://:wrong@127.0.0.1:${redis.port}`);
    await expect(c.command(["PING"])).rejects.toThrow(/WRONGPASS|invalid password/);
    await new Promise((r) => setTimeout(r, 300));
    await expect(c.command(["PING"])).rejects.toThrow(/redis unavailable/);
    expect(states.length).toBe(1);
    expect(states[0]).toMatch(/^down: AUTH: (WRONGPASS|ERR invalid password)/);
  }, 20_000);

  it("pipelines a turn's commands on one connection and matches the replies in order", async () => {
    const redis = await startRedis();
    const { c } = client(redis.url);
    const replies = await Promise.all(Array.from({ length: 300 }, (_, i) => c.command(["ECHO", `m${i}`])));
    expect(replies).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    // One connection of the client's (redis-cli's own is the other).
    expect(await redis.cli("INFO", "clients")).toMatch(/connected_clients:2\r?\n/);
  }, 20_000);

  it("fails a command with no answer within the timeout, and says Redis is down", async () => {
    const silent = await startServer(() => {});
    const { c, states } = client(`redis://127.0.0.1:${silent.port}`, { commandTimeoutMs: 100 });
    await expect(c.command(["PING"])).rejects.toThrow(/redis unavailable: no answer/);
    expect(states[0]).toMatch(/^down: no answer (to PING )?within/);
  }, 20_000);

  it("fails at once while Redis is down, and reconnects once it is back", async () => {
    const redis = await startRedis();
    const { c, states } = client(redis.url);
    expect(await c.command(["PING"])).toBe("PONG");
    await redis.kill();
    await waitFor("the client sees Redis gone", () => states.length === 2);
    await expect(c.command(["PING"])).rejects.toThrow(/redis unavailable/);
    expect(c.available).toBe(false);
    await redis.start();
    await waitFor("the client reconnects", () => states.length === 3, 10_000);
    expect(await c.command(["PING"])).toBe("PONG");
    expect(states[0]).toBe("up");
    expect(states[1]).toMatch(/^down: connection closed by redis/);
    expect(states[2]).toBe("up");
  }, 30_000);
});

describe.skipIf(!haveRedis())("RedisLink", () => {
  it("runs the bucket script by EVALSHA, loading it with EVAL on a new or restarted Redis", async () => {
    const redis = await startRedis();
    const link = new RedisLink(connect, url(redis.url), silentLogger, {
      clock: SYSTEM_CLOCK,
      retryMinMs: 50,
      retryMaxMs: 200,
    });
    clients.push(link);
    expect(await redis.cli("SCRIPT", "EXISTS", BUCKET_SHA)).toBe("0");
    expect(await link.bucket("vane:rl:t:k", 1, 5, 3, 60_000)).toBe(3);
    expect(await redis.cli("SCRIPT", "EXISTS", BUCKET_SHA)).toBe("1");
    expect(await link.bucket("vane:rl:t:k", 1, 5, 3, 60_000)).toBe(2);
    // Given back: capped at the burst.
    expect(await link.bucket("vane:rl:t:k", 1, 5, -10, 60_000)).toBe(0);
    expect(Number(await redis.cli("HGET", "vane:rl:t:k", "t"))).toBe(5);
    expect(Number(await redis.cli("PTTL", "vane:rl:t:k"))).toBeGreaterThan(50_000);
    await redis.kill();
    await redis.start();
    await waitFor("the link reconnects", () => link.available && link.client.up, 10_000);
    expect(await link.bucket("vane:rl:t:k", 1, 5, 1, 60_000)).toBe(1);
  }, 30_000);

  it("fails a bucket call Redis refuses (OOM), saying so once, not per call", async () => {
    const redis = await startRedis();
    const warnings: string[] = [];
    const log = { ...silentLogger, warn: (msg: string) => void warnings.push(msg) };
    const link = new RedisLink(connect, url(redis.url), log, { clock: SYSTEM_CLOCK });
    clients.push(link);
    expect(await link.bucket("vane:rl:t:k", 1, 5, 1, 60_000)).toBe(1);
    await redis.cli("CONFIG", "SET", "maxmemory-policy", "noeviction");
    await redis.cli("CONFIG", "SET", "maxmemory", "1");
    for (let i = 0; i < 3; i++) await expect(link.bucket(`vane:rl:t:new${i}`, 1, 5, 1, 60_000)).rejects.toThrow(/OOM/);
    expect(warnings).toEqual(["redis refused a rate-limit update: judged by on-error"]);
    expect(link.available).toBe(true);
  }, 20_000);
});

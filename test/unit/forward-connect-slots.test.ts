/** connectToPool and the pool's maxconn slots: each failed attempt gives its slot back before the next is taken. */
import { beforeEach, describe, expect, it } from "vitest";
import { Pool } from "../../src/balance/pool.ts";
import { connectToPool } from "../../src/forward/connect.ts";
import { DEFAULT_HEALTH, DEFAULT_RETRY, type PoolConfig } from "../../src/config/model.ts";
import { parseTarget } from "../../src/config/target.ts";
import { HealthRegistry } from "../../src/health/registry.ts";
import { DnsCache } from "../../src/resolve/dns-cache.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { FakeClock } from "../helpers/fake-clock.ts";
import { FakeNetwork } from "../helpers/fake-runtime.ts";

let registry: HealthRegistry;
let clock: FakeClock;
let net: FakeNetwork;

beforeEach(() => {
  registry = new HealthRegistry(silentLogger);
  clock = new FakeClock();
  net = new FakeNetwork(clock);
});

function pool(targets: string[], limits: Partial<PoolConfig> = {}): Pool {
  const resolver = new TargetResolver(new DnsCache(() => Promise.resolve([]), new Map()), new StaticNodeRegistry({}));
  const config: PoolConfig = {
    name: "web",
    strategy: "serial",
    targets: targets.map(parseTarget),
    fallback: [],
    health: { ...DEFAULT_HEALTH, check: "none" },
    sendProxy: null,
    protocol: "http1",
    tls: null,
    passive: { failures: 1, on: ["connect"] },
    retryOn: ["conn-failure"],
    retry: { ...DEFAULT_RETRY },
    outlier: null,
    ...limits,
  };
  return new Pool(config, registry, resolver, () => clock.now(), clock);
}

const connector = () => ({ rt: net.runtime(), registry, connectMs: 1_000 });

describe("connectToPool with slots", () => {
  it("gives back the slot of a target that refused, and holds one on the target that took the connection", async () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"]);
    net.listen("127.0.1.2:80", () => {});
    const outcome = await connectToPool(p, connector());
    expect(outcome.ok).toBe(true);
    expect(outcome.attempts).toBe(2);
    expect(p.primary.map((e) => e.activeConnections)).toEqual([0, 1]);
    if (outcome.ok) p.give(outcome.upstream.entry);
    expect(p.primary.map((e) => e.activeConnections)).toEqual([0, 0]);
  });

  it("holds no slot when every attempt failed", async () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], { maxconn: 1 });
    const outcome = await connectToPool(p, connector());
    expect(outcome.ok).toBe(false);
    expect(p.primary.map((e) => e.activeConnections)).toEqual([0, 0]);
  });

  it("says the queue refused it, full or timed out, and holds no slot", async () => {
    const p = pool(["127.0.1.1:80"], { maxconn: 1, maxqueue: 1, queueTimeoutMs: 200 });
    net.listen("127.0.1.1:80", () => {});
    const first = await connectToPool(p, connector());
    expect(first.ok).toBe(true);
    const waiting = connectToPool(p, connector());
    const full = await connectToPool(p, connector());
    expect(full).toMatchObject({ ok: false, queue: "full" });
    await clock.advance(200);
    const timedOut = await waiting;
    expect(timedOut).toMatchObject({ ok: false, queue: "timeout" });
    if (!timedOut.ok) expect(timedOut.reason).toContain("queue");
    expect(p.primary[0].activeConnections).toBe(1);
  });

  it("connects a waiter once a slot is given back", async () => {
    const p = pool(["127.0.1.1:80"], { maxconn: 1 });
    net.listen("127.0.1.1:80", () => {});
    const first = await connectToPool(p, connector());
    const waiting = connectToPool(p, connector());
    expect(net.connects).toHaveLength(1);
    if (first.ok) p.give(first.upstream.entry);
    const second = await waiting;
    expect(second.ok).toBe(true);
    expect(net.connects).toHaveLength(2);
    expect(p.primary[0].activeConnections).toBe(1);
  });
});

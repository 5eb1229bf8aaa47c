/** Pool.take/give with `maxconn`: slots per target, the FIFO queue, its bounds and timeout (src/balance/pool-queue.ts). */
import { beforeEach, describe, expect, it } from "vitest";
import { type Pick as Chosen, Pool, type Taken } from "../../src/balance/pool.ts";
import { DEFAULT_HEALTH, DEFAULT_RETRY, type PoolConfig, type StrategyName } from "../../src/config/model.ts";
import { parseTarget } from "../../src/config/target.ts";
import { HealthRegistry, type TargetHealth } from "../../src/health/registry.ts";
import { DnsCache } from "../../src/resolve/dns-cache.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { FakeClock } from "../helpers/fake-clock.ts";

let registry: HealthRegistry;
let resolver: TargetResolver;
let clock: FakeClock;

beforeEach(() => {
  registry = new HealthRegistry(silentLogger);
  resolver = new TargetResolver(new DnsCache(() => Promise.resolve([]), new Map()), new StaticNodeRegistry({}));
  clock = new FakeClock();
});

function pool(
  targets: string[],
  limits: Pick<PoolConfig, "maxconn" | "maxqueue" | "queueTimeoutMs">,
  strategy: StrategyName = "serial",
  fallback: string[] = [],
): Pool {
  const config: PoolConfig = {
    name: "web",
    strategy,
    targets: targets.map(parseTarget),
    fallback: fallback.map(parseTarget),
    health: { ...DEFAULT_HEALTH, rise: 1, fall: 1 },
    sendProxy: null,
    protocol: "http1",
    tls: null,
    passive: { failures: 1, on: ["connect", "timeout", "reset"] },
    retryOn: ["conn-failure"],
    retry: { ...DEFAULT_RETRY },
    outlier: null,
    ...limits,
  };
  const p = new Pool(config, registry, resolver, () => clock.now(), clock);
  for (const e of p.entries()) registry.initial(e, { ok: true, latencyMs: 1 });
  return p;
}

/** The pick `take` gave at once (it must not wait). */
function now(taken: Taken | Promise<Taken>): Chosen {
  if (taken instanceof Promise || taken === null || "queue" in taken) throw new Error("expected a pick at once");
  return taken;
}

/** Waits in the queue, recording the order in which waiters are served. */
function waiting(p: Pool, served: string[], label: string, exclude?: ReadonlySet<TargetHealth>): Promise<Taken> {
  const taken = p.take(exclude);
  if (!(taken instanceof Promise)) throw new Error(`expected ${label} to wait`);
  return taken.then((t) => {
    served.push(t !== null && !("queue" in t) ? `${label}@${t.entry.key}` : `${label}:${t?.queue ?? "none"}`);
    return t;
  });
}

describe("Pool with maxconn", () => {
  it("takes a slot per pick and skips a target at its maxconn while another has room", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], { maxconn: 2 }, "serial");
    const keys = Array.from({ length: 4 }, () => now(p.take()).entry.key);
    // Serial alternates; each target fills to 2.
    expect(keys.sort()).toEqual(["127.0.1.1:80", "127.0.1.1:80", "127.0.1.2:80", "127.0.1.2:80"]);
    expect(p.primary.map((e) => e.activeConnections)).toEqual([2, 2]);
    p.give(p.primary[1]);
    // The only target with room is taken, whatever the rotation says.
    expect(now(p.take()).entry).toBe(p.primary[1]);
  });

  it("queues when every target is full and serves the waiters first come, first served", async () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], { maxconn: 1 }, "leastconn");
    const a = now(p.take());
    const b = now(p.take());
    expect(new Set([a.entry, b.entry]).size).toBe(2);
    const served: string[] = [];
    const waits = [waiting(p, served, "w1"), waiting(p, served, "w2"), waiting(p, served, "w3")];
    expect(p.queue!.length).toBe(3);
    p.give(b.entry);
    await Promise.resolve();
    expect(served).toEqual([`w1@${b.entry.key}`]);
    p.give(a.entry);
    p.give(b.entry);
    await Promise.all(waits.slice(0, 2));
    await Promise.resolve();
    expect(served).toEqual([`w1@${b.entry.key}`, `w2@${a.entry.key}`, `w3@${b.entry.key}`]);
    expect(p.queue!.length).toBe(0);
    // Each served waiter holds its slot: both targets are full again.
    expect(p.primary.map((e) => e.activeConnections)).toEqual([1, 1]);
  });

  it("refuses at once when maxqueue already wait, and counts it", async () => {
    const p = pool(["127.0.1.1:80"], { maxconn: 1, maxqueue: 1 });
    now(p.take());
    const served: string[] = [];
    void waiting(p, served, "w1");
    const refused = p.take();
    expect(refused).toEqual({ ok: false, reason: "the queue is full (maxqueue 1)", queue: "full" });
    expect(p.queue!.rejected).toEqual({ full: 1, timeout: 0 });
    // maxqueue 0: nobody waits.
    const none = pool(["127.0.1.2:80"], { maxconn: 1, maxqueue: 0 });
    now(none.take());
    expect(none.take()).toMatchObject({ queue: "full" });
  });

  it("refuses a waiter after queue-timeout, which then holds no slot and leaves the queue", async () => {
    const p = pool(["127.0.1.1:80"], { maxconn: 1, queueTimeoutMs: 500 });
    const held = now(p.take());
    const served: string[] = [];
    const w1 = waiting(p, served, "w1");
    await clock.advance(400);
    const w2 = waiting(p, served, "w2");
    await clock.advance(100);
    expect(await w1).toMatchObject({ ok: false, queue: "timeout" });
    expect((await w1 as { reason: string }).reason).toContain("500 ms");
    expect(p.queue!.length).toBe(1);
    p.give(held.entry);
    expect(await w2).toMatchObject({ entry: held.entry });
    expect(served).toEqual(["w1:timeout", `w2@${held.entry.key}`]);
    expect(p.queue!.rejected).toEqual({ full: 0, timeout: 1 });
    // The served waiter's timer is gone: it cannot time out later.
    expect(clock.pending).toBe(0);
    expect(held.entry.activeConnections).toBe(1);
  });

  it("passes over a waiter that excludes the freed target, serving the next one", async () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], { maxconn: 1 });
    const a = now(p.take());
    const b = now(p.take());
    const served: string[] = [];
    void waiting(p, served, "retry", new Set([a.entry]));
    const fresh = waiting(p, served, "fresh");
    p.give(a.entry);
    await fresh;
    expect(served).toEqual([`fresh@${a.entry.key}`]);
    p.give(b.entry);
    await Promise.resolve();
    await Promise.resolve();
    expect(served).toEqual([`fresh@${a.entry.key}`, `retry@${b.entry.key}`]);
  });

  it("gives a waiter null when no target is alive any more, rather than leave it waiting", async () => {
    const p = pool(["127.0.1.1:80"], { maxconn: 1 });
    const held = now(p.take());
    const served: string[] = [];
    const w = waiting(p, served, "w");
    registry.passiveFailure(held.entry, "ECONNREFUSED");
    p.give(held.entry);
    expect(await w).toBeNull();
    expect(held.entry.activeConnections).toBe(0);
  });

  it("serves a reloaded pool's waiters with the slots the old pool's requests give back", async () => {
    const old = pool(["127.0.1.1:80"], { maxconn: 1 });
    const held = now(old.take());
    // A reload: a new pool of the same name over the same entry, whose slot the old request still holds.
    const reloaded = pool(["127.0.1.1:80"], { maxconn: 1 });
    expect(reloaded.primary[0]).toBe(old.primary[0]);
    const served: string[] = [];
    const w = waiting(reloaded, served, "w");
    old.give(held.entry);
    expect(await w).toMatchObject({ entry: held.entry });
    expect(held.entry.activeConnections).toBe(1);
  });

  it("waits rather than spill a full primary set over to the fallback", () => {
    const p = pool(["127.0.1.1:80"], { maxconn: 1 }, "serial", ["127.0.9.1:80"]);
    now(p.take());
    const next = p.take();
    expect(next).toBeInstanceOf(Promise);
    expect(p.fallback[0].activeConnections).toBe(0);
  });
});

describe("Pool without maxconn", () => {
  it("has no queue and never waits: take counts the slot, give returns it", () => {
    const p = pool(["127.0.1.1:80"], {});
    expect(p.queue).toBeNull();
    const picks = Array.from({ length: 50 }, () => now(p.take()));
    expect(p.primary[0].activeConnections).toBe(50);
    for (const pick of picks) p.give(pick.entry);
    expect(p.primary[0].activeConnections).toBe(0);
    expect(clock.pending).toBe(0);
  });
});

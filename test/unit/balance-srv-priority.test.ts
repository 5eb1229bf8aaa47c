/**
 * A pool with an `srv:` target: the records' targets take its place, the lowest
 * priority with a live target serves by weight, and a new answer keeps the entries
 * (and so the health) of the targets that stay.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { Pool } from "../../src/balance/pool.ts";
import { DEFAULT_HEALTH, DEFAULT_OUTLIER, DEFAULT_RETRY, type PoolConfig } from "../../src/config/model.ts";
import { parseSrvTarget, parseTarget } from "../../src/config/target.ts";
import { HealthRegistry, type TargetHealth } from "../../src/health/registry.ts";
import { DnsCache } from "../../src/resolve/dns-cache.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import { expandSrv } from "../../src/resolve/srv-expand.ts";
import { servingPriority } from "../../src/balance/srv-priority.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

const SRV = parseSrvTarget("srv:_api._tcp.x.test");
let registry: HealthRegistry;
let resolver: TargetResolver;

beforeEach(() => {
  registry = new HealthRegistry(silentLogger);
  // Records name IP literals here, so no DNS is asked.
  resolver = new TargetResolver(new DnsCache(() => Promise.resolve([]), new Map()), new StaticNodeRegistry({}));
});

function pool(targets: string[], outlier: PoolConfig["outlier"] = null): Pool {
  const config: PoolConfig = {
    name: "api",
    strategy: "serial",
    targets: targets.map(parseTarget),
    fallback: [],
    health: { ...DEFAULT_HEALTH, rise: 1, fall: 1 },
    sendProxy: null,
    protocol: "http1",
    tls: null,
    passive: { failures: 1, on: ["connect"] },
    retryOn: ["conn-failure"],
    retry: { ...DEFAULT_RETRY },
    outlier,
  };
  const p = new Pool(config, registry, resolver);
  // As a generation does for the targets it lists.
  registry.outlierDetection(config.name, outlier, p.entries());
  return p;
}

const rec = (priority: number, weight: number, target: string) => ({ priority, weight, port: 80, target, ttl: 1 });
const up = (e: TargetHealth) => registry.initial(e, { ok: true, latencyMs: 1 });
const down = (e: TargetHealth) => registry.passiveFailure(e, "ECONNREFUSED");

function counts(p: Pool, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const key = p.pick()?.entry.key ?? "none";
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe("Pool with srv: targets", () => {
  it("puts the targets an answer adds under the pool's outlier detection, as the listed ones", () => {
    const p = pool(["10.0.0.1:80", SRV.raw], { ...DEFAULT_OUTLIER, consecutive5xx: 2 });
    p.expand("primary", SRV, expandSrv(SRV, [rec(10, 1, "10.0.1.1")]));
    const added = p.primary.find((e) => e.key === "10.0.1.1:80")!;
    expect(added.outlier).not.toBeNull();
    expect(added.outlier!.detector).toBe(p.primary[0].outlier!.detector);
    // Two 5xx in a row eject it, as they would a listed target.
    for (const e of p.primary) up(e);
    registry.answered(added, 502);
    registry.answered(added, 502);
    expect(added.ejectedUntil).toBeGreaterThan(0);
  });

  it("puts the records' targets in the srv: target's place, in list order", () => {
    const p = pool(["10.0.0.1:80", SRV.raw]);
    expect(p.primary.map((e) => e.key)).toEqual(["10.0.0.1:80"]);
    const change = p.expand("primary", SRV, expandSrv(SRV, [rec(10, 1, "10.0.1.1"), rec(20, 1, "10.0.1.2")]));
    expect(p.primary.map((e) => [e.key, e.srv?.priority ?? null])).toEqual([
      ["10.0.0.1:80", null],
      ["10.0.1.1:80", 10],
      ["10.0.1.2:80", 20],
    ]);
    expect(change.added.map((e) => e.key)).toEqual(["10.0.1.1:80", "10.0.1.2:80"]);
    expect(change.removed).toEqual([]);
  });

  it("serves the lowest priority by weight, the next one only when all of it is down", () => {
    const p = pool([SRV.raw]);
    p.expand("primary", SRV, expandSrv(SRV, [rec(10, 3, "10.0.1.1"), rec(10, 1, "10.0.1.2"), rec(20, 1, "10.0.1.3")]));
    p.primary.forEach(up);
    expect(counts(p, 40)).toEqual({ "10.0.1.1:80": 30, "10.0.1.2:80": 10 });
    down(p.primary[0]);
    expect(counts(p, 4)).toEqual({ "10.0.1.2:80": 4 });
    down(p.primary[1]);
    expect(counts(p, 4)).toEqual({ "10.0.1.3:80": 4 });
  });

  it("gives a weight-0 record a small share next to weighted ones", () => {
    const p = pool([SRV.raw]);
    p.expand("primary", SRV, expandSrv(SRV, [rec(10, 1, "10.0.1.1"), rec(10, 0, "10.0.1.2")]));
    p.primary.forEach(up);
    const got = counts(p, 202);
    expect(got["10.0.1.1:80"]).toBe(200);
    expect(got["10.0.1.2:80"]).toBe(2);
  });

  it("keeps the entries of records that stay, drops the gone ones and adds new ones down", () => {
    const p = pool([SRV.raw]);
    p.expand("primary", SRV, expandSrv(SRV, [rec(10, 1, "10.0.1.1"), rec(10, 1, "10.0.1.2")]));
    p.primary.forEach(up);
    const kept = p.primary[0];
    const change = p.expand("primary", SRV, expandSrv(SRV, [rec(10, 1, "10.0.1.1"), rec(10, 1, "10.0.1.3")]));
    expect(p.primary[0]).toBe(kept);
    expect(kept.up).toBe(true);
    expect(change.removed.map((e) => e.key)).toEqual(["10.0.1.2:80"]);
    expect(change.added.map((e) => [e.key, e.up])).toEqual([["10.0.1.3:80", false]]);
    expect(counts(p, 3)).toEqual({ "10.0.1.1:80": 3 });
  });

  it("judges priorities per SRV name and leaves targets written as such alone", () => {
    const e = (name: string | null, priority: number) => ({
      srv: name ? { name, priority } : null,
      id: `${name}${priority}`,
    });
    const live = [e("a", 20), e(null, 0), e("b", 30), e("a", 10), e("b", 40)];
    expect(servingPriority(live).map((x) => x.id)).toEqual(["null0", "b30", "a10"]);
  });
});

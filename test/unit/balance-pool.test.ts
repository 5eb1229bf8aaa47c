import { beforeEach, describe, expect, it } from "vitest";
import { Pool } from "../../src/balance/pool.ts";
import { DEFAULT_HEALTH, DEFAULT_RETRY, type PoolConfig, type StrategyName } from "../../src/config/model.ts";
import { parseTarget } from "../../src/config/target.ts";
import { HealthRegistry, type TargetHealth } from "../../src/health/registry.ts";
import { DnsCache, type DnsLookup } from "../../src/resolve/dns-cache.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import type { DnsAnswer } from "../../src/runtime/types.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

let registry: HealthRegistry;
let resolver: TargetResolver;
/** The in-memory DNS: name -> A answers. Only the DNS-target test uses it. */
let zone: Map<string, DnsAnswer[]>;
let cache: DnsCache;

beforeEach(() => {
  registry = new HealthRegistry(silentLogger);
  zone = new Map();
  const lookup: DnsLookup = async (name, type) => {
    if (type === "AAAA") return [];
    const answers = zone.get(name);
    if (!answers) throw new Error(`dns A ${name}: ENOTFOUND`);
    return answers;
  };
  cache = new DnsCache(lookup, new Map());
  resolver = new TargetResolver(cache, new StaticNodeRegistry({}));
});

function pool(targets: string[], fallback: string[] = [], strategy: StrategyName = "serial"): Pool {
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
  };
  return new Pool(config, registry, resolver);
}

const up = (e: TargetHealth) => registry.initial(e, { ok: true, latencyMs: 1 });
const down = (e: TargetHealth) => registry.passiveFailure(e, "ECONNREFUSED");

function keys(p: Pool, n: number, exclude?: ReadonlySet<TargetHealth>): (string | null)[] {
  return Array.from({ length: n }, () => p.pick(exclude)?.entry.key ?? null);
}

describe("Pool", () => {
  it("builds one entry per primary and fallback target, all down before any check", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], ["127.0.9.1:80"]);
    expect(p.name).toBe("web");
    expect(p.primary.map((e) => e.key)).toEqual(["127.0.1.1:80", "127.0.1.2:80"]);
    expect(p.fallback.map((e) => [e.key, e.role])).toEqual([["127.0.9.1:80", "fallback"]]);
    expect(p.entries()).toHaveLength(3);
    expect(p.pick()).toBeNull();
  });

  it("rotates serially over the live targets and returns the target's address", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80", "127.0.1.3:80"]);
    p.primary.forEach(up);
    expect(keys(p, 6)).toEqual([
      "127.0.1.1:80",
      "127.0.1.2:80",
      "127.0.1.3:80",
      "127.0.1.1:80",
      "127.0.1.2:80",
      "127.0.1.3:80",
    ]);
    const pick = p.pick()!;
    expect(pick.entry).toBe(p.primary[0]);
    expect(pick.addresses).toEqual(["127.0.1.1"]);
  });

  it("skips targets that are down, rotating over the rest", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80", "127.0.1.3:80"]);
    p.primary.forEach(up);
    down(p.primary[1]);
    expect(keys(p, 6)).toEqual([
      "127.0.1.1:80",
      "127.0.1.3:80",
      "127.0.1.1:80",
      "127.0.1.3:80",
      "127.0.1.1:80",
      "127.0.1.3:80",
    ]);
  });

  it("uses the fallback only when every primary is down, and leaves it when one returns", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], ["127.0.9.1:80"]);
    p.primary.forEach(up);
    p.fallback.forEach(up);
    expect(keys(p, 6).filter((k) => k === "127.0.9.1:80")).toEqual([]);

    down(p.primary[0]);
    expect(keys(p, 3)).toEqual(["127.0.1.2:80", "127.0.1.2:80", "127.0.1.2:80"]);

    down(p.primary[1]);
    const fb = p.pick()!;
    expect(fb.entry).toBe(p.fallback[0]);
    expect(fb.entry.role).toBe("fallback");
    expect(fb.addresses).toEqual(["127.0.9.1"]);

    registry.success(p.primary[1], 1);
    expect(keys(p, 3)).toEqual(["127.0.1.2:80", "127.0.1.2:80", "127.0.1.2:80"]);
  });

  it("rotates over the fallback set on its own counter, undisturbed by primary picks", () => {
    const p = pool(["127.0.1.1:80"], ["127.0.9.1:80", "127.0.9.2:80"]);
    p.entries().forEach(up);
    expect(keys(p, 3)).toEqual(["127.0.1.1:80", "127.0.1.1:80", "127.0.1.1:80"]);
    down(p.primary[0]);
    expect(keys(p, 3)).toEqual(["127.0.9.1:80", "127.0.9.2:80", "127.0.9.1:80"]);
    // The primary returns for a while; the fallback rotation resumes where it was.
    registry.success(p.primary[0], 1);
    expect(keys(p, 2)).toEqual(["127.0.1.1:80", "127.0.1.1:80"]);
    down(p.primary[0]);
    expect(keys(p, 2)).toEqual(["127.0.9.2:80", "127.0.9.1:80"]);
  });

  it("returns null when every primary and fallback target is down", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80"], ["127.0.9.1:80"]);
    p.entries().forEach(up);
    p.entries().forEach(down);
    expect(p.pick()).toBeNull();
  });

  it("never returns an excluded target, going to the fallback when all primaries are excluded", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80", "127.0.1.3:80"], ["127.0.9.1:80"]);
    p.entries().forEach(up);
    const first = new Set([p.primary[0]]);
    expect(keys(p, 4, first)).toEqual(["127.0.1.2:80", "127.0.1.3:80", "127.0.1.2:80", "127.0.1.3:80"]);
    expect(keys(p, 2, new Set(p.primary))).toEqual(["127.0.9.1:80", "127.0.9.1:80"]);
    expect(p.pick(new Set(p.entries()))).toBeNull();
  });

  it("excluding one target and another being down leaves the last one", () => {
    const p = pool(["127.0.1.1:80", "127.0.1.2:80", "127.0.1.3:80"]);
    p.primary.forEach(up);
    down(p.primary[2]);
    expect(keys(p, 3, new Set([p.primary[0]]))).toEqual(["127.0.1.2:80", "127.0.1.2:80", "127.0.1.2:80"]);
  });

  it("skips a DNS target until its name resolves", async () => {
    const p = pool(["app.internal:80", "127.0.1.2:80"]);
    p.primary.forEach(up);
    // Not resolved yet: only the IP target is eligible (and the pick starts a lookup).
    expect(keys(p, 2)).toEqual(["127.0.1.2:80", "127.0.1.2:80"]);
    // That lookup failed (the name is not in the zone yet); now the name appears.
    expect((await cache.refresh("app.internal")).error).toContain("ENOTFOUND");
    zone.set("app.internal", [{ address: "10.0.5.5", ttl: 60 }]);
    await cache.refresh("app.internal");
    const seen = new Map<string, string[]>();
    for (let i = 0; i < 4; i++) {
      const pick = p.pick()!;
      seen.set(pick.entry.key, pick.addresses);
    }
    expect(seen.get("app.internal:80")).toEqual(["10.0.5.5"]);
    expect(seen.get("127.0.1.2:80")).toEqual(["127.0.1.2"]);
  });
});

describe("Pool: weights", () => {
  it("gives a weight-0 target no traffic while it is alive (drained), and follows weights otherwise", () => {
    const p = pool(["127.0.1.1:80@0", "127.0.1.2:80@3", "127.0.1.3:80"]);
    for (const e of p.primary) up(e);
    const picks = keys(p, 8);
    expect(picks).not.toContain("127.0.1.1:80");
    expect(picks.filter((k) => k === "127.0.1.2:80")).toHaveLength(6);
  });

  it("goes to the fallback when only drained targets are left", () => {
    const p = pool(["127.0.1.1:80@0"], ["127.0.9.1:80"]);
    for (const e of p.entries()) up(e);
    expect(keys(p, 2)).toEqual(["127.0.9.1:80", "127.0.9.1:80"]);
  });
});

/**
 * DNS through the real runtime adapter, against a loopback DNS server (test/helpers/
 * dns-server.ts). Every query goes to that server: nothing here asks the system
 * resolver, so the tests need no network and no real names.
 */
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { parseEndpoint } from "../../src/config/target.ts";
import { DnsCache } from "../../src/resolve/dns-cache.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import { runtime } from "../../src/runtime/mod.ts";
import type { SocketAddress } from "../../src/runtime/types.ts";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.ts";
import { waitFor } from "../helpers/wait.ts";

const dns: TestDnsServer = await startDnsServer({
  "svc.vane.test": { A: ["127.20.30.40", "127.20.30.41"], AAAA: ["2001:db8::40"], ttl: 42 },
  "v4only.vane.test": { A: ["127.20.30.50"] },
  "moving.vane.test": { A: ["10.0.0.1"], ttl: 1 },
});
const server: SocketAddress = { hostname: "127.0.0.1", port: dns.port };

afterAll(async () => {
  await dns.close();
});

describe("runtime().resolveDns against a loopback DNS server", () => {
  it("returns the A records with the TTL the server gave", async () => {
    const before = dns.queries;
    const answers = await runtime().resolveDns("svc.vane.test", "A", server);
    expect(answers.sort((x, y) => x.address.localeCompare(y.address))).toEqual([
      { address: "127.20.30.40", ttl: 42 },
      { address: "127.20.30.41", ttl: 42 },
    ]);
    // The answer came from our server, not from anywhere else.
    expect(dns.queries).toBeGreaterThan(before);
  });

  it("returns AAAA records", async () => {
    expect(await runtime().resolveDns("svc.vane.test", "AAAA", server)).toEqual([{ address: "2001:db8::40", ttl: 42 }]);
  });

  it("uses the default TTL of the server when the record has none set", async () => {
    expect(await runtime().resolveDns("v4only.vane.test", "A", server)).toEqual([{ address: "127.20.30.50", ttl: 60 }]);
  });

  it("rejects for a name that does not exist, naming it", async () => {
    await expect(runtime().resolveDns("missing.vane.test", "A", server)).rejects.toThrow(/missing\.vane\.test/);
  });

  it("gives no AAAA answer for a name that has only A records", async () => {
    // The server answers NOERROR with no answers. node:dns on Deno and Bun reports that
    // as ENOTFOUND (Node says ENODATA); the contract in src/runtime/types.ts allows an
    // empty list or a rejection, and DnsCache judges a name by A and AAAA together.
    const answer = await runtime().resolveDns("v4only.vane.test", "AAAA", server).catch((err: Error) => err.message);
    if (typeof answer === "string") expect(answer).toBe("dns AAAA v4only.vane.test: ENOTFOUND");
    else expect(answer).toEqual([]);
  });
});

describe("TargetResolver + DnsCache over the real adapter", () => {
  let resolver: TargetResolver;

  beforeEach(() => {
    const cache = new DnsCache((n, t) => runtime().resolveDns(n, t, server), new Map());
    resolver = new TargetResolver(cache, new StaticNodeRegistry({}));
  });

  it("resolves a DNS target to its A and AAAA addresses", async () => {
    const res = await resolver.fresh(parseEndpoint("svc.vane.test:8080"));
    expect(res.error).toBeNull();
    expect(res.addresses.sort()).toEqual(["127.20.30.40", "127.20.30.41", "2001:db8::40"]);
  });

  it("resolves a name with only A records", async () => {
    expect(await resolver.fresh(parseEndpoint("v4only.vane.test:80"))).toEqual({
      addresses: ["127.20.30.50"],
      error: null,
    });
  });

  it("picks up a changed address once the TTL has expired", async () => {
    const spec = parseEndpoint("moving.vane.test:80");
    expect((await resolver.fresh(spec)).addresses).toEqual(["10.0.0.1"]);
    expect(resolver.current(spec).addresses).toEqual(["10.0.0.1"]);
    dns.set("moving.vane.test", { A: ["10.0.0.2"], ttl: 1 });
    // The data path (current) never waits; it refreshes in the background once stale.
    await waitFor(
      "the new address of moving.vane.test",
      () => resolver.current(spec).addresses.includes("10.0.0.2"),
      6000,
    );
    expect(resolver.current(spec).addresses).toEqual(["10.0.0.2"]);
  }, 15000);

  it(
    "a name that does not exist has no addresses and an error; once added it resolves after the negative TTL",
    async () => {
      const spec = parseEndpoint("late.vane.test:80");
      const failedAt = performance.now();
      const res = await resolver.fresh(spec);
      expect(res.addresses).toEqual([]);
      expect(res.error).toMatch(/late\.vane\.test/);

      dns.set("late.vane.test", { A: ["10.0.0.3"], ttl: 30 });
      const queriesAfterFailure = dns.queries;
      const stillCached = resolver.current(spec);
      if (performance.now() - failedAt < 4000) {
        // Well inside the negative TTL the failure is served from the cache, no new query.
        expect(stillCached.addresses).toEqual([]);
        expect(dns.queries).toBe(queriesAfterFailure);
      }
      await waitFor("late.vane.test to resolve", () => resolver.current(spec).addresses.includes("10.0.0.3"), 9000);
      expect(resolver.current(spec)).toMatchObject({ addresses: ["10.0.0.3"], error: null });
    },
    15000,
  );
});

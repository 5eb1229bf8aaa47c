import { beforeEach, describe, expect, it } from "vitest";
import {
  DnsCache,
  type DnsLookup,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
  NEGATIVE_TTL_SECONDS,
} from "../../src/resolve/dns-cache.ts";
import { loadHosts, parseHosts } from "../../src/resolve/hosts.ts";
import type { DnsAnswer, DnsRecordType } from "../../src/runtime/types.ts";

/** An in-memory DNS: answers from `zone`, ENOTFOUND for names it lacks; counts calls. */
class FakeDns {
  zone = new Map<string, { A?: DnsAnswer[]; AAAA?: DnsAnswer[] }>();
  calls: string[] = [];
  lookup: DnsLookup = async (name: string, type: DnsRecordType) => {
    this.calls.push(`${type} ${name}`);
    const rec = this.zone.get(name);
    if (!rec) throw new Error(`dns ${type} ${name}: ENOTFOUND`);
    return rec[type] ?? [];
  };
  /** Queries made for `name` (one query asks A and AAAA). */
  queries(name: string): number {
    return this.calls.filter((c) => c === `A ${name}`).length;
  }
}

let dns: FakeDns;
let clock: number;
const now = () => clock;

beforeEach(() => {
  dns = new FakeDns();
  clock = 100_000;
});

const a = (address: string, ttl = 60): DnsAnswer => ({ address, ttl });

/** Lets pending promise callbacks (a background refresh) run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("DnsCache: hosts table", () => {
  it("answers hosts-table names without ever calling lookup, and never expires them", async () => {
    const cache = new DnsCache(dns.lookup, parseHosts("127.9.9.9 db.local\n::1 db.local\n"), now);
    const entry = await cache.get("db.local");
    expect(entry).toEqual({ addresses: ["127.9.9.9", "::1"], error: null, expiresAt: Infinity });
    expect(cache.peek("db.local")).toBe(entry);
    clock += 1e9;
    expect(await cache.get("db.local")).toBe(entry);
    await settle();
    expect(dns.calls).toEqual([]);
  });

  it("peek of a hosts name before any get fills the entry without lookup", async () => {
    const cache = new DnsCache(dns.lookup, parseHosts("10.1.1.1 h\n"), now);
    expect(cache.peek("h")).toBeNull();
    await settle();
    expect(cache.peek("h")?.addresses).toEqual(["10.1.1.1"]);
    expect(dns.calls).toEqual([]);
  });
});

describe("DnsCache: answers", () => {
  it("merges A and AAAA answers, A first, without duplicates", async () => {
    dns.zone.set("svc", {
      A: [a("10.0.0.1"), a("10.0.0.2"), a("10.0.0.1")],
      AAAA: [a("2001:db8::1"), a("2001:db8::1")],
    });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    const entry = await cache.get("svc");
    expect(entry.addresses).toEqual(["10.0.0.1", "10.0.0.2", "2001:db8::1"]);
    expect(entry.error).toBeNull();
    expect(dns.calls.sort()).toEqual(["A svc", "AAAA svc"]);
  });

  it("a name with only A records resolves even when the AAAA query fails", async () => {
    const cache = new DnsCache(
      async (name, type) => {
        if (type === "AAAA") throw new Error(`dns AAAA ${name}: ENOTFOUND`);
        return [a("10.0.0.7", 30)];
      },
      new Map(),
      now,
    );
    expect(await cache.get("v4only")).toEqual({ addresses: ["10.0.0.7"], error: null, expiresAt: clock + 30_000 });
  });

  it("keeps the entry for the smallest TTL among the answers", async () => {
    dns.zone.set("svc", { A: [a("10.0.0.1", 30)], AAAA: [a("::2", 10)] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    expect((await cache.get("svc")).expiresAt).toBe(clock + 10_000);
  });

  it("clamps TTL 0 to 1s and TTL 1e6 to 3600s", async () => {
    expect(MIN_TTL_SECONDS).toBe(1);
    expect(MAX_TTL_SECONDS).toBe(3600);
    dns.zone.set("zero", { A: [a("10.0.0.1", 0)] });
    dns.zone.set("huge", { A: [a("10.0.0.2", 1e6)] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    expect((await cache.get("zero")).expiresAt).toBe(clock + 1_000);
    expect((await cache.get("huge")).expiresAt).toBe(clock + 3_600_000);
  });
});

describe("DnsCache: expiry and refresh", () => {
  it("serves a fresh entry from the cache without asking again", async () => {
    dns.zone.set("svc", { A: [a("10.0.0.1", 5)] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    await cache.get("svc");
    clock += 4_999;
    expect((await cache.get("svc")).addresses).toEqual(["10.0.0.1"]);
    expect(cache.peek("svc")?.addresses).toEqual(["10.0.0.1"]);
    await settle();
    expect(dns.queries("svc")).toBe(1);
  });

  it("peek returns the stale entry at once and refreshes it in the background", async () => {
    dns.zone.set("svc", { A: [a("10.0.0.1", 5)] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    await cache.get("svc");
    dns.zone.set("svc", { A: [a("10.0.0.2", 5)] });
    clock += 5_000;
    expect(cache.peek("svc")?.addresses).toEqual(["10.0.0.1"]);
    expect(dns.queries("svc")).toBe(2);
    await settle();
    const refreshed = cache.peek("svc");
    expect(refreshed?.addresses).toEqual(["10.0.0.2"]);
    expect(refreshed?.expiresAt).toBe(clock + 5_000);
    expect(dns.queries("svc")).toBe(2);
  });

  it("peek of an unknown name returns null and starts the first lookup", async () => {
    dns.zone.set("svc", { A: [a("10.0.0.1")] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    expect(cache.peek("svc")).toBeNull();
    expect(dns.queries("svc")).toBe(1);
    await settle();
    expect(cache.peek("svc")?.addresses).toEqual(["10.0.0.1"]);
  });

  it("get waits for a fresh entry once the old one has expired", async () => {
    dns.zone.set("svc", { A: [a("10.0.0.1", 5)] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    await cache.get("svc");
    dns.zone.set("svc", { A: [a("10.0.0.2", 5)] });
    clock += 6_000;
    expect((await cache.get("svc")).addresses).toEqual(["10.0.0.2"]);
    expect(dns.queries("svc")).toBe(2);
  });

  it("concurrent get() calls share one lookup", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const cache = new DnsCache(
      async (_name, type) => {
        calls++;
        await gate;
        return type === "A" ? [a("10.0.0.1")] : [];
      },
      new Map(),
      now,
    );
    const pending = [cache.get("svc"), cache.get("svc"), cache.get("svc")];
    cache.peek("svc");
    release();
    const [x, y, z] = await Promise.all(pending);
    expect(calls).toBe(2); // one A and one AAAA query, for all callers
    expect(x.addresses).toEqual(["10.0.0.1"]);
    expect(y).toBe(x);
    expect(z).toBe(x);
  });

  it("different names are looked up separately", async () => {
    dns.zone.set("one", { A: [a("10.0.0.1")] });
    dns.zone.set("two", { A: [a("10.0.0.2")] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    const [one, two] = await Promise.all([cache.get("one"), cache.get("two")]);
    expect(one.addresses).toEqual(["10.0.0.1"]);
    expect(two.addresses).toEqual(["10.0.0.2"]);
  });
});

describe("DnsCache: failures", () => {
  it("a failing lookup gives an entry with the error and no addresses, kept for the negative TTL", async () => {
    expect(NEGATIVE_TTL_SECONDS).toBe(5);
    const cache = new DnsCache(dns.lookup, new Map(), now);
    const entry = await cache.get("late");
    expect(entry.addresses).toEqual([]);
    expect(entry.error).toContain("ENOTFOUND");
    expect(entry.error).toContain("late");
    expect(entry.expiresAt).toBe(clock + 5_000);

    // The name appears, but the failure is remembered until the negative TTL passes.
    dns.zone.set("late", { A: [a("10.0.0.9")] });
    clock += 4_999;
    expect((await cache.get("late")).addresses).toEqual([]);
    expect(dns.queries("late")).toBe(1);

    clock += 1;
    const retried = await cache.get("late");
    expect(retried).toEqual({ addresses: ["10.0.0.9"], error: null, expiresAt: clock + 60_000 });
    expect(dns.queries("late")).toBe(2);
  });

  it("peek retries a failed name in the background once the negative TTL has passed", async () => {
    const cache = new DnsCache(dns.lookup, new Map(), now);
    await cache.get("late");
    dns.zone.set("late", { A: [a("10.0.0.9")] });
    clock += 5_000;
    expect(cache.peek("late")?.error).toContain("ENOTFOUND");
    await settle();
    expect(cache.peek("late")?.addresses).toEqual(["10.0.0.9"]);
  });

  it("a name that exists without A or AAAA records is an error too", async () => {
    dns.zone.set("empty", {});
    const cache = new DnsCache(dns.lookup, new Map(), now);
    const entry = await cache.get("empty");
    expect(entry.addresses).toEqual([]);
    expect(entry.error).toContain("empty");
    expect(entry.expiresAt).toBe(clock + 5_000);
  });

  it("a failed refresh of a known name replaces its addresses with the error", async () => {
    dns.zone.set("gone", { A: [a("10.0.0.1", 1)] });
    const cache = new DnsCache(dns.lookup, new Map(), now);
    await cache.get("gone");
    dns.zone.delete("gone");
    clock += 1_000;
    const entry = await cache.get("gone");
    expect(entry.addresses).toEqual([]);
    expect(entry.error).toContain("ENOTFOUND");
  });
});

describe("parseHosts", () => {
  it("reads comments, several names per line, IPv6, trailing dots and case", () => {
    const table = parseHosts(
      [
        "# a comment line",
        "127.0.0.1\tlocalhost   Localhost.Localdomain",
        "::1 localhost ip6-localhost # trailing comment",
        "",
        "   ",
        "10.0.0.5  DB.Example.COM.  db",
        "#10.0.0.6 disabled.example.com",
        "10.0.0.7 db",
        "10.0.0.7 db",
      ].join("\n"),
    );
    expect(table.get("localhost")).toEqual(["127.0.0.1", "::1"]);
    expect(table.get("localhost.localdomain")).toEqual(["127.0.0.1"]);
    expect(table.get("ip6-localhost")).toEqual(["::1"]);
    expect(table.get("db.example.com")).toEqual(["10.0.0.5"]);
    expect(table.get("db")).toEqual(["10.0.0.5", "10.0.0.7"]);
    expect(table.has("disabled.example.com")).toBe(false);
    expect(table.has("#")).toBe(false);
    expect(table.has("comment")).toBe(false);
    expect([...table.keys()].sort()).toEqual([
      "db",
      "db.example.com",
      "ip6-localhost",
      "localhost",
      "localhost.localdomain",
    ]);
  });

  it("handles Windows line endings", () => {
    const table = parseHosts("10.0.0.1 one\r\n10.0.0.2 two\r\n");
    expect(table.get("one")).toEqual(["10.0.0.1"]);
    expect(table.get("two")).toEqual(["10.0.0.2"]);
  });

  it("loadHosts falls back to an empty table when the file cannot be read", async () => {
    const table = await loadHosts(() => Promise.reject(new Error("ENOENT")));
    expect(table.size).toBe(0);
    const read = await loadHosts(async (path) => (path === "/etc/hosts" ? "10.0.0.1 x" : ""));
    expect(read.get("x")).toEqual(["10.0.0.1"]);
  });
});

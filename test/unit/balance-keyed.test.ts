/**
 * The strategies added for issue 23 point 4 (src/balance/leastconn.ts, p2c.ts, hash.ts,
 * sticky.ts): each one's distribution, and what happens when targets come and go.
 */
import { describe, expect, it } from "vitest";
import { HashStrategy } from "../../src/balance/hash.ts";
import { LeastConnStrategy } from "../../src/balance/leastconn.ts";
import { P2cStrategy } from "../../src/balance/p2c.ts";
import { stickyId, StickyStrategy } from "../../src/balance/sticky.ts";
import type { Candidate } from "../../src/balance/strategy.ts";
import { cand, picks, weighted } from "../helpers/candidates.ts";

/** A deterministic source in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loaded(key: string, active: number, weight = 1): Candidate {
  return { key, weight, latencyMs: null, activeConnections: active };
}

function counts(keys: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return out;
}

const USERS = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
const hashOn = (bound = 1.25) => new HashStrategy({ on: "header", name: "X-User" }, bound);

describe("LeastConnStrategy", () => {
  it("picks the candidate with the fewest in-flight requests", () => {
    const s = new LeastConnStrategy();
    const set = [loaded("a", 5), loaded("b", 1), loaded("c", 3)];
    expect(picks(s, set, 10)).toEqual(Array(10).fill("b"));
  });

  it("divides by weight: 4 in flight on weight 4 is lighter than 2 on weight 1", () => {
    const s = new LeastConnStrategy();
    expect(s.pick([loaded("a", 2, 1), loaded("b", 4, 4)]).key).toBe("b");
  });

  it("rotates among ties, so idle equal targets share evenly", () => {
    const set = ["a", "b", "c"].map((k) => cand(k));
    expect(counts(picks(new LeastConnStrategy(), set, 300))).toEqual({ a: 100, b: 100, c: 100 });
  });

  it("keeps loads level when each pick adds one in flight, and a new target fills up first", () => {
    const s = new LeastConnStrategy();
    const set = ["a", "b", "c"].map((k) => loaded(k, 0));
    for (let i = 0; i < 30; i++) s.pick(set).activeConnections++;
    expect(set.map((c) => c.activeConnections)).toEqual([10, 10, 10]);
    const joined = [...set, loaded("d", 0)];
    for (let i = 0; i < 10; i++) s.pick(joined).activeConnections++;
    expect(joined[3].activeConnections).toBe(10);
  });
});

describe("P2cStrategy", () => {
  it("with two candidates always takes the less loaded one", () => {
    const s = new P2cStrategy(seeded(1));
    expect(picks(s, [loaded("a", 3), loaded("b", 1)], 50)).toEqual(Array(50).fill("b"));
  });

  it("never picks the most loaded of three (it always loses its pair)", () => {
    const s = new P2cStrategy(seeded(2));
    const got = counts(picks(s, [loaded("a", 0), loaded("b", 0), loaded("c", 9)], 600));
    expect(got.c).toBeUndefined();
    expect(got.a).toBeGreaterThan(200);
    expect(got.b).toBeGreaterThan(200);
  });

  it("keeps loads within one of each other when each pick adds one in flight", () => {
    const s = new P2cStrategy(seeded(3));
    const set = ["a", "b", "c", "d", "e"].map((k) => loaded(k, 0));
    for (let i = 0; i < 500; i++) s.pick(set).activeConnections++;
    const loads = set.map((c) => c.activeConnections);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(3);
  });

  it("draws in proportion to weight when idle (weight 3 gets about 3 of 4)", () => {
    const s = new P2cStrategy(seeded(4));
    const got = counts(picks(s, [weighted("a", 3), weighted("b", 1)], 4000));
    // Idle: the pair is always {a, b} and the first drawn wins the tie.
    expect(got.a / 4000).toBeGreaterThan(0.7);
    expect(got.a / 4000).toBeLessThan(0.8);
  });
});

describe("HashStrategy", () => {
  const five = ["t1", "t2", "t3", "t4", "t5"].map((k) => cand(k));

  it("sends the same key to the same target every time", () => {
    const s = hashOn();
    for (const u of USERS.slice(0, 50)) {
      const first = s.pick(five, u).key;
      for (let i = 0; i < 5; i++) expect(s.pick(five, u).key).toBe(first);
    }
  });

  it("spreads 1000 keys over 5 targets within 30% of an even share each", () => {
    const got = counts(USERS.map((u) => hashOn().pick(five, u).key));
    for (const k of ["t1", "t2", "t3", "t4", "t5"]) {
      expect(got[k]).toBeGreaterThan(140);
      expect(got[k]).toBeLessThan(260);
    }
  });

  it("moves only the keys of a target that leaves; every other key stays put", () => {
    const s = hashOn();
    const before = USERS.map((u) => s.pick(five, u).key);
    const four = five.filter((c) => c.key !== "t3");
    const after = USERS.map((u) => s.pick(four, u).key);
    let moved = 0;
    for (let i = 0; i < USERS.length; i++) {
      if (before[i] === "t3") moved++;
      else expect(after[i]).toBe(before[i]);
      expect(after[i]).not.toBe("t3");
    }
    expect(moved).toBeGreaterThan(140);
    expect(moved).toBeLessThan(260);
    // t3 back: its keys come home, the others again do not move.
    expect(USERS.map((u) => s.pick(five, u).key)).toEqual(before);
  });

  it("gives a joining target only keys it takes from others (about 1/6)", () => {
    const s = hashOn();
    const before = USERS.map((u) => s.pick(five, u).key);
    const six = [...five, cand("t6")];
    const after = USERS.map((u) => s.pick(six, u).key);
    const moved = after.filter((k, i) => k !== before[i]);
    expect(new Set(moved)).toEqual(new Set(["t6"]));
    expect(moved.length).toBeGreaterThan(110);
    expect(moved.length).toBeLessThan(230);
  });

  it("gives keys in proportion to weight (weight 3 of 5 about 60%)", () => {
    const set = [weighted("a", 3), weighted("b", 1), weighted("c", 1)];
    const got = counts(USERS.map((u) => hashOn().pick(set, u).key));
    expect(got.a).toBeGreaterThan(540);
    expect(got.a).toBeLessThan(660);
  });

  it("bounds load: a hot key's target over 1.25 x the average is passed over for the next", () => {
    const s = hashOn();
    const set = ["a", "b", "c", "d"].map((k) => loaded(k, 0));
    const home = s.pick(set, "hot").key;
    // 40 in-flight requests of the same key: with no bound they would all go home.
    for (let i = 0; i < 40; i++) s.pick(set, "hot").activeConnections++;
    for (const c of set) expect(c.activeConnections).toBeLessThanOrEqual(Math.ceil(1.25 * 40 / 4));
    expect(set.find((c) => c.key === home)!.activeConnections).toBe(13);
    // Load gone: the key is home again.
    for (const c of set) c.activeConnections = 0;
    expect(s.pick(set, "hot").key).toBe(home);
  });

  it("spreads requests with no key round robin-like over every target", () => {
    const got = counts(picks(hashOn(), five, 500));
    expect(Object.keys(got).sort()).toEqual(["t1", "t2", "t3", "t4", "t5"]);
    for (const n of Object.values(got)) expect(n).toBeGreaterThan(60);
  });
});

describe("StickyStrategy", () => {
  const three = ["a:80", "b:80", "c:80"].map((k) => cand(k));

  it("sends a request whose cookie names a live target to that target", () => {
    const s = new StickyStrategy("srv");
    for (const c of three) {
      expect(picks({ name: "x", pick: (set) => s.pick(set, stickyId(c.key)) }, three, 5))
        .toEqual(Array(5).fill(c.key));
    }
  });

  it("gives a request without a cookie, or with a gone target's, the least loaded target", () => {
    const s = new StickyStrategy("srv");
    const set = [loaded("a:80", 4), loaded("b:80", 0), loaded("c:80", 2)];
    expect(s.pick(set).key).toBe("b:80");
    expect(s.pick(set, "deadbeef").key).toBe("b:80");
    expect(s.pick(set.filter((c) => c.key !== "a:80"), stickyId("a:80")).key).toBe("b:80");
  });

  it("names targets by an opaque, stable id, not their address", () => {
    expect(stickyId("10.0.0.1:80")).toMatch(/^[0-9a-f]{8}$/);
    expect(stickyId("10.0.0.1:80")).not.toContain("10.0.0.1");
    expect(new StickyStrategy("x").idOf("a:80")).toBe(stickyId("a:80"));
    expect(new Set(three.map((c) => stickyId(c.key))).size).toBe(3);
  });
});

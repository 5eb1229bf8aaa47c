import { describe, expect, it } from "vitest";
import { FastestStrategy } from "../../src/balance/fastest.ts";
import { createStrategy } from "../../src/balance/mod.ts";
import { RandomStrategy } from "../../src/balance/random.ts";
import { SerialStrategy } from "../../src/balance/serial.ts";
import type { Candidate, Strategy } from "../../src/balance/strategy.ts";

function cand(key: string, latencyMs: number | null = null): Candidate {
  return { key, weight: 1, latencyMs, activeConnections: 0 };
}

function picks(s: Strategy, candidates: readonly Candidate[], n: number): string[] {
  return Array.from({ length: n }, () => s.pick(candidates).key);
}

/** A "random" source that returns the given values in turn. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

const abc = [cand("a"), cand("b"), cand("c")];

describe("RandomStrategy", () => {
  it("picks the element at floor(r * n) of the injected random number", () => {
    const s = new RandomStrategy(sequence(0, 0.34, 0.5, 0.67, 0.999, 0.33));
    expect(picks(s, abc, 6)).toEqual(["a", "b", "b", "c", "c", "a"]);
  });

  it("stays inside the list even for a random source that returns 1", () => {
    const s = new RandomStrategy(() => 1);
    expect(abc.map((c) => c.key)).toContain(s.pick(abc).key);
  });

  it("with one candidate always returns it", () => {
    const only = [cand("solo")];
    expect(picks(new RandomStrategy(sequence(0, 0.5, 0.999)), only, 3)).toEqual(["solo", "solo", "solo"]);
  });

  it("over many picks with Math.random chooses every candidate", () => {
    const five = ["a", "b", "c", "d", "e"].map((k) => cand(k));
    const seen = new Set(picks(new RandomStrategy(), five, 500));
    expect([...seen].sort()).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("returns an element of the list it was given (the same object)", () => {
    const s = new RandomStrategy(() => 0.5);
    expect(s.pick(abc)).toBe(abc[1]);
  });
});

describe("SerialStrategy", () => {
  it("goes round robin over three candidates: 9 picks give a,b,c three times", () => {
    expect(picks(new SerialStrategy(), abc, 9)).toEqual(["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
  });

  it("keeps rotating when the candidate set shrinks, never picking the one that left", () => {
    const s = new SerialStrategy();
    expect(picks(s, abc, 2)).toEqual(["a", "b"]);
    // b goes down: the counter runs on over the live ones, so a and c alternate.
    const ac = [abc[0], abc[2]];
    expect(picks(s, ac, 6)).toEqual(["a", "c", "a", "c", "a", "c"]);
    // and back to three when b returns.
    const back = picks(s, abc, 6);
    expect(back.filter((k) => k === "a").length).toBe(2);
    expect(back.filter((k) => k === "b").length).toBe(2);
    expect(back.filter((k) => k === "c").length).toBe(2);
  });

  it("spreads evenly over a shrunk set too", () => {
    const s = new SerialStrategy();
    picks(s, abc, 1);
    const two = picks(s, [abc[1], abc[2]], 10);
    expect(two.filter((k) => k === "b").length).toBe(5);
    expect(two.filter((k) => k === "c").length).toBe(5);
  });
});

describe("weights", () => {
  const weighted = (key: string, weight: number): Candidate => ({ ...cand(key), weight });

  it("serial gives each target its weight's share, spread out (smooth weighted round robin)", () => {
    const s = new SerialStrategy();
    expect(picks(s, [weighted("a", 3), weighted("b", 1)], 8).join("")).toBe("aabaaaba");
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const k of picks(new SerialStrategy(), [weighted("a", 5), weighted("b", 3), weighted("c", 2)], 100)) {
      counts[k]++;
    }
    expect(counts).toEqual({ a: 50, b: 30, c: 20 });
  });

  it("random picks in proportion to weight", () => {
    // Total weight 4: r in [0, 0.75) is a, [0.75, 1) is b.
    const s = new RandomStrategy(sequence(0, 0.5, 0.74, 0.75, 0.99));
    expect(picks(s, [weighted("a", 3), weighted("b", 1)], 5)).toEqual(["a", "a", "a", "b", "b"]);
  });
});

describe("FastestStrategy", () => {
  it("picks the candidate with the lowest latency, every time", () => {
    const s = new FastestStrategy();
    const set = [cand("a", 30), cand("b", 10), cand("c", 20)];
    expect(picks(s, set, 5)).toEqual(["b", "b", "b", "b", "b"]);
  });

  it("ranks an unmeasured (null) latency after every measured one", () => {
    const s = new FastestStrategy();
    expect(picks(s, [cand("new", null), cand("slow", 900)], 4)).toEqual(["slow", "slow", "slow", "slow"]);
    expect(picks(s, [cand("slow", 900), cand("new", null)], 4)).toEqual(["slow", "slow", "slow", "slow"]);
  });

  it("alternates between candidates tied for the lowest latency, leaving slower ones out", () => {
    const s = new FastestStrategy();
    const chosen = picks(s, [cand("a", 10), cand("b", 10), cand("c", 30)], 6);
    expect(chosen.filter((k) => k === "a").length).toBe(3);
    expect(chosen.filter((k) => k === "b").length).toBe(3);
    for (let i = 1; i < chosen.length; i++) expect(chosen[i]).not.toBe(chosen[i - 1]);
  });

  it("shares the load among candidates that are all unmeasured", () => {
    const s = new FastestStrategy();
    const chosen = picks(s, [cand("x"), cand("y"), cand("z")], 6);
    expect([...new Set(chosen)].sort()).toEqual(["x", "y", "z"]);
  });
});

describe("createStrategy", () => {
  it("returns the strategy the pool names", () => {
    const random = createStrategy("random");
    const serial = createStrategy("serial");
    const fastest = createStrategy("fastest");
    expect(random).toBeInstanceOf(RandomStrategy);
    expect(random.name).toBe("random");
    expect(serial).toBeInstanceOf(SerialStrategy);
    expect(serial.name).toBe("serial");
    expect(fastest).toBeInstanceOf(FastestStrategy);
    expect(fastest.name).toBe("fastest");
  });

  it("gives each call its own instance, so rotations are per pool", () => {
    const one = createStrategy("serial");
    const two = createStrategy("serial");
    expect(one).not.toBe(two);
    expect(picks(one, abc, 2)).toEqual(["a", "b"]);
    expect(picks(two, abc, 1)).toEqual(["a"]);
    expect(picks(one, abc, 1)).toEqual(["c"]);
  });
});

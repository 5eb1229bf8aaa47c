/** RandomStrategy (src/balance/random.ts): a random pick in proportion to weight, on an injected source. */
import { describe, expect, it } from "vitest";
import { RandomStrategy } from "../../src/balance/random.ts";
import { cand, picks, sequence, weighted } from "../helpers/candidates.ts";

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

describe("RandomStrategy: weights", () => {
  it("random picks in proportion to weight", () => {
    // Total weight 4: r in [0, 0.75) is a, [0.75, 1) is b.
    const s = new RandomStrategy(sequence(0, 0.5, 0.74, 0.75, 0.99));
    expect(picks(s, [weighted("a", 3), weighted("b", 1)], 5)).toEqual(["a", "a", "a", "b", "b"]);
  });
});

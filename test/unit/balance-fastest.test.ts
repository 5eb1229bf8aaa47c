/** FastestStrategy (src/balance/fastest.ts): the lowest measured latency, ties in turn. */
import { describe, expect, it } from "vitest";
import { FastestStrategy } from "../../src/balance/fastest.ts";
import { cand, picks } from "../helpers/candidates.ts";

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

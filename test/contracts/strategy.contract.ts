/**
 * What every load-balancing `Strategy` (src/balance/strategy.ts) promises, as one suite
 * to run over each implementation (as Hono runs one suite over every router): a pick is
 * an element of the candidates it was given, whatever they are; one candidate is always
 * that one; equal candidates all get picked; a shrunk set is respected at once; the
 * candidates are not changed. What a strategy promises beyond that (its order, its
 * weights) is in its own test, test/unit/balance-<name>.test.ts.
 */
import { describe, expect, it } from "vitest";
import type { Candidate, Strategy } from "../../src/balance/strategy.ts";
import { cand, picks, weighted } from "../helpers/candidates.ts";

/** Registers the contract's cases for the strategy `make` builds (a fresh one per case). */
export function strategyContract(name: string, make: () => Strategy): void {
  describe(`Strategy contract: ${name}`, () => {
    it("returns an element of the candidates it was given (the same object), every time", () => {
      const sets: Candidate[][] = [
        ["a", "b", "c"].map((k) => cand(k)),
        [weighted("a", 3), weighted("b", 1), weighted("c", 10)],
        [cand("a", 30), cand("b", 10), cand("c", null)],
        [{ ...cand("a", 5), activeConnections: 7 }, cand("b", 5)],
      ];
      const s = make();
      for (const set of sets) {
        for (let i = 0; i < 50; i++) expect(set).toContain(s.pick(set));
      }
    });

    it("with one candidate returns that one, whatever its weight or latency", () => {
      const s = make();
      for (const only of [cand("solo"), cand("slow", 900), weighted("heavy", 7)]) {
        expect(picks(s, [only], 5)).toEqual(Array(5).fill(only.key));
      }
    });

    it("picks every one of five equal candidates over 500 picks (none is starved)", () => {
      const equalSets = [
        ["a", "b", "c", "d", "e"].map((k) => cand(k)),
        ["a", "b", "c", "d", "e"].map((k) => cand(k, 20)),
        ["a", "b", "c", "d", "e"].map((k) => weighted(k, 4)),
      ];
      for (const set of equalSets) {
        expect([...new Set(picks(make(), set, 500))].sort()).toEqual(["a", "b", "c", "d", "e"]);
      }
    });

    it("never picks a candidate that left the set, and takes one that joins", () => {
      const s = make();
      const [a, b, c] = ["a", "b", "c"].map((k) => cand(k));
      picks(s, [a, b, c], 3);
      for (const k of picks(s, [a, c], 50)) expect(["a", "c"]).toContain(k);
      const grown = [a, b, c, cand("d")];
      expect(picks(s, grown, 200)).toContain("d");
    });

    it("leaves the candidates as they were (they may be frozen)", () => {
      const set = Object.freeze(["a", "b", "c"].map((k) => Object.freeze(cand(k, 10))));
      const before = JSON.stringify(set);
      expect(() => picks(make(), set, 20)).not.toThrow();
      expect(JSON.stringify(set)).toBe(before);
    });

    it("names itself", () => {
      expect(make().name).toMatch(/^[a-z][a-z0-9]*$/);
    });
  });
}

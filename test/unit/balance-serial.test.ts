/** SerialStrategy (src/balance/serial.ts): round robin over the live candidates, smooth with weights. */
import { describe, expect, it } from "vitest";
import { SerialStrategy } from "../../src/balance/serial.ts";
import { cand, picks, weighted } from "../helpers/candidates.ts";

const abc = [cand("a"), cand("b"), cand("c")];

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

describe("SerialStrategy: weights", () => {
  it("serial gives each target its weight's share, spread out (smooth weighted round robin)", () => {
    const s = new SerialStrategy();
    expect(picks(s, [weighted("a", 3), weighted("b", 1)], 8).join("")).toBe("aabaaaba");
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    for (const k of picks(new SerialStrategy(), [weighted("a", 5), weighted("b", 3), weighted("c", 2)], 100)) {
      counts[k]++;
    }
    expect(counts).toEqual({ a: 50, b: 30, c: 20 });
  });
});

/** createStrategy (src/balance/mod.ts): the strategy a pool names, one instance per pool. */
import { describe, expect, it } from "vitest";
import { FastestStrategy } from "../../src/balance/fastest.ts";
import { createStrategy } from "../../src/balance/mod.ts";
import { RandomStrategy } from "../../src/balance/random.ts";
import { SerialStrategy } from "../../src/balance/serial.ts";
import { cand, picks } from "../helpers/candidates.ts";

const abc = [cand("a"), cand("b"), cand("c")];

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

/**
 * The Strategy contract (strategy.contract.ts) over every strategy `createStrategy`
 * builds, by the names the config accepts (STRATEGIES), so a new strategy is covered the
 * moment it is added there; and over RandomStrategy with an injected source.
 */
import { describe, expect, it } from "vitest";
import { createStrategy } from "../../src/balance/mod.ts";
import { RandomStrategy } from "../../src/balance/random.ts";
import { STRATEGIES } from "../../src/config/model.ts";
import { sequence } from "../helpers/candidates.ts";
import { strategyContract } from "./strategy.contract.ts";

/** Every plain strategy, and the keyed ones as a pool would name them. */
const NAMES = [...STRATEGIES, "hash:client", "hash:header:X-User,bound=2", "sticky:cookie:srv"] as const;
for (const name of NAMES) strategyContract(name, () => createStrategy(name));
strategyContract(
  "random with an injected source",
  () => new RandomStrategy(sequence(0, 0.21, 0.43, 0.65, 0.87, 0.999)),
);

describe("the strategies under contract", () => {
  it("are the ones createStrategy builds, each named as asked", () => {
    expect(STRATEGIES.length).toBeGreaterThan(0);
    for (const name of NAMES) expect(createStrategy(name).name).toBe(name.split(":")[0]);
  });
});

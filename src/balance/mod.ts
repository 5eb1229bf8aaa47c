/** Builds the strategy a pool names; one instance per pool, so counters are per pool. */
import type { StrategyName } from "../config/model.ts";
import { FastestStrategy } from "./fastest.ts";
import { RandomStrategy } from "./random.ts";
import { SerialStrategy } from "./serial.ts";
import type { Strategy } from "./strategy.ts";

export type { Candidate, Strategy } from "./strategy.ts";

export function createStrategy(name: StrategyName): Strategy {
  switch (name) {
    case "random":
      return new RandomStrategy();
    case "serial":
      return new SerialStrategy();
    case "fastest":
      return new FastestStrategy();
  }
}

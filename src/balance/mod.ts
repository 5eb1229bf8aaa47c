/** Builds the strategy a pool names; one instance per pool, so counters are per pool. */
import type { StrategyName } from "../config/model.ts";
import { parseStrategy } from "../config/strategy-spec.ts";
import { FastestStrategy } from "./fastest.ts";
import { HashStrategy } from "./hash.ts";
import { LeastConnStrategy } from "./leastconn.ts";
import { P2cStrategy } from "./p2c.ts";
import { RandomStrategy } from "./random.ts";
import { SerialStrategy } from "./serial.ts";
import { StickyStrategy } from "./sticky.ts";
import type { Strategy } from "./strategy.ts";

export type { Candidate, KeyOn, Strategy } from "./strategy.ts";

/**
 * A new strategy as `name` (a pool's canonical `strategy` text) describes it.
 * @param name As the config readers leave it (parseStrategy accepted it).
 * @returns A fresh instance: rotations and caches are the pool's own.
 * @throws ConfigError for a name parseStrategy refuses.
 * @example createStrategy("hash:header:X-User").keyOn; // { on: "header", name: "X-User" }
 */
export function createStrategy(name: StrategyName): Strategy {
  const spec = parseStrategy(name);
  switch (spec.kind) {
    case "random":
      return new RandomStrategy();
    case "serial":
      return new SerialStrategy();
    case "fastest":
      return new FastestStrategy();
    case "leastconn":
      return new LeastConnStrategy();
    case "p2c":
      return new P2cStrategy();
    case "hash":
      return new HashStrategy({ on: spec.on, name: spec.name }, spec.bound);
    case "sticky":
      return new StickyStrategy(spec.cookie);
  }
}

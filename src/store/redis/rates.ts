/**
 * The rate limits of one process that count in Redis (`rate-limit: { store: redis://... }`),
 * as a RateStores (flow/rate-store.ts): one connection per Redis URL, shared by every
 * action and every generation that names it (a reload does not reconnect), and one
 * lease table per action (lease-table.ts).
 *
 * A bucket's Redis key is `vane:rl:<where>:<key>`: `where` is the listener and the
 * action's place in its flow (e.g. `t0.1`), which is the same on every vane serving the
 * same config; the generation number is not in it (it differs between processes), so a
 * reload, or a vane restarting, goes on with the fleet's counts. With `--workers N`
 * each process connects to Redis itself: the primary and every worker are one more
 * member of the fleet.
 */
import { SYSTEM_CLOCK } from "../../runtime/clock.ts";
import type { Clock } from "../../runtime/clock.ts";
import type { Logger } from "../../telemetry/logger.ts";
import type { RateLimitPlace, RateLimitSpec, RateStore, RateStores } from "../../flow/rate-store.ts";
import { parseRedisUrl } from "../../config/redis-url.ts";
import type { Connector, RedisClientOptions } from "./client.ts";
import { RedisLink } from "./link.ts";
import { RedisLeaseTable } from "./lease-table.ts";

/** The namespace of vane's rate-limit buckets in Redis. */
export const KEY_PREFIX = "vane:rl:";

export interface RedisRatesOptions extends RedisClientOptions {
  /** @default SYSTEM_CLOCK */
  clock?: Clock;
}

export class RedisRates implements RateStores {
  readonly #links = new Map<string, RedisLink>();
  readonly #connect: Connector;
  readonly #log: Logger;
  readonly #options: RedisRatesOptions;

  constructor(connect: Connector, log: Logger, options: RedisRatesOptions = {}) {
    this.#connect = connect;
    this.#log = log;
    this.#options = options;
  }

  /** A store for an action whose `limit.store` names a Redis URL (throws without one: a bug). */
  open(limit: RateLimitSpec, place: RateLimitPlace): RateStore {
    const store = limit.store;
    if (store === undefined) throw new Error(`rate limit ${place.where} has no store`);
    return new RedisLeaseTable(`${KEY_PREFIX}${place.where}:`, limit, store.onError === "open", this.#link(store.url));
  }

  /** Closes every connection (vane stops). */
  close(): void {
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
  }

  #link(raw: string): RedisLink {
    let link = this.#links.get(raw);
    if (link) return link;
    const parsed = parseRedisUrl(raw);
    // The config was validated when it was read: a URL failing here is a bug.
    if (!parsed.ok) throw new Error(parsed.reason);
    link = new RedisLink(this.#connect, parsed.url, this.#log, {
      ...this.#options,
      clock: this.#options.clock ?? SYSTEM_CLOCK,
    });
    this.#links.set(raw, link);
    return link;
  }
}

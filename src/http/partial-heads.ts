/**
 * How many connections from each client address are in the middle of a request head
 * right now, and the cap on it (`http.max-partial-heads`): the cheap answer to
 * slowloris, where one address opens many connections and keeps each one's head
 * unfinished. The request-head deadline bounds how long each such head may last; this
 * bounds how many there are at once. Only heads that did not come whole in one read
 * are counted (the engine's slow path), so the usual request never touches it.
 *
 * One per vane instance, so per process: with workers, each worker counts its own
 * connections (HAProxy's per-source trackers are per process too unless shared by peers).
 */
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";

export class PartialHeads {
  /** Address -> heads in progress; an address leaves the map when its count is back to 0. */
  #counts = new Map<string, number>();

  /** `log`'s refusal lines are limited per address (telemetry/log-limit.ts). */
  constructor(readonly log: Logger) {}

  /**
   * A head from `address` began and did not come whole: counted, unless `limit` heads
   * of that address are in progress already (false: refuse the connection). 0: no limit.
   */
  enter(address: string, limit: number): boolean {
    const n = this.#counts.get(address) ?? 0;
    if (limit > 0 && n >= limit) {
      this.#refused(address, limit);
      return false;
    }
    this.#counts.set(address, n + 1);
    return true;
  }

  /** The head that `enter` counted ended: whole, broken, timed out or cut. */
  leave(address: string): void {
    const n = this.#counts.get(address);
    if (n === undefined) return;
    if (n <= 1) this.#counts.delete(address);
    else this.#counts.set(address, n - 1);
  }

  /** Heads from `address` in progress now. */
  count(address: string): number {
    return this.#counts.get(address) ?? 0;
  }

  #refused(address: string, limit: number): void {
    limited(this.log).warn("connection closed: too many unfinished request heads from this address", "client", {
      client: address,
      limit,
    });
  }
}

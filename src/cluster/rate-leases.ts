/**
 * A worker's rate limits under `--workers N` (the RateStores the worker's flows use):
 * one WorkerLeaseTable per rate-limit action (cluster/rate-lease-table.ts), and the traffic
 * with the primary's RateAuthority. What the tables want and give back during one turn
 * of the event loop goes out as one message, however many keys a flood brings; the
 * primary's grants come back as one answer.
 *
 * The primary names counts by its own generation numbers, which it hands over with
 * each config (`adopt`): a worker's generations are numbered on its own.
 */
import type { Clock } from "../runtime/clock.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { RateLimitPlace, RateLimitSpec, RateStore, RateStores } from "../flow/rate-store.ts";
import { ASK_TIMEOUT_MS, LEASE_MS, type LeaseLink, WorkerLeaseTable } from "./rate-lease-table.ts";
import type { LimitId, RateAsk, RateGrants } from "./rate-messages.ts";

export interface RateLeasesDeps {
  clock: Clock;
  /** Sends one turn's asks to the primary. */
  send: (ask: RateAsk) => void;
  /** How many processes serve, the primary included: alone, a worker counts with 1/workers of each limit. */
  workers: number;
  log: Logger;
}

export class RateLeases implements RateStores, LeaseLink {
  readonly #deps: RateLeasesDeps;
  /** The primary's generation number of each config this worker was handed. */
  readonly #generations = new WeakMap<object, number>();
  /** Tables holding leases, by limit: where grants go, whose leases expire. */
  readonly #active = new Map<LimitId, WorkerLeaseTable>();
  /** This turn's asks, by table. */
  #wants = new Map<WorkerLeaseTable, Set<string>>();
  #backs: RateAsk["back"] = [];
  #flushing = false;
  #sweeping = false;
  #lost = false;

  constructor(deps: RateLeasesDeps) {
    this.#deps = deps;
  }

  get clock(): Clock {
    return this.#deps.clock;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** `config` is the primary's generation `generation`: the limits a build of it opens are named so. */
  adopt(config: object, generation: number): void {
    this.#generations.set(config, generation);
  }

  open(limit: RateLimitSpec, place: RateLimitPlace): RateStore {
    const generation = this.#generations.get(place.config) ?? place.generation;
    return new WorkerLeaseTable(`${generation}/${place.where}`, limit, this.#deps.workers, this);
  }

  /** The primary's answer to a turn's asks. */
  grant(grants: RateGrants): void {
    for (const [id, key, n] of grants) {
      const table = this.#active.get(id);
      if (table) table.granted(key, n);
      else if (n > 0) this.#backs.push([id, key, n]);
    }
    if (this.#backs.length > 0) this.#schedule();
  }

  /** The channel to the primary closed: every limit counts alone from now on (said once). */
  lose(): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#deps.log.warn("lost the primary: rate limits now count in this worker alone, with its share of each", {
      workers: this.#deps.workers,
    });
    for (const table of [...this.#active.values()]) table.lose();
    this.#wants.clear();
    this.#backs = [];
  }

  want(table: WorkerLeaseTable, key: string): void {
    let keys = this.#wants.get(table);
    if (!keys) this.#wants.set(table, keys = new Set());
    keys.add(key);
    this.#schedule();
  }

  back(table: WorkerLeaseTable, key: string, n: number): void {
    if (this.#lost) return;
    this.#backs.push([table.id, key, n]);
    this.#schedule();
  }

  active(table: WorkerLeaseTable, on: boolean): void {
    if (on) this.#active.set(table.id, table);
    else if (this.#active.get(table.id) === table) this.#active.delete(table.id);
    if (on && !this.#sweeping) {
      this.#sweeping = true;
      this.#deps.clock.setTimeout(() => this.#sweep(), LEASE_MS / 2);
    }
  }

  #schedule(): void {
    if (this.#flushing || this.#lost) return;
    this.#flushing = true;
    this.#deps.clock.setTimeout(() => this.#flush(), 0);
  }

  /** Sends this turn's asks and returns as one message, and watches the asks' answers come in time. */
  #flush(): void {
    this.#flushing = false;
    if (this.#lost) return;
    const ask: RateAsk = { limits: {}, want: [], back: this.#backs };
    const asked: Array<[WorkerLeaseTable, string, number]> = [];
    for (const [table, keys] of this.#wants) {
      for (const key of keys) {
        const n = table.startAsk(key);
        if (n === 0) continue;
        ask.want.push([table.id, key, n]);
        asked.push([table, key, table.askOf(key)]);
      }
      if (keys.size > 0) ask.limits[table.id] = [table.limit.rate, table.limit.burst];
    }
    this.#wants = new Map();
    this.#backs = [];
    if (ask.want.length === 0 && ask.back.length === 0) return;
    this.#deps.send(ask);
    if (asked.length === 0) return;
    this.#deps.clock.setTimeout(() => {
      for (const [table, key, askId] of asked) table.timedOut(key, askId);
    }, ASK_TIMEOUT_MS);
  }

  /** Every LEASE_MS / 2 while tables hold leases: old leases give their tokens back. */
  #sweep(): void {
    this.#sweeping = false;
    for (const table of [...this.#active.values()]) table.sweep();
    if (this.#active.size > 0 && !this.#lost) {
      this.#sweeping = true;
      this.#deps.clock.setTimeout(() => this.#sweep(), LEASE_MS / 2);
    }
  }
}

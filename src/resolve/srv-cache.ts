/**
 * SRV answers by name, kept for the records' TTL (clamped like A records, dns-cache.ts).
 * A failed lookup keeps the last good records, so a DNS outage does not empty a pool,
 * and is asked again after the negative TTL. An answer without records counts as a
 * failure for the same reason: a pool is never emptied by DNS alone.
 */
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS, NEGATIVE_TTL_SECONDS } from "./dns-cache.ts";
import type { SrvRecord } from "./dns-wire.ts";
import type { SrvLookup } from "./srv-query.ts";
import { errorText } from "../errors/mod.ts";

export interface SrvEntry {
  /** The last good records (empty until the first answer with records). */
  records: SrvRecord[];
  /** Why the last lookup failed; null when it answered. */
  error: string | null;
  /** Monotonic ms after which the name is asked again. */
  expiresAt: number;
}

export class SrvCache {
  #entries = new Map<string, SrvEntry>();
  #inFlight = new Map<string, Promise<SrvEntry>>();

  readonly #lookup: SrvLookup;
  readonly #now: () => number;
  constructor(lookup: SrvLookup, now: () => number = () => performance.now()) {
    this.#lookup = lookup;
    this.#now = now;
  }

  /** What the cache holds now (null before the first lookup ended). */
  peek(name: string): SrvEntry | null {
    return this.#entries.get(name) ?? null;
  }

  /** The entry, fresh: waits for a lookup when there is none or it has expired. */
  async get(name: string): Promise<SrvEntry> {
    const entry = this.#entries.get(name);
    if (entry && entry.expiresAt > this.#now()) return entry;
    return await this.refresh(name);
  }

  /** One lookup per name at a time; concurrent callers share it. */
  refresh(name: string): Promise<SrvEntry> {
    const running = this.#inFlight.get(name);
    if (running) return running;
    const p = this.#query(name).then((entry) => {
      this.#entries.set(name, entry);
      return entry;
    }).finally(() => this.#inFlight.delete(name));
    this.#inFlight.set(name, p);
    return p;
  }

  async #query(name: string): Promise<SrvEntry> {
    const last = this.#entries.get(name)?.records ?? [];
    const failed = (error: string) => ({
      records: last,
      error,
      expiresAt: this.#now() + NEGATIVE_TTL_SECONDS * 1000,
    });
    let records: SrvRecord[];
    try {
      records = await this.#lookup(name);
    } catch (err) {
      return failed(errorText(err));
    }
    if (records.length === 0) return failed(`dns SRV ${name}: no SRV records`);
    const ttl = Math.min(...records.map((r) => r.ttl));
    const clamped = Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, ttl));
    return { records, error: null, expiresAt: this.#now() + clamped * 1000 };
  }
}

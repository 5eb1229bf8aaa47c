/**
 * Names to addresses, cached for the record TTL. The data path never waits for DNS:
 * it reads what the cache holds and a stale entry is refreshed in the background.
 * A name that does not resolve is remembered as an error for a short time and asked
 * again, so a target whose name appears later comes into service by itself.
 */
import type { DnsAnswer, DnsRecordType } from "../runtime/types.ts";
import type { HostsTable } from "./hosts.ts";

export type DnsLookup = (name: string, type: DnsRecordType) => Promise<DnsAnswer[]>;

/** TTLs outside these bounds are clamped: 0 would query per connection, a day hides moves. */
export const MIN_TTL_SECONDS = 1;
export const MAX_TTL_SECONDS = 3600;
/** How long a failed lookup is remembered before it is asked again. */
export const NEGATIVE_TTL_SECONDS = 5;

export interface DnsEntry {
  addresses: string[];
  error: string | null;
  /** Monotonic ms after which the entry is refreshed. */
  expiresAt: number;
}

export class DnsCache {
  #entries = new Map<string, DnsEntry>();
  #inFlight = new Map<string, Promise<DnsEntry>>();

  readonly #lookup: DnsLookup;
  readonly #hosts: HostsTable;
  readonly #now: () => number;
  constructor(
    lookup: DnsLookup,
    hosts: HostsTable,
    now: () => number = () => performance.now(),
  ) {
    this.#lookup = lookup;
    this.#hosts = hosts;
    this.#now = now;
  }

  /** What the cache holds now (null before the first answer); starts a refresh when stale. */
  peek(name: string): DnsEntry | null {
    const entry = this.#entries.get(name) ?? null;
    if (!entry || entry.expiresAt <= this.#now()) this.refresh(name).catch(() => {});
    return entry;
  }

  /** The entry, fresh: waits for a lookup when there is none or it has expired. */
  async get(name: string): Promise<DnsEntry> {
    const entry = this.#entries.get(name);
    if (entry && entry.expiresAt > this.#now()) return entry;
    return await this.refresh(name);
  }

  /** One lookup per name at a time; concurrent callers share it. */
  refresh(name: string): Promise<DnsEntry> {
    const running = this.#inFlight.get(name);
    if (running) return running;
    const p = this.#query(name).then((entry) => {
      this.#entries.set(name, entry);
      return entry;
    }).finally(() => this.#inFlight.delete(name));
    this.#inFlight.set(name, p);
    return p;
  }

  async #query(name: string): Promise<DnsEntry> {
    const fromHosts = this.#hosts.get(name);
    if (fromHosts) return { addresses: fromHosts, error: null, expiresAt: Infinity };
    const [a, aaaa] = await Promise.allSettled([this.#lookup(name, "A"), this.#lookup(name, "AAAA")]);
    const answers = [a, aaaa].flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    if (answers.length === 0) {
      const failure = [a, aaaa].find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
      const error = failure ? String(failure.reason?.message ?? failure.reason) : `dns ${name}: no A or AAAA records`;
      return { addresses: [], error, expiresAt: this.#now() + NEGATIVE_TTL_SECONDS * 1000 };
    }
    const ttl = Math.min(...answers.map((x) => x.ttl));
    const clamped = Math.min(MAX_TTL_SECONDS, Math.max(MIN_TTL_SECONDS, ttl));
    return {
      addresses: [...new Set(answers.map((x) => x.address))],
      error: null,
      expiresAt: this.#now() + clamped * 1000,
    };
  }
}

/**
 * Connections open per listener and client address, for a listener's
 * `max-conns-per-client` (HAProxy's `src_conn_cur` in a stick table, compared in a
 * `tcp-request connection reject`). Per process: with `--workers N`, each worker counts
 * the connections the kernel gave it. Entries go when their count reaches 0, so the map
 * holds only addresses with a connection open.
 */
export class ClientCounts {
  readonly #open = new Map<string, number>();

  /** One more from `ip` on `listener`, if it holds fewer than `max`: the key to leave with; else null. */
  enter(listener: string, ip: string, max: number): string | null {
    const key = `${listener}\u0000${ip}`;
    const n = this.#open.get(key) ?? 0;
    if (n >= max) return null;
    this.#open.set(key, n + 1);
    return key;
  }

  leave(key: string): void {
    const n = (this.#open.get(key) ?? 1) - 1;
    if (n <= 0) this.#open.delete(key);
    else this.#open.set(key, n);
  }

  /** Addresses with a connection open (for tests and the status endpoint). */
  get size(): number {
    return this.#open.size;
  }
}

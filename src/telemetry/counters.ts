/** Process-wide traffic totals, the numbers behind vane_bytes_total and friends. */
export class TrafficCounters {
  /** TCP connections accepted on the listeners. */
  accepted = 0;
  upstreamBytes = 0;
  downstreamBytes = 0;
  /** Connections by what their first bytes were (tls, other, invalid). */
  readonly detections: Record<string, number> = {};
  /** Clients refused before they were served, by why (`deny`: a listener's allow/deny ranges). */
  readonly refused: Record<string, number> = {};

  /** HTTP responses by route, pool and status code (key: the three joined by NUL). */
  get requests(): ReadonlyMap<string, number> {
    this.#addPending();
    return this.#requests;
  }

  readonly #requests = new Map<string, number>();
  /**
   * Responses counted under #lastKey and not yet added to #requests: a number field
   * incremented per response, where a Map's look-up and update per response were a
   * measurable share of vane's JavaScript per L7 request on Deno.
   */
  #pending = 0;

  /** The keys of `requests` by route, pool and code: made once, not per response. */
  readonly #keys = new Map<string | null, Map<string | null, Map<number, string>>>();

  /** The last response's route, pool, code and key: most responses are counted under the one before's. */
  #lastRoute: string | null = null;
  #lastPool: string | null = null;
  #lastCode = -1;
  #lastKey = "";

  countResponse(route: string | null, pool: string | null, code: number): void {
    if (code === this.#lastCode && route === this.#lastRoute && pool === this.#lastPool) {
      this.#pending++;
      return;
    }
    this.#addPending();
    let byPool = this.#keys.get(route);
    if (!byPool) this.#keys.set(route, byPool = new Map());
    let byCode = byPool.get(pool);
    if (!byCode) byPool.set(pool, byCode = new Map());
    let key = byCode.get(code);
    if (key === undefined) byCode.set(code, key = `${route ?? ""}\u0000${pool ?? ""}\u0000${code}`);
    this.#lastRoute = route;
    this.#lastPool = pool;
    this.#lastCode = code;
    this.#lastKey = key;
    this.#pending = 1;
  }

  #addPending(): void {
    if (this.#pending === 0) return;
    this.#requests.set(this.#lastKey, (this.#requests.get(this.#lastKey) ?? 0) + this.#pending);
    this.#pending = 0;
  }

  /** Retries not made, by pool and why (key: the two joined by NUL). */
  readonly retriesSkipped = new Map<string, number>();

  countRetrySkipped(pool: string, reason: string): void {
    const key = `${pool}\u0000${reason}`;
    this.retriesSkipped.set(key, (this.retriesSkipped.get(key) ?? 0) + 1);
  }

  countRefused(reason: string): void {
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
  }

  countDetection(protocol: string): void {
    this.detections[protocol] = (this.detections[protocol] ?? 0) + 1;
  }
}

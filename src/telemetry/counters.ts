/** Process-wide traffic totals, the numbers behind vane_bytes_total and friends. */
export class TrafficCounters {
  /** TCP connections accepted on the listeners. */
  accepted = 0;
  upstreamBytes = 0;
  downstreamBytes = 0;
  /** Connections by what their first bytes were (tls, other, invalid). */
  readonly detections: Record<string, number> = {};

  /** HTTP responses by route, pool and status code (key: the three joined by NUL). */
  readonly requests = new Map<string, number>();

  countResponse(route: string | null, pool: string | null, code: number): void {
    const key = `${route ?? ""}\u0000${pool ?? ""}\u0000${code}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  countDetection(protocol: string): void {
    this.detections[protocol] = (this.detections[protocol] ?? 0) + 1;
  }
}

/** Process-wide traffic totals, the numbers behind vane_bytes_total and friends. */
export class TrafficCounters {
  upstreamBytes = 0;
  downstreamBytes = 0;
  /** Client connections closed because no target at all was alive. */
  rejectedConnections = 0;
  /** Connections by what their first bytes were (tls, other, invalid). */
  readonly detections: Record<string, number> = {};

  countDetection(protocol: string): void {
    this.detections[protocol] = (this.detections[protocol] ?? 0) + 1;
  }
}

/** Process-wide traffic totals, the numbers behind vane_bytes_total. */
export class TrafficCounters {
  upstreamBytes = 0;
  downstreamBytes = 0;
  /** Client connections closed because no target at all was alive. */
  rejectedConnections = 0;
}

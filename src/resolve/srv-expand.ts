/**
 * An SRV answer as targets: each record one target (its host resolved like any DNS
 * target, its port and weight from the record), tagged with the SRV name and the
 * record's priority so the pool serves only the lowest priority that has a live
 * target (balance/srv-priority.ts).
 */
import type { EndpointSpec, SrvTargetSpec } from "../config/model.ts";
import { isIPv4, isIPv6 } from "../config/target.ts";
import { formatAddress } from "../config/address.ts";
import type { SrvRecord } from "./dns-wire.ts";

/**
 * The weight a record of weight 0 gets. RFC 2782: such records have "a very small
 * chance of being selected" next to weighted ones, and share equally among themselves;
 * a fixed small weight does both without looking at the other records, so a record's
 * target stays the same target (and keeps its health) when its neighbours change.
 */
export const ZERO_WEIGHT_SHARE = 0.01;

export function srvWeight(weight: number): number {
  return weight === 0 ? ZERO_WEIGHT_SHARE : weight;
}

/**
 * The targets of `records`, one per host and port (the lowest priority wins when a
 * host:port appears twice). A record whose target is "." says the service is not
 * offered there (RFC 2782) and gives none.
 */
export function expandSrv(spec: SrvTargetSpec, records: readonly SrvRecord[]): EndpointSpec[] {
  const byRaw = new Map<string, EndpointSpec & { kind: "ip" | "dns" }>();
  const sorted = [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight);
  for (const r of sorted) {
    if (r.target === "" || r.port === 0) continue;
    const raw = formatAddress(r.target, r.port);
    if (byRaw.has(raw)) continue;
    const kind = isIPv4(r.target) || isIPv6(r.target) ? "ip" : "dns";
    const srv = { name: spec.name, priority: r.priority };
    byRaw.set(raw, { kind, host: r.target, port: r.port, weight: srvWeight(r.weight), raw, srv });
  }
  return [...byRaw.values()];
}

/**
 * Pools that only udp:// listeners use. A TCP connect says nothing about a UDP service
 * (a DNS server on 53/udp often has nothing on 53/tcp), so the default TCP check would
 * mark such targets down and drop every datagram. A UDP pool whose check the operator
 * did not choose gets `check: none` instead. The CLI and the YAML loader both apply
 * it, so `--print-config` shows what runs.
 */
import type { ListenerConfig, PoolConfig, Rule } from "./model.ts";

/** The pools udp:// listeners send to and no other listener does. */
export function udpOnlyPools(listeners: readonly ListenerConfig[]): Set<string> {
  const udp = new Set<string>();
  const other = new Set<string>();
  for (const l of listeners) collectPools(l.flow, l.address.protocol === "udp" ? udp : other);
  for (const name of other) udp.delete(name);
  return udp;
}

/**
 * Sets `check: none` on each pool of `pools` that only udp:// listeners use, unless
 * `chosen(pool)` says the operator named its check (`--health`, `health.check`).
 */
export function uncheckUdpPools(
  pools: Iterable<PoolConfig>,
  listeners: readonly ListenerConfig[],
  chosen: (pool: PoolConfig) => boolean,
): void {
  const udp = udpOnlyPools(listeners);
  for (const p of pools) {
    if (!udp.has(p.name) || chosen(p)) continue;
    const { path: _path, expect: _expect, ...rest } = p.health;
    p.health = { ...rest, check: "none" };
  }
}

function collectPools(rules: readonly Rule[], into: Set<string>): void {
  for (const { action: a } of rules) {
    if (a.kind === "proxy") into.add(a.pool);
    else if (a.kind === "flow") collectPools(a.rules, into);
    else if (a.kind === "terminate") collectPools(a.flow, into);
    else if (a.kind === "plugin") {
      for (const branch of Object.values(a.branches)) collectPools(branch, into);
      if (a.failure) collectPools(a.failure, into);
    }
  }
}

/**
 * The PROXY protocol at vane's edges: reading the header a trusted load balancer puts
 * in front of a connection, and writing one for targets that want the client's
 * address. The byte formats live in src/detect/proxy-protocol.ts.
 */
import type { SocketAddress } from "../runtime/types.ts";
import type { ReplayConn } from "./replay-conn.ts";
import { peek } from "./peek.ts";
import type { Failure } from "../errors/mod.ts";
import {
  encodeProxyV1,
  encodeProxyV2,
  MAX_PROXY_HEADER_BYTES,
  parseProxyHeader,
  type ProxyAddresses,
  type ProxyHeaderResult,
} from "../detect/proxy-protocol.ts";

export type ReadHeaderOutcome =
  /** `source` is null for a LOCAL (v2) or UNKNOWN (v1) header: keep the peer's own address. */
  | { ok: true; source: SocketAddress | null }
  | Failure;

/**
 * Reads the PROXY header a trusted peer must send first, and drops it from the
 * stream so only what follows is routed and forwarded.
 */
export async function readProxyHeader(conn: ReplayConn, timeoutMs: number): Promise<ReadHeaderOutcome> {
  const decide = (buf: Uint8Array): ProxyHeaderResult | undefined => {
    const r = parseProxyHeader(buf);
    return r.status === "need-more" ? undefined : r;
  };
  const out = await peek(conn, decide, MAX_PROXY_HEADER_BYTES, timeoutMs);
  if (out.kind !== "decided") {
    return { ok: false, reason: out.kind === "timeout" ? "no PROXY header in time" : `no PROXY header (${out.kind})` };
  }
  const r = out.value;
  if (r.status === "none") return { ok: false, reason: "the connection does not start with a PROXY header" };
  if (r.status === "error") return { ok: false, reason: `bad PROXY header: ${r.reason}` };
  if (r.status !== "ok") return { ok: false, reason: "bad PROXY header" };
  conn.skip(r.length);
  const source = r.addresses?.source;
  return { ok: true, source: source ? { hostname: source.address, port: source.port } : null };
}

/** The header announcing `source` -> `destination` to a target. */
export function proxyHeaderFor(version: "v1" | "v2", source: SocketAddress, destination: SocketAddress): Uint8Array {
  return version === "v1"
    ? encodeProxyV1(addresses(source, destination))
    : encodeProxyV2(addresses(source, destination));
}

/** Both ends in one family: when they differ, IPv4 is written IPv4-mapped as IPv6. */
function addresses(source: SocketAddress, destination: SocketAddress): ProxyAddresses {
  const v6 = source.hostname.includes(":") || destination.hostname.includes(":");
  const fix = (e: SocketAddress) => ({
    address: v6 && !e.hostname.includes(":") ? `::ffff:${e.hostname}` : e.hostname,
    port: e.port,
  });
  return { family: v6 ? "tcp6" : "tcp4", source: fix(source), destination: fix(destination) };
}

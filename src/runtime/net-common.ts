/**
 * Pieces both adapters share: DNS through node:dns (it reports TTLs on Deno and Bun,
 * unlike Deno.resolveDns) and the wording of listen errors.
 */
import { Resolver } from "node:dns/promises";
import type { DnsAnswer, DnsRecordType, SocketAddress } from "./types.ts";
import { formatAddress } from "../config/address.ts";
import { errorText } from "../errors/mod.ts";

export async function resolveWithTtl(
  name: string,
  type: DnsRecordType,
  server?: SocketAddress,
): Promise<DnsAnswer[]> {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (server) resolver.setServers([formatAddress(server.hostname, server.port)]);
  try {
    const answers = type === "A"
      ? await resolver.resolve4(name, { ttl: true })
      : await resolver.resolve6(name, { ttl: true });
    return answers.map((a) => ({ address: a.address, ttl: a.ttl }));
  } catch (err) {
    const failure = err as { code?: string; message?: string } | null | undefined;
    // "The name exists, but not with this record type", where the runtime says so.
    if (failure?.code === "ENODATA") return [];
    throw new Error(`dns ${type} ${name}: ${failure?.code ?? failure?.message ?? err}`, { cause: err });
  }
}

/** How listenError ends the message for a port another process holds, for callers that add a hint. */
export const ADDRESS_IN_USE = "address already in use";

export function listenError(addr: SocketAddress, err: unknown): Error {
  const msg = errorText(err);
  // Deno names the error AddrInUse; Bun's message is only "Failed to listen at HOST"
  // but its code says EADDRINUSE.
  const code = err as { code?: string; name?: string } | null;
  const inUse = /in use|EADDRINUSE/i.test(msg) || code?.name === "AddrInUse" || code?.code === "EADDRINUSE";
  const where = formatAddress(addr.hostname, addr.port);
  if (inUse) return new Error(`cannot listen on ${where}: ${ADDRESS_IN_USE}`, { cause: err });
  // Bun says only "Failed to listen"; its code (or Deno's PermissionDenied) names the cause.
  const denied = /permission denied|EACCES/i.test(msg) || code?.name === "PermissionDenied" || code?.code === "EACCES";
  if (denied && addr.port < 1024) {
    return new Error(
      `cannot listen on ${where}: permission denied (a port below 1024 needs root or CAP_NET_BIND_SERVICE, which the systemd unit grants)`,
      { cause: err },
    );
  }
  return new Error(denied ? `cannot listen on ${where}: permission denied` : `cannot listen on ${where}: ${msg}`, {
    cause: err,
  });
}

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

export function listenError(addr: SocketAddress, err: unknown): Error {
  const msg = errorText(err);
  // Deno names the error AddrInUse; Bun's message is only "Failed to listen at HOST"
  // but its code says EADDRINUSE.
  const code = err as { code?: string; name?: string } | null;
  const inUse = /in use|EADDRINUSE/i.test(msg) || code?.name === "AddrInUse" || code?.code === "EADDRINUSE";
  const where = formatAddress(addr.hostname, addr.port);
  const message = inUse ? `cannot listen on ${where}: address already in use` : `cannot listen on ${where}: ${msg}`;
  return new Error(message, { cause: err });
}

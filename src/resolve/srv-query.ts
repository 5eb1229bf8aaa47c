/**
 * One SRV question over UDP (dns-wire.ts), sent through the runtime's UDP sockets so it
 * runs the same on Deno and Bun and goes to the server A lookups use: `--resolver`, or
 * the system's (the `nameserver` lines of /etc/resolv.conf, as glibc reads them). An
 * answer too long for a datagram (TC set) is asked again over TCP, as RFC 7766 says and
 * glibc and c-ares do: a service with many instances is not lost to the datagram size.
 */
import type { Runtime, SocketAddress, TcpConn } from "../runtime/types.ts";
import { formatAddress } from "../config/address.ts";
import { errorText } from "../errors/mod.ts";
import { concatBytes } from "../runtime/byte-arrays.ts";
import { decodeSrvAnswer, encodeQuery, type SrvRecord, TYPE_SRV } from "./dns-wire.ts";

/** Per attempt; two attempts per server, as node:dns is set up for A records (runtime/net-common.ts). */
const ATTEMPT_TIMEOUT_MS = 1500;
const ATTEMPTS_PER_SERVER = 2;

export type SrvLookup = (name: string) => Promise<SrvRecord[]>;

/** The servers of a resolv.conf text; glibc's default, 127.0.0.1:53, when it names none. */
export function parseResolvConf(text: string): SocketAddress[] {
  const servers: SocketAddress[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    // A zone (fe80::1%eth0) cannot be given to a UDP send: such a server is left out.
    if (m && !m[1].includes("%")) servers.push({ hostname: m[1], port: 53 });
  }
  return servers.length > 0 ? servers : [{ hostname: "127.0.0.1", port: 53 }];
}

/**
 * Asks `servers` in turn for the SRV records of `name`; resolves with the first answer
 * (an empty list when the name has none), rejects with the last failure.
 */
export function srvLookup(rt: Runtime, servers: () => Promise<SocketAddress[]>): SrvLookup {
  return async (name) => {
    let failure = "no DNS server";
    for (const server of await servers()) {
      for (let attempt = 0; attempt < ATTEMPTS_PER_SERVER; attempt++) {
        const outcome = await askOnce(rt, name, server);
        if (outcome.ok) return outcome.records;
        failure = outcome.reason;
        // A server's verdict (NXDOMAIN, SERVFAIL...) is not improved by asking it again.
        if (!outcome.retry) break;
      }
    }
    throw new Error(`dns SRV ${name}: ${failure}`);
  };
}

type Asked = { ok: true; records: SrvRecord[] } | { ok: false; reason: string; retry: boolean };

async function askOnce(rt: Runtime, name: string, server: SocketAddress): Promise<Asked> {
  const id = Math.floor(Math.random() * 0x10000);
  const { promise, resolve } = Promise.withResolvers<Asked>();
  const socket = await rt.bindUdp(
    { hostname: server.hostname.includes(":") ? "::" : "0.0.0.0", port: 0 },
    (data, from) => {
      // Only the server's answer to this question counts (a stray datagram is not it).
      if (from.port !== server.port) return;
      const decoded = decodeSrvAnswer(data, id);
      if (decoded.ok) resolve(decoded);
      else if (decoded.truncated) resolve(askOverTcp(rt, name, server));
      else if (decoded.reason !== "answer to another query") resolve({ ...decoded, retry: false });
    },
  );
  const timer = setTimeout(
    () => resolve({ ok: false, reason: `no answer from ${where(server)}`, retry: true }),
    ATTEMPT_TIMEOUT_MS,
  );
  try {
    socket.send(encodeQuery(id, name, TYPE_SRV), server);
    return await promise;
  } catch (err) {
    return { ok: false, reason: `cannot ask ${where(server)}: ${errorText(err)}`, retry: false };
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

/**
 * The question again over TCP (RFC 7766 §6.2.1: each message behind its two-byte
 * length), on a connection of its own, within ATTEMPT_TIMEOUT_MS.
 */
async function askOverTcp(rt: Runtime, name: string, server: SocketAddress): Promise<Asked> {
  const id = Math.floor(Math.random() * 0x10000);
  const query = encodeQuery(id, name, TYPE_SRV);
  const framed = new Uint8Array(2 + query.length);
  framed[0] = query.length >> 8;
  framed[1] = query.length & 0xff;
  framed.set(query, 2);
  let conn: TcpConn;
  try {
    conn = await rt.connectTcp(server, ATTEMPT_TIMEOUT_MS);
  } catch (err) {
    return { ok: false, reason: `cannot ask ${where(server)} over TCP: ${errorText(err)}`, retry: true };
  }
  const timer = setTimeout(() => conn.close(), ATTEMPT_TIMEOUT_MS);
  try {
    await conn.write(framed);
    const answer = await readFramed(conn);
    if (answer === null) return { ok: false, reason: `no answer from ${where(server)} over TCP`, retry: true };
    const decoded = decodeSrvAnswer(answer, id);
    return decoded.ok ? decoded : { ok: false, reason: `${decoded.reason} (over TCP)`, retry: false };
  } catch (err) {
    return { ok: false, reason: `cannot ask ${where(server)} over TCP: ${errorText(err)}`, retry: true };
  } finally {
    clearTimeout(timer);
    conn.close();
  }
}

/** One length-prefixed DNS message from `conn`; null when it closed first. */
async function readFramed(conn: TcpConn): Promise<Uint8Array | null> {
  let got: Uint8Array = new Uint8Array(0);
  for (;;) {
    if (got.length >= 2) {
      const length = (got[0] << 8) | got[1];
      if (got.length >= 2 + length) return got.slice(2, 2 + length);
    }
    const chunk = await conn.read();
    if (chunk === null) return null;
    got = concatBytes(got, chunk);
  }
}

const where = (server: SocketAddress) => formatAddress(server.hostname, server.port);

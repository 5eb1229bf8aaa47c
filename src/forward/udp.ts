/**
 * UDP forwarding. UDP has no connections, so a "session" is made per client address
 * (ip:port): it gets its own upstream socket, so whatever the target sends back on it
 * belongs to that client and goes out through the listening socket to it. A session
 * ends after `idleMs` without a datagram either way; one sweep timer finds those,
 * instead of a timer reset on every datagram.
 */
import type { Runtime, SocketAddress, UdpSocket } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { formatAddress } from "../resolve/address.ts";
import { runtime } from "../runtime/mod.ts";

export interface UdpTarget {
  /** The target's name in logs (a pool entry's key). */
  key: string;
  /** An IP literal: the runtime's UDP does not resolve names. */
  address: string;
  port: number;
}

export interface UdpForwarderOptions {
  /** Chooses a target for a new session; null when none is available. */
  pick: (client: SocketAddress) => UdpTarget | null;
  idleMs: number;
  logger: Logger;
  /** Binds each session's upstream socket; the runtime's bindUdp unless given. */
  bindUdp?: Runtime["bindUdp"];
  maxSessions?: number;
  /** Datagrams held per session while its upstream socket is being bound. */
  maxPendingDatagrams?: number;
}

const DEFAULT_MAX_SESSIONS = 10_000;
const DEFAULT_MAX_PENDING = 64;
/** At most one line per reason per this interval: a flood must not flood the log. */
const DROP_LOG_INTERVAL_MS = 1000;

interface Session {
  readonly client: SocketAddress;
  readonly target: UdpTarget;
  /** null while binding. */
  upstream: UdpSocket | null;
  /** Datagrams that arrived before the upstream socket was ready. */
  pending: Uint8Array[];
  lastActive: number;
  closed: boolean;
}

type DropReason = "no target" | "too many sessions" | "bind failed";

export class UdpForwarder {
  bytesUpstream = 0;
  bytesDownstream = 0;
  datagramsDropped = 0;
  readonly #listener: UdpSocket;
  readonly #opts: Required<UdpForwarderOptions>;
  readonly #sessions = new Map<string, Session>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #lastDropLog = new Map<DropReason, { at: number; suppressed: number }>();
  #closed = false;

  /**
   * `listener` is the socket clients send to; its onMessage must call `fromClient`
   * (see `listenUdp` for wiring both). The forwarder does not own it: close it yourself.
   */
  constructor(listener: UdpSocket, opts: UdpForwarderOptions) {
    this.#listener = listener;
    this.#opts = {
      ...opts,
      // `??`, not spread defaults: an option passed as undefined still gets its default.
      maxSessions: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
      maxPendingDatagrams: opts.maxPendingDatagrams ?? DEFAULT_MAX_PENDING,
      bindUdp: opts.bindUdp ?? ((addr, onMessage) => runtime().bindUdp(addr, onMessage)),
    };
    const every = Math.max(10, Math.min(opts.idleMs / 2, 1000));
    this.#sweep = setInterval(() => this.#closeIdle(), every);
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** A datagram from a client, as received on the listening socket. */
  fromClient(data: Uint8Array, from: SocketAddress): void {
    if (this.#closed) return;
    const id = formatAddress(from.hostname, from.port);
    let session = this.#sessions.get(id);
    if (!session) {
      const created = this.#open(id, from);
      if (!created) return;
      session = created;
    }
    session.lastActive = performance.now();
    if (session.upstream) {
      this.bytesUpstream += data.length;
      session.upstream.send(data, { hostname: session.target.address, port: session.target.port });
    } else if (session.pending.length < this.#opts.maxPendingDatagrams) {
      session.pending.push(data);
    } else {
      this.datagramsDropped++;
    }
  }

  /** Closes every session's socket and stops the sweep. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const [id, s] of this.#sessions) this.#end(id, s);
  }

  #open(id: string, client: SocketAddress): Session | null {
    if (this.#sessions.size >= this.#opts.maxSessions) {
      this.#drop("too many sessions", { client: id, max: this.#opts.maxSessions });
      return null;
    }
    const target = this.#opts.pick(client);
    if (!target) {
      this.#drop("no target", { client: id });
      return null;
    }
    const session: Session = {
      client,
      target,
      upstream: null,
      pending: [],
      lastActive: performance.now(),
      closed: false,
    };
    this.#sessions.set(id, session);
    // Bind on the wildcard of the target's family: the kernel picks the source address
    // that routes to it, and the port is this session's alone.
    const any = target.address.includes(":") ? "::" : "0.0.0.0";
    this.#opts.bindUdp({ hostname: any, port: 0 }, (data, from) => this.#fromTarget(session, data, from))
      .then((upstream) => {
        if (session.closed) return upstream.close();
        session.upstream = upstream;
        const dest = { hostname: target.address, port: target.port };
        for (const d of session.pending) {
          this.bytesUpstream += d.length;
          upstream.send(d, dest);
        }
        session.pending = [];
      })
      .catch((err) => {
        this.#end(id, session);
        this.#drop("bind failed", { client: id, error: err instanceof Error ? err.message : String(err) });
      });
    this.#opts.logger.debug("udp session opened", { client: id, target: target.key });
    return session;
  }

  #fromTarget(session: Session, data: Uint8Array, from: SocketAddress): void {
    if (session.closed) return;
    // The upstream port is reachable by anyone: pass on only what the target sent.
    if (from.port !== session.target.port || !sameHost(from.hostname, session.target.address)) return;
    session.lastActive = performance.now();
    this.bytesDownstream += data.length;
    this.#listener.send(data, session.client);
  }

  #closeIdle(): void {
    const cutoff = performance.now() - this.#opts.idleMs;
    for (const [id, s] of this.#sessions) {
      if (s.lastActive <= cutoff) {
        this.#end(id, s);
        this.#opts.logger.debug("udp session idle, closed", { client: id, target: s.target.key });
      }
    }
  }

  #end(id: string, s: Session): void {
    s.closed = true;
    s.pending = [];
    s.upstream?.close();
    if (this.#sessions.get(id) === s) this.#sessions.delete(id);
  }

  #drop(reason: DropReason, fields: Record<string, string | number>): void {
    this.datagramsDropped++;
    const now = performance.now();
    const last = this.#lastDropLog.get(reason);
    if (last && now - last.at < DROP_LOG_INTERVAL_MS) {
      last.suppressed++;
      return;
    }
    this.#opts.logger.warn(`udp datagram dropped: ${reason}`, { ...fields, suppressed: last?.suppressed ?? 0 });
    this.#lastDropLog.set(reason, { at: now, suppressed: 0 });
  }
}

/** Compares IP literals as the runtimes report them (IPv4-mapped IPv6, letter case). */
function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => h.toLowerCase().replace(/^::ffff:(?=\d+\.)/, "");
  return norm(a) === norm(b);
}

/**
 * Binds the listening socket and a forwarder on it, wired together: the socket's
 * handler needs the forwarder and the forwarder needs the socket.
 */
export async function listenUdp(
  addr: SocketAddress,
  opts: UdpForwarderOptions,
): Promise<{ socket: UdpSocket; forwarder: UdpForwarder }> {
  let forwarder: UdpForwarder | null = null;
  // A datagram in the instant between bind and construction has no session to go to;
  // dropping it is what UDP allows.
  const bind = opts.bindUdp ?? ((a, onMessage) => runtime().bindUdp(a, onMessage));
  const socket = await bind(addr, (data, from) => forwarder?.fromClient(data, from));
  forwarder = new UdpForwarder(socket, opts);
  return { socket, forwarder };
}

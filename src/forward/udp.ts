/**
 * UDP forwarding. UDP has no connections, so a "session" is made per client address
 * (ip:port): it gets its own upstream socket, so whatever the target sends back on it
 * belongs to that client and goes out through the listening socket to it. A session
 * ends after `udpIdleMs` without a datagram either way; one sweep timer finds those,
 * instead of a timer reset on every datagram.
 */
import type { Runtime, SocketAddress, UdpBindOptions, UdpSocket } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { formatAddress } from "../config/address.ts";
import { runtime } from "../runtime/mod.ts";
import { limited } from "../telemetry/log-limit.ts";
import { errorText } from "../errors/mod.ts";

/** Where a UDP session sends: an IP literal (the runtime's UDP does not resolve names) and port. */
export interface UdpTarget extends SocketAddress {
  /** The target's name in logs (a pool entry's key). */
  key: string;
}

export interface UdpForwarderOptions {
  /** Chooses a target for a new session; null when none is available. */
  pick: (client: SocketAddress) => UdpTarget | null;
  /** A session with no datagram either way this long ends (config `timeouts.udpIdleMs`). */
  udpIdleMs: number;
  logger: Logger;
  /** Binds each session's upstream socket; the runtime's bindUdp unless given. */
  bindUdp?: Runtime["bindUdp"];
  maxSessions?: number;
  /** Datagrams held per session while its upstream socket is being bound. */
  maxPendingDatagrams?: number;
  /** Called as each session ends (the access log); absent: nothing is counted per session. */
  onEnd?: ((session: UdpSessionEnd) => void) | null;
}

/** A session that ended: whose, to where, its bytes each way and when it began (performance.now()). */
export interface UdpSessionEnd {
  readonly client: SocketAddress;
  readonly target: string;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly startedAt: number;
}

/**
 * SO_RCVBUF asked for a listening socket. The kernel charges each queued datagram its
 * buffer's true size (about 1 KiB even for a small one), so the usual default of
 * 208 KiB holds a couple of hundred: one busy moment of the event loop. Linux grants
 * at most net.core.rmem_max.
 */
export const UDP_RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;
/**
 * A session's upstream socket asks for the same buffer: with a big queue in front of
 * the listener alone, an overloaded event loop keeps taking new datagrams in while the
 * replies overflow the sessions' small default queues (work done, then lost).
 */
const SESSION_BIND = { receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES };
const DEFAULT_MAX_SESSIONS = 10_000;
const DEFAULT_MAX_PENDING = 64;

interface Session {
  readonly client: SocketAddress;
  readonly target: UdpTarget;
  /** null while binding. */
  upstream: UdpSocket | null;
  /** Datagrams that arrived before the upstream socket was ready. */
  pending: Uint8Array[];
  lastActive: number;
  closed: boolean;
  readonly startedAt: number;
  /** Bytes from the client and to it. */
  bytesIn: number;
  bytesOut: number;
}

type DropReason = "no target" | "too many sessions" | "bind failed";

/**
 * One message per reason, limited per listener (telemetry/log-limit.ts): a flood of
 * datagrams must not flood the log.
 */
const DROP_MESSAGES: Record<DropReason, string> = {
  "no target": "udp datagram dropped: no target",
  "too many sessions": "udp datagram dropped: too many sessions",
  "bind failed": "udp datagram dropped: bind failed",
};

export class UdpForwarder {
  bytesUpstream = 0;
  bytesDownstream = 0;
  /** Datagrams received from clients, dropped or not. */
  datagramsFromClients = 0;
  datagramsDropped = 0;
  readonly #listener: UdpSocket;
  readonly #opts: Required<UdpForwarderOptions>;
  readonly #sessions = new Map<string, Session>();
  readonly #sweep: ReturnType<typeof setInterval>;
  /** The listening address, the key of the drop lines' limit. */
  readonly #listenerName: string;
  #closed = false;

  /**
   * `listener` is the socket clients send to; its onMessage must call `fromClient`
   * (see `listenUdp` for wiring both). The forwarder does not own it: close it yourself.
   */
  constructor(listener: UdpSocket, opts: UdpForwarderOptions) {
    this.#listener = listener;
    this.#listenerName = formatAddress(listener.addr.hostname, listener.addr.port);
    this.#opts = {
      ...opts,
      // `??`, not spread defaults: an option passed as undefined still gets its default.
      maxSessions: opts.maxSessions ?? DEFAULT_MAX_SESSIONS,
      maxPendingDatagrams: opts.maxPendingDatagrams ?? DEFAULT_MAX_PENDING,
      onEnd: opts.onEnd ?? null,
      bindUdp: opts.bindUdp ?? ((addr, onMessage) => runtime().bindUdp(addr, onMessage)),
    };
    const every = Math.max(10, Math.min(opts.udpIdleMs / 2, 1000));
    this.#sweep = setInterval(() => this.#closeIdle(), every);
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  /** A datagram from a client, as received on the listening socket. */
  fromClient(data: Uint8Array, from: SocketAddress): void {
    if (this.#closed) return;
    this.datagramsFromClients++;
    const id = formatAddress(from.hostname, from.port);
    let session = this.#sessions.get(id);
    if (!session) {
      const created = this.#open(id, from);
      if (!created) return;
      session = created;
    }
    session.lastActive = performance.now();
    session.bytesIn += data.length;
    if (session.upstream) {
      this.bytesUpstream += data.length;
      session.upstream.send(data, session.target);
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
      startedAt: performance.now(),
      bytesIn: 0,
      bytesOut: 0,
    };
    this.#sessions.set(id, session);
    // Bind on the wildcard of the target's family: the kernel picks the source address
    // that routes to it, and the port is this session's alone.
    const any = target.hostname.includes(":") ? "::" : "0.0.0.0";
    this.#opts.bindUdp({ hostname: any, port: 0 }, (data, from) => this.#fromTarget(session, data, from), SESSION_BIND)
      .then((upstream) => {
        if (session.closed) return upstream.close();
        session.upstream = upstream;
        const dest: SocketAddress = { hostname: target.hostname, port: target.port };
        for (const d of session.pending) {
          this.bytesUpstream += d.length;
          upstream.send(d, dest);
        }
        session.pending = [];
      })
      .catch((err) => {
        this.#end(id, session);
        this.#drop("bind failed", { client: id, error: errorText(err) });
      });
    this.#opts.logger.debug("udp session opened", { client: id, target: target.key });
    return session;
  }

  #fromTarget(session: Session, data: Uint8Array, from: SocketAddress): void {
    if (session.closed) return;
    // The upstream port is reachable by anyone: pass on only what the target sent.
    if (from.port !== session.target.port || !sameHost(from.hostname, session.target.hostname)) return;
    session.lastActive = performance.now();
    this.bytesDownstream += data.length;
    session.bytesOut += data.length;
    this.#listener.send(data, session.client);
  }

  #closeIdle(): void {
    const cutoff = performance.now() - this.#opts.udpIdleMs;
    for (const [id, s] of this.#sessions) {
      if (s.lastActive <= cutoff) {
        this.#end(id, s);
        this.#opts.logger.debug("udp session idle, closed", { client: id, target: s.target.key });
      }
    }
  }

  #end(id: string, s: Session): void {
    if (s.closed) return;
    s.closed = true;
    const onEnd = this.#opts.onEnd;
    if (onEnd !== null) {
      onEnd({
        client: s.client,
        target: s.target.key,
        bytesIn: s.bytesIn,
        bytesOut: s.bytesOut,
        startedAt: s.startedAt,
      });
    }
    s.pending = [];
    s.upstream?.close();
    if (this.#sessions.get(id) === s) this.#sessions.delete(id);
  }

  #drop(reason: DropReason, fields: Record<string, string | number>): void {
    this.datagramsDropped++;
    limited(this.#opts.logger).warn(DROP_MESSAGES[reason], "listener", { listener: this.#listenerName, ...fields });
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
  bindOptions?: UdpBindOptions,
): Promise<{ socket: UdpSocket; forwarder: UdpForwarder }> {
  let forwarder: UdpForwarder | null = null;
  // A datagram in the instant between bind and construction has no session to go to;
  // dropping it is what UDP allows.
  const bind = opts.bindUdp ?? ((a, onMessage, o) => runtime().bindUdp(a, onMessage, o));
  const socket = await bind(addr, (data, from) => forwarder?.fromClient(data, from), bindOptions);
  forwarder = new UdpForwarder(socket, opts);
  return { socket, forwarder };
}

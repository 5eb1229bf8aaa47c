/**
 * The sockets a vane listens on, across reloads. Each bound socket holds the plan
 * (server/generation.ts) its accepts run under; a reload that keeps a socket (same
 * address and kind) swaps the plan in place, so no connection is refused meanwhile.
 * New sockets are bound before any old one closes: a port that cannot be bound
 * leaves the running config whole.
 */
import { ListenerGate } from "./listener-gate.ts";
import type { ListenerConfig } from "../config/model.ts";
import type { ClientCert, SocketAddress, TcpConn, TcpListener, UdpSocket } from "../runtime/types.ts";
import type { Generation, ListenerPlan } from "./generation.ts";
import type { VaneContext } from "./context.ts";
import { listenUdp, UDP_RECEIVE_BUFFER_BYTES, type UdpForwarder, type UdpSessionEnd } from "../forward/udp.ts";
import type { AccessLog } from "../telemetry/access-log.ts";
import { recordUdp } from "./access.ts";
import { ConnKeys } from "../flow/conn-keys.ts";
import { handleConnection } from "./connection.ts";
import { errorText } from "../errors/mod.ts";
import { HTTP_ALPN } from "../http2/alpn.ts";
import { boundSockets, portTaken } from "../runtime/proc-net.ts";
import { ADDRESS_IN_USE, listenError } from "../runtime/net-common.ts";

/** A bound socket; `plan` is swapped by a reload and read at each accept. */
export interface Bound {
  key: string;
  plan: ListenerPlan;
  addr: { hostname: string; port: number };
  tcp: TcpListener | null;
  udp: { socket: UdpSocket; forwarder: UdpForwarder } | null;
}

/**
 * What makes a socket reusable across a reload: the same address and kind of socket.
 * An https:// socket holds its certificates, so new ones (rotation) mean a new socket.
 */
function socketKey(l: ListenerConfig, gen: Generation): string {
  const a = l.address;
  const kind = a.protocol === "udp" ? "udp" : a.protocol === "https" ? "tls" : "tcp";
  const certs = a.protocol === "https"
    ? JSON.stringify([
      gen.certificatesFor(l.tls),
      gen.clientAuthFor(l) ?? null,
      gen.tlsPolicyFor(l),
      gen.config.acme !== undefined,
    ])
    : "";
  return `${kind}|${a.host}|${a.port}|${certs}`;
}

/** Two sockets that cannot be bound at once. */
const sameAddress = (a: ListenerConfig, b: ListenerConfig) =>
  (a.address.protocol === "udp") === (b.address.protocol === "udp") &&
  a.address.host === b.address.host && a.address.port === b.address.port && a.address.port !== 0;

/** Which sockets a generation keeps, which it binds now and which once an old one closed. */
interface SocketPlan {
  kept: Map<Bound, ListenerPlan>;
  /** Old sockets `next` has no use for. */
  unclaimed: Set<Bound>;
  now: ListenerPlan[];
  /** Addresses an old socket holds (a changed certificate, tcp:// turned udp://). */
  later: ListenerPlan[];
}

export class Listeners {
  readonly #ctx: VaneContext;
  #bound: Bound[] = [];
  /** The UDP receive buffer is reported for the first UDP listener bound, once. */
  #udpBufferSaid = false;
  /**
   * Whether a port some other socket holds may be shared: in workers (the primary
   * checked), and in the new process of an upgrade for its first sockets (the old
   * process's). Everyone else refuses, as a bind without SO_REUSEPORT would.
   */
  #mayShare: boolean;
  /** During an install: the system's bound sockets per kind, read once (null: not readable here). */
  #taken: Map<"tcp" | "udp", SocketAddress[] | null> | null = null;
  /** An install binds again the addresses of the sockets it closed (see install). */
  #rebinding = false;

  constructor(ctx: VaneContext) {
    this.#ctx = ctx;
    this.#mayShare = (ctx.options.cluster?.index ?? 0) > 0 || ctx.options.takeover !== undefined;
  }

  /** The sockets bound now, in the configured order. */
  get bound(): readonly Bound[] {
    return this.#bound;
  }

  /**
   * Gives `next` its sockets: new ones are bound first (on failure nothing changed),
   * kept ones take the new plans, removed ones close, then what an old socket held
   * is bound again.
   */
  async install(next: Generation): Promise<void> {
    try {
      this.#taken = new Map();
      await this.#install(next);
    } finally {
      this.#taken = null;
    }
  }

  async #install(next: Generation): Promise<void> {
    const { kept, unclaimed, now, later } = this.#plan(next);
    const fresh: Bound[] = [];
    try {
      for (const plan of now) fresh.push(await this.#bind(plan));
    } catch (err) {
      for (const b of fresh) unbind(b);
      throw err;
    }
    for (const [b, plan] of kept) b.plan = plan;
    for (const b of unclaimed) {
      unbind(b);
      this.#ctx.log.info("listener closed", { listen: b.plan.config.address.raw });
    }
    // These addresses were held by a socket of ours until just now: ours to bind again,
    // without asking the system's table, which may still list the old socket (Deno
    // closes it after this turn; a worker closes its own when its reload gets there).
    const rebound: Bound[] = [];
    this.#rebinding = true;
    try {
      for (const plan of later) {
        try {
          rebound.push(await this.#bind(plan));
        } catch (err) {
          this.#ctx.log.error("cannot listen again after reload", {
            listen: plan.config.address.raw,
            error: errorText(err),
          });
        }
      }
    } finally {
      this.#rebinding = false;
    }
    this.#bound = [...kept.keys(), ...fresh, ...rebound];
    if (this.#ctx.options.cluster === undefined || this.#ctx.options.cluster.index === 0) this.#mayShare = false;
    // Keep the configured order for status and `listeners`.
    const order = new Map(next.listeners.map((p, i) => [p, i]));
    this.#bound.sort((a, b) => order.get(a.plan)! - order.get(b.plan)!);
  }

  /** Stops accepting TCP connections (stop's first move); UDP keeps relaying. */
  stopAccepting(): void {
    for (const b of this.#bound) b.tcp?.close();
  }

  /** Closes every socket. */
  closeAll(): void {
    for (const b of this.#bound) unbind(b);
  }

  #plan(next: Generation): SocketPlan {
    const kept = new Map<Bound, ListenerPlan>();
    const toBind: ListenerPlan[] = [];
    const unclaimed = new Set(this.#bound);
    for (const plan of next.listeners) {
      const key = socketKey(plan.config, next);
      const reuse = [...unclaimed].find((b) => b.key === key);
      if (reuse) {
        unclaimed.delete(reuse);
        kept.set(reuse, plan);
      } else {
        toBind.push(plan);
      }
    }
    // Addresses that an old socket holds (a changed certificate, a tcp:// turned udp://
    // keeps the port free) are bound after that socket closes.
    const later = toBind.filter((p) => [...unclaimed].some((b) => sameAddress(b.plan.config, p.config)));
    const now = toBind.filter((p) => !later.includes(p));
    return { kept, unclaimed, now, later };
  }

  #bind(plan: ListenerPlan): Promise<Bound> {
    return plan.config.address.protocol === "udp" ? this.#bindUdp(plan) : this.#bindTcp(plan);
  }

  async #bindTcp(plan: ListenerPlan): Promise<Bound> {
    const { rt, conns, clients, options } = this.#ctx;
    const l = plan.config;
    const addr = { hostname: l.address.host, port: l.address.port };
    const b: Bound = { key: socketKey(l, plan.gen), plan, addr, tcp: null, udp: null };
    // A listener with its own `max-conns` counts its connections in a gate of its own.
    const own = l.maxConns === undefined
      ? null
      : new ListenerGate(clients, () => b.plan.config.maxConns, this.#ctx.log, l.address.raw);
    const accept = own === null ? (c: AcceptedConn) => void handleConnection(b.plan, c, conns) : (c: AcceptedConn) => {
      own.enter();
      const leave = () => own.leave();
      void handleConnection(b.plan, c, conns).then(leave, leave);
    };
    // Every TCP socket is shareable where the system spreads connections fairly
    // (Linux), so that workers and the new process of an upgrade can bind beside it.
    const reusePort = options.cluster !== undefined || rt.tcpReusePort;
    if (reusePort) this.#refuseTaken(addr, "tcp");
    const shared = { reusePort, gate: own ?? clients };
    b.tcp = l.address.protocol === "https"
      ? await rt.listenTls(addr, accept, {
        ...plan.gen.tlsPolicyFor(l),
        certs: plan.gen.certificatesFor(l.tls),
        alpn: [...HTTP_ALPN],
        ...(l.clientAuth ? { clientAuth: plan.gen.clientAuthFor(l) } : {}),
        // ACME: certificates by name, current at each handshake (server/acme.ts).
        ...(plan.gen.config.acme ? { source: this.#ctx.acme.source } : {}),
      }, shared)
      : await rt.listenTcp(addr, accept, shared);
    b.addr = b.tcp.addr;
    this.#nowTaken(b.addr, "tcp");
    // Said once for all workers, by the primary.
    this.#ctx.primaryInfo("listening", { listen: l.address.raw, port: b.addr.port });
    return b;
  }

  async #bindUdp(plan: ListenerPlan): Promise<Bound> {
    const { rt, log, options } = this.#ctx;
    const l = plan.config;
    const addr = { hostname: l.address.host, port: l.address.port };
    const b: Bound = { key: socketKey(l, plan.gen), plan, addr, tcp: null, udp: null };
    // Workers and the new process of an upgrade share the port where the runtime can
    // (SO_REUSEPORT); where it cannot, the primary alone binds UDP
    // (cluster/worker-config.ts leaves it out of workers').
    const reusePort = (options.cluster !== undefined || rt.tcpReusePort) && rt.udpReusePort;
    if (reusePort) this.#refuseTaken(addr, "udp");
    const u = await listenUdp(addr, {
      pick: (client) => {
        // A refused client's datagrams open no session and are dropped (`allow`, `deny`).
        const filter = b.plan.filter;
        if (filter === null || filter.admits(client.hostname)) return pickUdp(b.plan, client);
        this.#ctx.counters.countRefused("deny");
        return null;
      },
      udpIdleMs: plan.gen.config.timeouts.udpIdleMs,
      logger: log,
      bindUdp: rt.bindUdp,
      onEnd: udpRecords(this.#ctx.access, l.address.raw),
    }, { reusePort, receiveBufferBytes: UDP_RECEIVE_BUFFER_BYTES });
    b.udp = u;
    b.addr = u.socket.addr;
    this.#nowTaken(b.addr, "udp");
    this.#ctx.primaryInfo("listening", { listen: l.address.raw, port: b.addr.port });
    if (!this.#udpBufferSaid) {
      this.#udpBufferSaid = true;
      this.#sayUdpBuffer(u.socket.receiveBufferBytes);
    }
    return b;
  }

  /**
   * Throws as a plain bind would when another socket holds `addr` and sharing it is not
   * meant. The system's table is read once per install (on a busy host it lists every
   * connection: 0.4 s for 72,000 of them), and the sockets bound since are added to it.
   */
  #refuseTaken(addr: { hostname: string; port: number }, kind: "tcp" | "udp"): void {
    if (this.#mayShare || this.#rebinding) return;
    let sockets = this.#taken?.get(kind);
    if (sockets === undefined) {
      sockets = boundSockets(kind);
      this.#taken?.set(kind, sockets);
    }
    if (sockets && portTaken(addr, sockets)) throw listenError(addr, new Error(ADDRESS_IN_USE));
  }

  /** A socket of this install is bound: a later listener of it on the same port is refused as by another process. */
  #nowTaken(addr: SocketAddress, kind: "tcp" | "udp"): void {
    this.#taken?.get(kind)?.push(addr);
  }

  #sayUdpBuffer(granted: number | null): void {
    const ctx = this.#ctx;
    if (granted === null) {
      ctx.primaryInfo(
        "UDP receive buffer: the system default (net.core.rmem_default); this runtime cannot set SO_RCVBUF",
        {
          runtime: ctx.rt.name,
        },
      );
    } else if (granted < 2 * UDP_RECEIVE_BUFFER_BYTES) {
      // Linux reports twice what it grants (bookkeeping), and grants at most rmem_max.
      ctx.primaryInfo("UDP receive buffer capped by net.core.rmem_max (raise it to absorb bigger bursts)", {
        asked: UDP_RECEIVE_BUFFER_BYTES,
        got: granted / 2,
      });
    } else ctx.primaryInfo("UDP receive buffer", { bytes: granted / 2 });
  }
}

function unbind(b: Bound): void {
  b.tcp?.close();
  if (b.udp) {
    b.udp.forwarder.close();
    b.udp.socket.close();
  }
}

/** A new UDP session's target: the flow, run on the client's address alone. */
function pickUdp(plan: ListenerPlan, client: { hostname: string; port: number }) {
  const keys = new ConnKeys({
    ip: client.hostname,
    port: client.port,
    listenerPort: plan.config.address.port,
    protocol: null,
    sni: null,
    alpn: null,
  });
  const o = plan.flow.runSync(keys).outcome;
  if (o.kind !== "proxy") return null;
  const p = plan.gen.pools.get(o.pool)?.pick();
  return p ? { key: p.entry.key, hostname: p.addresses[0], port: p.entry.spec.port } : null;
}

/** A connection as a listener hands it over. */
type AcceptedConn = TcpConn & { sni?: string | null; clientCert?: ClientCert | null };

/** The access records of a UDP listener's sessions, or null when the access log is off. */
function udpRecords(access: AccessLog | null, listener: string): ((s: UdpSessionEnd) => void) | null {
  if (access === null) return null;
  const site = { listener, tls: null, sni: null };
  return (s) => recordUdp(access, site, s);
}

/**
 * TLS termination inside a tcp:// listener's flow (`terminate`), decided after the
 * ClientHello was peeked. The runtime's TLS server must see the handshake from its
 * first byte, so the connection (peeked bytes replayed) is relayed into an internal
 * loopback TLS listener, one per terminate step, and what comes out decrypted runs
 * the step's flow per request. The client's address crosses that hop by the hop's
 * source port, as the Deno adapter does for https:// listeners.
 */
import type { Runtime, TcpConn, TcpListener, TlsCertificate, TlsConn } from "../runtime/types.ts";
import type { TlsServerPolicy } from "../config/model.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { TerminateStep } from "../flow/flow.ts";
import { relay, type RelayCounters } from "../forward/tcp.ts";
import { limited } from "../telemetry/log-limit.ts";
import { HTTP_ALPN } from "../http2/alpn.ts";

export class TerminateHops<T> {
  readonly #listeners = new Map<TerminateStep, Promise<TcpListener>>();
  /** Hop source port -> the connection it carries. */
  readonly #origins = new Map<number, T>();
  #closed = false;

  readonly #rt: Runtime;
  readonly #log: Logger;
  readonly #onDecrypted: (step: TerminateStep, conn: TlsConn, origin: T) => void;
  constructor(
    rt: Runtime,
    log: Logger,
    onDecrypted: (step: TerminateStep, conn: TlsConn, origin: T) => void,
  ) {
    this.#rt = rt;
    this.#log = log;
    this.#onDecrypted = onDecrypted;
  }

  /** Relays `client` through the step's TLS listener until either side ends. */
  async forward(
    step: TerminateStep,
    certs: TlsCertificate[],
    client: TcpConn,
    origin: T,
    opts: { connectMs: number; idleMs: number; counters: RelayCounters; policy?: TlsServerPolicy },
  ): Promise<void> {
    if (this.#closed) return; // a reload retired this generation's hops a moment ago
    const listener = await this.#listener(step, certs, opts.policy);
    const hop = await this.#rt.connectTcp(listener.addr, opts.connectMs);
    const port = hop.local.port;
    this.#origins.set(port, origin);
    try {
      await relay(client, hop, opts.idleMs, opts.counters);
    } finally {
      this.#origins.delete(port);
      hop.close();
    }
  }

  #listener(step: TerminateStep, certs: TlsCertificate[], policy?: TlsServerPolicy): Promise<TcpListener> {
    let l = this.#listeners.get(step);
    if (!l) {
      l = this.#rt.listenTls({ hostname: "127.0.0.1", port: 0 }, (conn) => {
        const origin = this.#origins.get(conn.remote.port);
        if (origin === undefined) {
          // Only vane's own hops may connect here.
          limited(this.#log).warn("internal TLS hop: connection from an unknown source closed", null, {
            port: conn.remote.port,
          });
          conn.close();
          return;
        }
        this.#onDecrypted(step, conn, origin);
      }, { ...policy, certs, alpn: [...HTTP_ALPN] });
      this.#listeners.set(step, l);
    }
    return l;
  }

  /** Stops accepting on every hop; connections already through keep going. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const l of this.#listeners.values()) {
      try {
        (await l).close();
      } catch {
        // It never bound; nothing to close.
      }
    }
    this.#listeners.clear();
  }
}

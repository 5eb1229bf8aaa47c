/**
 * Server-side TLS termination on node:tls, shared by both adapters. Neither runtime's
 * own listener picks a certificate by SNI: Deno.listenTls takes one certificate and
 * has no server-side upgrade of an accepted connection (Deno.startTls is client-only),
 * and Bun.listen takes one TLS options object (the array form with serverName is
 * Bun.serve only; there is no addServerName on a Bun.listen listener). node:tls with
 * SNICallback works on both, so the certificate choice (tls-select.ts) runs there and
 * the decrypted TLSSocket is turned into the pull-based TcpConn here. Only the Bun
 * adapter uses it: on Deno 2.9 a server TLSSocket that stopped reading for
 * backpressure never reported the client's FIN afterwards, see tls-deno.ts.
 */
import tls from "node:tls";
import type { ClientCert, ListenOptions, SocketAddress, TcpListener, TlsConn, TlsServerOptions } from "./types.ts";
import { listenError } from "./net-common.ts";
import { certNames, normalize, selectCert } from "./tls-select.ts";
import { nodeTlsPolicy } from "./tls-server-options.ts";

function plainAddress(a: string | undefined): string {
  // An IPv4 peer on a dual-stack socket shows as ::ffff:1.2.3.4.
  return (a ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
}

export class NodeTlsConn implements TlsConn {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  readonly closed: Promise<void>;
  /** The name the client asked for by SNI, or null. */
  readonly sni: string | null;
  #clientCert: ClientCert | null | undefined = undefined;
  #socket: tls.TLSSocket;
  #ended = false;
  #error: Error | null = null;
  #isClosed = false;
  #wake: (() => void) | null = null;
  #pendingWrite: Promise<void> | null = null;
  #resolveClosed!: () => void;

  /** The client's certificate when it verified (asked for by clientAuth); read once. */
  get clientCert(): ClientCert | null {
    if (this.#clientCert !== undefined) return this.#clientCert;
    const socket = this.#socket;
    if (!socket.authorized) return (this.#clientCert = null);
    const peer = socket.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return (this.#clientCert = null);
    const subject = peer.subject as Record<string, string | string[]> | undefined;
    const cn = subject?.CN;
    const text = Array.isArray(cn) ? cn[0] : cn ?? Object.entries(subject ?? {}).map(([k, v]) => `${k}=${v}`).join(",");
    const san = (peer.subjectaltname ?? "").split(", ").filter((x) => x !== "");
    return (this.#clientCert = { subject: text, san });
  }

  /** `sni`: the name read from the ClientHello already (tls-node-source.ts); absent: node:tls's. */
  constructor(socket: tls.TLSSocket, sni?: string | null) {
    this.#socket = socket;
    const s = socket as tls.TLSSocket & { servername?: string | false | null };
    // node:tls reports the name as the client wrote it; the ClientHello parser (Deno) normalises.
    this.sni = sni !== undefined
      ? sni
      : typeof s.servername === "string" && s.servername !== ""
      ? normalize(s.servername)
      : null;
    this.remote = { hostname: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
    this.local = { hostname: plainAddress(socket.localAddress), port: socket.localPort ?? 0 };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    try {
      socket.setNoDelay(true);
    } catch { /* latency only */ }
    // Paused mode ('readable' + read()), not 'data' + pause()/resume(): the stream then
    // stops reading from the socket by itself once its buffer (highWaterMark) is full,
    // and on Deno 2.9 a pause()d TLSSocket never emitted 'end' for a FIN that came in
    // while paused (the 1 MB echo test hung on it).
    socket.on("readable", () => this.#notify());
    socket.on("end", () => {
      this.#ended = true;
      this.#notify();
    });
    socket.on("error", (err: Error) => {
      this.#error ??= err;
      this.#notify();
    });
    socket.on("close", () => {
      this.#ended = true;
      this.#isClosed = true;
      this.#notify();
      this.#resolveClosed();
    });
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk: Uint8Array | null = this.#isClosed && this.#socket.destroyed ? null : this.#socket.read();
      if (chunk !== null) return chunk;
      if (this.#ended) {
        if (this.#error) throw this.#error;
        return null;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(this.#error ?? new Error("connection closed"));
    if (this.#pendingWrite) return this.#pendingWrite.then(() => this.write(data));
    // Resolved by the write callback, not by write()'s return: the caller may reuse
    // `data` (a read buffer) once we resolve, and node streams keep a reference to a
    // chunk they buffer. The callback also makes awaiting the write the backpressure.
    this.#pendingWrite = new Promise<void>((resolve, reject) => {
      this.#socket.write(data, (err) => (err ? reject(err) : resolve()));
    }).finally(() => (this.#pendingWrite = null));
    return this.#pendingWrite;
  }

  async closeWrite(): Promise<void> {
    if (this.#pendingWrite) await this.#pendingWrite.catch(() => {});
    if (!this.#isClosed) this.#socket.end();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#ended = true;
    this.#socket.destroy();
    this.#notify();
    this.#resolveClosed();
  }
}

/** listenTls on node:tls: SNI picks among `certs` (tls-select.ts), `alpn` is offered. */
export async function listenTlsNode(
  addr: SocketAddress,
  onConn: (conn: TlsConn) => void,
  { certs, alpn = [], clientAuth, ...policy }: TlsServerOptions,
  options?: ListenOptions,
): Promise<TcpListener> {
  if (certs.length === 0) throw new Error("listenTls needs at least one certificate");
  const names = certs.map((c) => certNames(c.cert));
  // The client CA goes into every context SNI may pick: the handshake verifies against it.
  const ca = clientAuth ? { ca: clientAuth.ca } : {};
  const versions = nodeTlsPolicy(policy); // protocol versions and suites, in every context too
  const contexts = certs.map((c) => tls.createSecureContext({ cert: c.cert, key: c.key, ...ca, ...versions }));
  const server = tls.createServer({
    ...versions,
    cert: certs[0].cert,
    key: certs[0].key,
    allowHalfOpen: true,
    ...(clientAuth ? { ...ca, requestCert: true, rejectUnauthorized: clientAuth.require } : {}),
    ...(alpn.length ? { ALPNProtocols: alpn } : {}),
    SNICallback: (servername, cb) => cb(null, contexts[selectCert(names, servername)]),
  }, (socket) => {
    const gate = options?.gate;
    if (!gate || gate.open()) return onConn(new NodeTlsConn(socket));
    socket.destroy();
    gate.refused();
  });
  // A failed handshake (bad client, scanner) concerns only that connection.
  server.on("tlsClientError", (_err, socket) => socket?.destroy());
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(listenError(addr, err));
    server.once("error", onError);
    server.listen({ port: addr.port, host: addr.hostname, reusePort: options?.reusePort ?? false }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", () => {/* errors after listen concern connections, handled there */});
  const bound = server.address() as { address: string; port: number };
  return {
    addr: { hostname: bound.address, port: bound.port },
    close: () => {
      try {
        server.close();
      } catch { /* already closed */ }
    },
  };
}

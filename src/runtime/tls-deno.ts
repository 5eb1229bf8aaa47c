/**
 * listenTls on Deno with Deno's own TLS (rustls). Deno.listenTls takes one certificate
 * and cannot pick one by SNI, and Deno has no server-side upgrade of an accepted plain
 * connection (Deno.startTls is client-only). So: one internal Deno.listenTls per
 * certificate on 127.0.0.1 with an ephemeral port, and a public plain listener that
 * reads the ClientHello (src/detect/tls-client-hello.ts), picks the certificate
 * (tls-select.ts) and splices the raw bytes to that internal listener. The decrypted
 * connection accepted there is handed over with the client's real address and SNI.
 *
 * Why not node:tls (SNICallback works on Deno, see tls-node.ts): on Deno 2.9 a server
 * TLSSocket whose reading was stopped for backpressure (pause(), or a full buffer in
 * paused mode) never reported the client's end of stream afterwards, so a 1 MB upload
 * followed by FIN hung. Unbounded buffering instead would drop backpressure.
 */
import { acceptEach, addrOf, DenoTcpConn } from "./deno-conn.ts";
import type { ListenOptions, SocketAddress, TcpListener, TlsConn, TlsServerOptions } from "./types.ts";
import { listenError } from "./net-common.ts";
import { certNames, selectCert } from "./tls-select.ts";
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from "../detect/tls-client-hello.ts";

const SPLICE_BUFFER_BYTES = 64 * 1024;
const HELLO_TIMEOUT_MS = 10_000;

/** A decrypted Deno TlsConn, standing in for the front connection (its addresses). */
class DenoTlsConn extends DenoTcpConn implements TlsConn {
  constructor(conn: Deno.TlsConn, remote: SocketAddress, local: SocketAddress, readonly sni: string | null) {
    super(conn, { remote, local });
  }
}

interface Pending {
  remote: SocketAddress;
  local: SocketAddress;
  sni: string | null;
}

function closeQuietly(c: { close(): void }): void {
  try {
    c.close();
  } catch { /* already closed */ }
}

/** Copies a -> b until a's end of stream, then half-closes b. Throws on error. */
async function pump(a: Deno.Conn, b: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(SPLICE_BUFFER_BYTES);
  for (;;) {
    const n = await a.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await b.write(buf.subarray(off, n));
  }
  await b.closeWrite();
}

async function readHello(conn: Deno.Conn): Promise<{ bytes: Uint8Array; sni: string | null } | null> {
  let bytes = new Uint8Array(0);
  const buf = new Uint8Array(16 * 1024);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) return null;
    const next = new Uint8Array(bytes.length + n);
    next.set(bytes);
    next.set(buf.subarray(0, n), bytes.length);
    bytes = next;
    const r = parseClientHello(bytes);
    if (r.status === "ok") return { bytes, sni: r.sni };
    if (r.status !== "need-more" || bytes.length > MAX_CLIENT_HELLO_BYTES) return null;
  }
}

export function listenTlsDeno(
  addr: SocketAddress,
  onConn: (conn: TlsConn) => void,
  tls: TlsServerOptions,
  options?: ListenOptions,
): Promise<TcpListener> {
  return Promise.try(startTlsListener, addr, onConn, tls, options);
}

function startTlsListener(
  addr: SocketAddress,
  onConn: (conn: TlsConn) => void,
  { certs, alpn = [] }: TlsServerOptions,
  options?: ListenOptions,
): TcpListener {
  if (certs.length === 0) throw new Error("listenTls needs at least one certificate");
  const names = certs.map((c) => certNames(c.cert));
  const internal: Deno.TlsListener[] = [];
  let front: Deno.TcpListener;
  try {
    for (const c of certs) {
      internal.push(Deno.listenTls({
        hostname: "127.0.0.1",
        port: 0,
        cert: c.cert,
        key: c.key,
        ...(alpn.length ? { alpnProtocols: alpn } : {}),
      }));
    }
    front = Deno.listen({
      hostname: addr.hostname,
      port: addr.port,
      transport: "tcp",
      ...(options?.reusePort ? { reusePort: true } : {}),
    });
  } catch (err) {
    internal.forEach(closeQuietly);
    throw listenError(addr, err);
  }
  const splicer = new TlsSplicer(names, internal, onConn);
  internal.forEach((l) => void acceptEach(l, (c) => void splicer.handOver(c)));
  void acceptEach(front, (c) => void splicer.splice(c), options?.gate);
  return {
    addr: addrOf(front.addr),
    close: () => {
      closeQuietly(front);
      internal.forEach(closeQuietly);
    },
  };
}

/**
 * One listener's two halves: the front connection spliced to the internal listener of
 * its certificate, and the decrypted connection accepted there handed over as the front's.
 */
class TlsSplicer {
  /**
   * Keyed by the local port of our splice connection to an internal listener, which
   * is the remote port the internal listener sees.
   */
  readonly #pending = new Map<number, Pending>();
  readonly #names: string[][];
  readonly #internal: Deno.TlsListener[];
  readonly #onConn: (conn: TlsConn) => void;

  constructor(names: string[][], internal: Deno.TlsListener[], onConn: (conn: TlsConn) => void) {
    this.#names = names;
    this.#internal = internal;
    this.#onConn = onConn;
  }

  /** A connection accepted by an internal listener: decrypted, handed over with the front's addresses. */
  async handOver(conn: Deno.TlsConn): Promise<void> {
    // The handshake needs the ClientHello, which is sent only after the entry below
    // was made, so after it the entry is there (or this is not our connection).
    try {
      await conn.handshake();
    } catch {
      return closeQuietly(conn);
    }
    const p = this.#pending.get(conn.remoteAddr.port);
    this.#pending.delete(conn.remoteAddr.port);
    if (!p) return closeQuietly(conn);
    this.#onConn(new DenoTlsConn(conn, p.remote, p.local, p.sni));
  }

  /** A connection accepted on the front: its ClientHello picks the certificate, then bytes flow both ways. */
  async splice(conn: Deno.TcpConn): Promise<void> {
    try {
      conn.setNoDelay(true);
    } catch { /* latency only */ }
    const hello = await helloWithin(conn, HELLO_TIMEOUT_MS);
    if (!hello) return closeQuietly(conn);
    const i = selectCert(this.#names, hello.sni);
    let up: Deno.TcpConn;
    try {
      up = await Deno.connect({ hostname: "127.0.0.1", port: this.#internal[i].addr.port, transport: "tcp" });
      up.setNoDelay(true);
    } catch {
      return closeQuietly(conn);
    }
    const key = up.localAddr.port;
    this.#pending.set(key, { remote: addrOf(conn.remoteAddr), local: addrOf(conn.localAddr), sni: hello.sni });
    try {
      let off = 0;
      while (off < hello.bytes.length) off += await up.write(hello.bytes.subarray(off));
      await Promise.all([pump(conn, up), pump(up, conn)]);
    } catch { /* either side went away: close both */ }
    this.#pending.delete(key);
    closeQuietly(conn);
    closeQuietly(up);
  }
}

/** The ClientHello, or null when it is not one, fails or takes longer than `timeoutMs` (the connection is then closed). */
async function helloWithin(conn: Deno.Conn, timeoutMs: number): ReturnType<typeof readHello> {
  const timer = setTimeout(() => closeQuietly(conn), timeoutMs);
  try {
    return await readHello(conn);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

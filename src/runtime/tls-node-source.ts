/**
 * listenTls for certificates that come and go (TlsServerOptions.source: ACME), on
 * node:net and node:tls, for both adapters. The ClientHello is read first
 * (src/detect/tls-client-hello.ts), so the SNI and the ALPN list are known before a
 * certificate is chosen: a TLS-ALPN-01 validation (ALPN `acme-tls/1`, RFC 8737) gets the
 * challenge certificate, a name whose first certificate is still being obtained waits
 * for it (the source decides how long), and every handshake gets the certificate
 * current at that moment, so a renewal reaches new connections while open ones carry
 * on. The bytes read are given back (unshift) and the socket is wrapped in a server
 * TLSSocket with the chosen context; node:tls's SNICallback could not do this, as it
 * sees neither the ALPN list nor may it choose a different ALPN answer.
 */
import net from "node:net";
import tls from "node:tls";
import type { ListenOptions, SocketAddress, TcpListener, TlsCertificate, TlsConn, TlsServerOptions } from "./types.ts";
import { listenError } from "./net-common.ts";
import { certNames, selectCert } from "./tls-select.ts";
import { NodeTlsConn } from "./tls-node.ts";
import { nodeTlsPolicy } from "./tls-server-options.ts";
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from "../detect/tls-client-hello.ts";

const HELLO_TIMEOUT_MS = 10_000;
const ACME_TLS_ALPN = "acme-tls/1";

interface Hello {
  sni: string | null;
  alpn: string[];
}

export async function listenTlsSource(
  addr: SocketAddress,
  onConn: (conn: TlsConn) => void,
  opts: TlsServerOptions,
  options?: ListenOptions,
): Promise<TcpListener> {
  const chooser = new Chooser(opts);
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const gate = options?.gate;
    if (gate && !gate.open()) {
      socket.destroy();
      return gate.refused();
    }
    void accept(socket, chooser, onConn);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: unknown) => reject(listenError(addr, err));
    server.once("error", onError);
    server.listen({ port: addr.port, host: addr.hostname, reusePort: options?.reusePort ?? false }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", () => {/* errors after listen concern connections */});
  const bound = server.address() as { address: string; port: number };
  return {
    addr: { hostname: bound.address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, ""), port: bound.port },
    close: () => {
      try {
        server.close();
      } catch { /* already closed */ }
    },
  };
}

/** Picks the context for one handshake: challenge, the source's certificate, the static ones. */
class Chooser {
  readonly #opts: TlsServerOptions;
  readonly #names: string[][];
  readonly #contexts = new WeakMap<TlsCertificate, tls.SecureContext>();

  constructor(opts: TlsServerOptions) {
    this.#opts = opts;
    this.#names = opts.certs.map((c) => certNames(c.cert));
  }

  async choose(hello: Hello): Promise<{ context: tls.SecureContext; challenge: boolean } | null> {
    const { source, certs } = this.#opts;
    if (hello.sni && hello.alpn.includes(ACME_TLS_ALPN)) {
      const c = source?.challengeFor(hello.sni);
      if (c) return { context: this.#context(c), challenge: true };
    }
    const found = await source?.certFor(hello.sni);
    if (found) return { context: this.#context(found), challenge: false };
    if (certs.length === 0) return null;
    return { context: this.#context(certs[selectCert(this.#names, hello.sni)]), challenge: false };
  }

  #context(c: TlsCertificate): tls.SecureContext {
    let ctx = this.#contexts.get(c);
    if (!ctx) {
      const ca = this.#opts.clientAuth ? { ca: this.#opts.clientAuth.ca } : {};
      // The listener's TLS versions and suites (tls-server-options.ts), as on every listener.
      ctx = tls.createSecureContext({ cert: c.cert, key: c.key, ...ca, ...nodeTlsPolicy(this.#opts) });
      this.#contexts.set(c, ctx);
    }
    return ctx;
  }

  serverOptions(challenge: boolean): tls.TLSSocketOptions {
    if (challenge) return { ALPNProtocols: [ACME_TLS_ALPN] };
    const { alpn = [], clientAuth } = this.#opts;
    return {
      ...(alpn.length ? { ALPNProtocols: alpn } : {}),
      ...(clientAuth ? { requestCert: true, rejectUnauthorized: clientAuth.require } : {}),
    };
  }
}

async function accept(socket: net.Socket, chooser: Chooser, onConn: (conn: TlsConn) => void): Promise<void> {
  socket.on("error", () => socket.destroy());
  const hello = await readHello(socket);
  const chosen = hello && !socket.destroyed ? await chooser.choose(hello).catch(() => null) : null;
  if (!hello || !chosen || socket.destroyed) return void socket.destroy();
  const secure = new tls.TLSSocket(socket, {
    isServer: true,
    secureContext: chosen.context,
    ...chooser.serverOptions(chosen.challenge),
  });
  secure.on("error", () => secure.destroy());
  // A validation connection is the CA's: it reads the certificate and leaves.
  const limit = chosen.challenge ? setTimeout(() => secure.destroy(), HELLO_TIMEOUT_MS) : null;
  secure.once("secure", () => {
    if (chosen.challenge) return void secure.end();
    onConn(new NodeTlsConn(secure, hello.sni));
  });
  secure.once("close", () => limit && clearTimeout(limit));
}

/** Reads up to a whole ClientHello, pauses and gives the bytes back; null when it is not one in time. */
function readHello(socket: net.Socket): Promise<Hello | null> {
  return new Promise((resolve) => {
    let bytes = new Uint8Array(0);
    const done = (h: Hello | null) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.pause();
      if (h) socket.unshift(bytes);
      resolve(h);
    };
    const onEnd = () => done(null);
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(bytes.length + chunk.length);
      next.set(bytes);
      next.set(chunk, bytes.length);
      bytes = next;
      const r = parseClientHello(bytes);
      if (r.status === "ok") return done({ sni: r.sni, alpn: r.alpn });
      if (r.status !== "need-more" || bytes.length > MAX_CLIENT_HELLO_BYTES) done(null);
    };
    const timer = setTimeout(() => done(null), HELLO_TIMEOUT_MS);
    socket.on("data", onData);
    socket.once("end", onEnd);
  });
}

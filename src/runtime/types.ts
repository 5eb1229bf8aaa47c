/**
 * The runtime adapter: the one seam between vane and Deno or Bun. Everything that
 * touches `Deno.*` or `Bun.*` lives behind this interface, in this folder.
 */

/**
 * vane's one address type: an IP (or, for a connect, a name) and a port. A client, the
 * address it connected to, a PROXY header's source and a listener's bound address are
 * all this. Two other forms remain, at the edges: `IP:PORT` strings (config/address.ts's
 * `formatAddress`), which is how logs, status and URLs show an address, and the PROXY
 * header parser's `{ address, port }` (detect/proxy-protocol.ts, below this layer),
 * which forward/proxy-header.ts turns into this.
 */
export interface SocketAddress {
  hostname: string;
  port: number;
}

/**
 * A TCP connection as a pull-based byte stream.
 *
 * `read()` yields the next chunk, or null at end of stream (the peer sent FIN). The
 * chunk may be a view into a buffer the adapter reuses: it is valid only until the
 * next `read()` on the same connection, so a caller that keeps it must copy it.
 * `write()` resolves once the runtime has taken the bytes, so awaiting it is the
 * backpressure; it returns `WRITTEN` (runtime/written.ts) when they were taken at
 * once. `closeWrite()` sends FIN and leaves reading open (half-close).
 */
export interface TcpConn {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  read(): Promise<Uint8Array | null>;
  /**
   * `read()` with a callback instead of a promise (Bun: from its data events; Deno: on
   * its read op's promise, sparing the awaits above it): `next` gets what read() would
   * resolve with (a chunk, null at end of stream) or the error, once, and at once when
   * a chunk is already queued. The HTTP engine serves its common exchange this way
   * with no promise of its own.
   */
  readNext?(next: ReadNext): void;
  write(data: Uint8Array): Promise<void>;
  /**
   * `write(data.subarray(from, to))` without the view, where the runtime can (Bun), and
   * with what it cannot write at once copied: `data` is the caller's again as soon as
   * this returns, so a buffer can be reused for every write (ReplayConn.outBuffer).
   */
  writeRange?(data: Uint8Array, from: number, to: number): Promise<void>;
  /**
   * `write(data)` for bytes the caller never touches again (a head built for this one
   * write), where the runtime can make use of that (Deno: runtime/deno-writes.ts). It may
   * answer WRITTEN before it knows that the socket took every byte: the rest, if any,
   * goes out before any later write, before a read is delivered, and before the close.
   */
  writeOwned?(data: Uint8Array): Promise<void>;
  closeWrite(): Promise<void>;
  /** Closes both directions at once. Safe to call more than once. */
  close(): void;
  /** Resolves when the connection is fully closed, whoever closed it. */
  readonly closed: Promise<void>;
  /**
   * The fast path of an L4 relay, where the runtime has one: copies everything this
   * connection receives to `to`, in order, with backpressure (a slow `to` stops
   * reading here), until end of stream; then half-closes `to` once every byte was
   * written (if `ends.halfClose()` says so) and reports `ends.ended(null)`. Either side
   * failing or closing first reports the error instead. Bytes this connection read
   * before (queued, not yet handed out) go first. Only for a `to` of the same kind
   * (relay checks that both share this method), and with no `read()` in flight here.
   * Callbacks rather than a promise: a relay per connection would make two promises
   * and their reactions.
   */
  pipeTo?(to: TcpConn, ends: PipeEnds): void;
}

/** A client certificate the listener verified against its CA (TlsServerOptions.clientAuth). */
export interface ClientCert {
  /** The subject's common name (CN), or the whole subject when it has none. */
  subject: string;
  /** Its subject alternative names, as `DNS:name`, `IP Address:ip`, `URI:...`, `email:...`. */
  san: string[];
}

/** A decrypted TLS connection (listenTls): a TcpConn that also knows the name the client asked for. */
export interface TlsConn extends TcpConn {
  /** The name the client asked for by SNI, normalised (tls-select.ts), or null if none. */
  readonly sni: string | null;
  /** The client's certificate, when the listener asked for one and it verified; else null or absent. */
  readonly clientCert?: ClientCert | null;
}

/** A TLS connection vane opened to a target (connectTls): the protocol ALPN settled on. */
export interface TlsClientConn extends TcpConn {
  /** The protocol the target chose by ALPN (e.g. "h2"), or null when it chose none. */
  readonly alpn: string | null;
}

/** How vane speaks TLS to a target (a pool's `tls`). */
export interface TlsClientOptions {
  /** The name sent by SNI and checked against the certificate; null: none (an IP target). */
  servername: string | null;
  /** Protocols offered by ALPN, e.g. ["h2"]. @default none */
  alpn?: string[];
  /** CA certificates (PEM) to verify against instead of the system's. @default the system store */
  ca?: string;
  /** Verify the target's certificate (chain and name). False only where the operator said so. */
  verify: boolean;
  /** A client certificate and key (PEM) for targets that ask for one (mTLS). @default none */
  cert?: string;
  key?: string;
}

/** Where `readNext` delivers: a chunk, null at end of stream, or the error. */
export type ReadNext = (result: Uint8Array | null | Error) => void;

/** What one direction of a relay (TcpConn.pipeTo) reports to, and asks. */
export interface PipeEnds {
  /** Each piece written to `to`, by size. */
  bytes(n: number): void;
  /**
   * Asked at the end of stream, before `ended`: whether to pass the FIN on to `to`.
   * No when the caller closes `to` right after (the other direction has ended too).
   */
  halfClose(): boolean;
  /** Once: null when everything went on, else what stopped it. */
  ended(err: Error | null): void;
}

export interface TcpListener {
  readonly addr: SocketAddress;
  /** Stops accepting; open connections are not touched. */
  close(): void;
}

/** How a listening socket is opened. */
export interface ListenOptions {
  /**
   * SO_REUSEPORT (Linux): several processes bind the same address and the kernel
   * spreads new connections among them. Needs --unstable-net on Deno.
   */
  reusePort?: boolean;
  /** Asked before each accept: vane's connection limit (--max-conns). None: accept all. */
  gate?: AcceptGate;
}

/**
 * Whether a listener may take one more connection now (vane's --max-conns), and what
 * it reports when it cannot. Where the runtime lets a listener stop accepting (Deno),
 * it waits for `opened()` and new connections queue in the kernel's listen backlog;
 * where the runtime accepts on its own (Bun.listen, node:tls), a connection that
 * arrives while the gate is shut is closed unread and reported to `refused()`.
 */
export interface AcceptGate {
  open(): boolean;
  /** Resolves once a connection has left (open() may be true again). */
  opened(): Promise<void>;
  /** A connection was accepted while the gate was shut, and closed before a byte was read. */
  refused(): void;
  /**
   * Accepting failed (out of file descriptors: EMFILE, ENFILE, ENOBUFS); the listener
   * backs off and tries again, or (Bun, see bun.ts) closes its socket until
   * descriptors are free and listens again.
   */
  failed(err: Error): void;
}

/** The process's open-file limit (RLIMIT_NOFILE) after vane raised the soft one to the hard one. */
export interface FileLimit {
  /** Descriptors this process may have open (Infinity: no limit). */
  soft: number;
  hard: number;
  /** The soft limit before vane raised it; null when vane did not (it was at the hard one). */
  raisedFrom: number | null;
}

/** Who sent a request to serveHttp: the TCP peer (null when the runtime cannot tell). */
export interface HttpPeer {
  remote: SocketAddress | null;
}

export interface HttpServer {
  readonly addr: SocketAddress;
  close(): Promise<void>;
}

export interface DnsAnswer {
  address: string;
  /** Seconds, as the record says. */
  ttl: number;
}

export type DnsRecordType = "A" | "AAAA";

/**
 * A bound UDP socket. Datagrams arrive through the `onMessage` given to `bindUdp`;
 * the data handed over is the caller's to keep (the adapter copies it when the
 * runtime reuses buffers).
 */
export interface UdpSocket {
  readonly addr: SocketAddress;
  /**
   * The kernel's receive buffer (SO_RCVBUF as getsockopt reports it, which Linux
   * doubles for its bookkeeping), or null when the runtime cannot tell.
   */
  readonly receiveBufferBytes: number | null;
  /** Sends one datagram to an IP literal address (no name resolution). */
  send(data: Uint8Array, to: SocketAddress): void;
  /** Stops receiving and frees the port. Safe to call more than once. */
  close(): void;
}

/** How a UDP socket is bound; only listening sockets ask for these. */
export interface UdpBindOptions {
  /**
   * SO_REUSEPORT (Linux): several processes bind the same address and the kernel
   * hashes each client's address to one of their sockets, so a client's datagrams
   * always reach the same process while the group of sockets stays the same. Only
   * where `Runtime.udpReusePort` is true; elsewhere the bind rejects.
   */
  reusePort?: boolean;
  /**
   * SO_RCVBUF to ask for: the queue that absorbs bursts while the event loop is busy.
   * Linux caps it at net.core.rmem_max. Ignored where `Runtime.udpReceiveBuffer` is
   * false (the system default, net.core.rmem_default, stays).
   */
  receiveBufferBytes?: number;
}

/**
 * SIGUSR2 asks the primary for `vane upgrade` (nginx's binary-upgrade signal); SIGUSR1
 * reopens the access log (nginx's too).
 */
export type SignalName = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGUSR1" | "SIGUSR2";

export interface Runtime {
  readonly name: "deno" | "bun";
  readonly version: string;
  /** Command-line arguments after the program (and script) name. */
  readonly args: string[];
  readonly pid: number;
  /** CPUs this process may use: the default number of workers. */
  cpuCount(): number;
  /**
   * Raises the soft open-file limit to the hard one where it is lower (Deno and Bun
   * already do so as they start), and says what it is; null where it cannot be read.
   */
  raiseFileLimit(): FileLimit | null;
  /**
   * Whether this process is out of file descriptors right now: the error code of
   * opening /dev/null (EMFILE, ENFILE), or null. A cheap probe for telling a local
   * failure from a remote one where the runtime reports them alike.
   */
  outOfFiles(): string | null;
  /**
   * The command that starts this same program again (a worker): the runtime and the
   * script from source, or just the executable when compiled.
   */
  selfCommand(): string[];
  listenTcp(addr: SocketAddress, onConn: (conn: TcpConn) => void, options?: ListenOptions): Promise<TcpListener>;
  /** Rejects on refusal, on error, and after `timeoutMs` without a connection. */
  connectTcp(addr: SocketAddress, timeoutMs: number): Promise<TcpConn>;
  /**
   * A TCP connection with TLS on it, the handshake done (certificate checked unless
   * `tls.verify` is false); rejects like connectTcp, and with the TLS error's text.
   */
  connectTls(addr: SocketAddress, tls: TlsClientOptions, timeoutMs: number): Promise<TlsClientConn>;
  /**
   * Accepts TLS connections and hands over the DECRYPTED stream as a TlsConn. The
   * certificate is chosen by the client's SNI among `tls.certs` (see TlsServerOptions).
   */
  listenTls(
    addr: SocketAddress,
    onConn: (conn: TlsConn) => void,
    tls: TlsServerOptions,
    options?: ListenOptions,
  ): Promise<TcpListener>;
  /**
   * Asks DNS (the system's servers, or `server` when given) for records of one type.
   * Rejects when there is no answer. node:dns on Deno and Bun reports ENOTFOUND both
   * for a name that does not exist and for one without records of this type, so the
   * two cannot be told apart here: ask for A and AAAA and judge by both.
   */
  resolveDns(name: string, type: DnsRecordType, server?: SocketAddress): Promise<DnsAnswer[]>;
  /** Serves HTTP with the runtime's own server; the handler learns the peer's address too. */
  serveHttp(
    addr: SocketAddress,
    handler: (req: Request, peer: HttpPeer) => Response | Promise<Response>,
  ): Promise<HttpServer>;
  /** Binds a UDP socket; rejects with the same wording as listenTcp (address in use). */
  bindUdp(
    addr: SocketAddress,
    onMessage: (data: Uint8Array, from: SocketAddress) => void,
    options?: UdpBindOptions,
  ): Promise<UdpSocket>;
  /**
   * Whether a TCP port can be shared between processes (`reusePort`) so that one
   * takes over from another (`vane upgrade`): Linux only, where SO_REUSEPORT spreads
   * connections among the sockets; other systems give them all to one socket.
   */
  readonly tcpReusePort: boolean;
  /** Whether `bindUdp` can share a port between processes (`reusePort`): Bun yes, Deno no. */
  readonly udpReusePort: boolean;
  /** Whether listenTls honours `TlsServerOptions.ciphers`: Bun yes; Deno no (rustls takes no cipher list). */
  readonly tlsCiphers: boolean;
  /** Whether `bindUdp` can set the receive buffer (`receiveBufferBytes`): Bun yes, Deno no. */
  readonly udpReceiveBuffer: boolean;
  /**
   * Whether listenTls can serve the TLS-ALPN-01 challenge certificate (RFC 8737), whose
   * acmeIdentifier extension must be critical: Bun (OpenSSL) yes; Deno no, its rustls
   * refuses a certificate with an unknown critical extension
   * ("UnsupportedCriticalExtension"), in Deno.listenTls and node:tls alike.
   */
  readonly acmeTlsAlpn: boolean;
  onSignal(signal: SignalName, handler: () => void): void;
  readTextFile(path: string): Promise<string>;
  /** Calls `onChange` when the file may have changed (created, written, renamed over); returns a stop function. */
  watchFile(path: string, onChange: () => void): () => void;
  exit(code: number): never;
}

/** What a TLS listener (listenTls) serves. */
export interface TlsServerOptions {
  /**
   * Ask clients for a certificate and verify it against `ca` (PEM): `require` refuses a
   * client without a valid one at the handshake; otherwise such a client goes on with
   * no certificate (TlsConn.clientCert null). Absent: no client certificates.
   */
  clientAuth?: { ca: string; require: boolean };
  /**
   * Chosen by the client's SNI (matching each certificate's DNS names, wildcards like
   * *.example.com included, exact names first); no SNI or no match: the first one.
   * At least one.
   */
  certs: TlsCertificate[];
  /**
   * ALPN protocols offered, e.g. ["http/1.1"].
   * @default []
   */
  alpn?: string[];
  /**
   * The lowest TLS version accepted (`tls-min-version`).
   * @default "1.2"
   */
  minVersion?: "1.2" | "1.3";
  /**
   * TLS 1.2 cipher suites, OpenSSL names joined by ":" (`tls-ciphers`); where
   * `Runtime.tlsCiphers` is false, listenTls rejects a listener that names some.
   * @default ECDHE with AEAD ciphers only (tls-server-options.ts)
   */
  ciphers?: string;
  /**
   * Certificates that come and go while the listener runs (ACME, src/tls/): asked at
   * each handshake, before `certs`, by the SNI the ClientHello names. `certs` may then
   * be empty; a handshake neither has a certificate for is closed.
   */
  source?: CertSource;
}

/**
 * Where a listener takes certificates from at handshake time (src/tls/cert-store.ts).
 * The listener reads the ClientHello itself, so it knows the SNI and the ALPN list first.
 */
export interface CertSource {
  /**
   * The certificate for `sni`; null: none from this source (the listener's `certs`
   * decide). A promise while the name's first certificate is on its way: the
   * handshake waits for it (it resolves null when the wait is over).
   */
  certFor(sni: string | null): TlsCertificate | null | Promise<TlsCertificate | null>;
  /**
   * TLS-ALPN-01 (RFC 8737): the challenge certificate for `sni` while the CA validates
   * it, served only to a client whose ALPN list is exactly ["acme-tls/1"]; else null.
   */
  challengeFor(sni: string): TlsCertificate | null;
}

/** A certificate chain and its private key, both PEM, for listenTls. */
export interface TlsCertificate {
  cert: string;
  key: string;
}

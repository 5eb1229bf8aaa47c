/**
 * The Bun implementation of the runtime adapter: Bun.listen/Bun.connect socket
 * handlers turned into the pull-based TcpConn. Bun's write() does not buffer (it
 * returns a short count), so the rest waits for drain(); incoming data is queued up
 * to a bound and the socket paused beyond it, so neither side buffers unboundedly.
 */
import { connectTlsNode } from "./tls-client.ts";
import { watchFile } from "./watch.ts";
import type {
  HttpPeer,
  HttpServer,
  ListenOptions,
  PipeEnds,
  ReadNext,
  Runtime,
  SignalName,
  SocketAddress,
  TcpConn,
  TcpListener,
} from "./types.ts";
import { withTimeout } from "./timeout.ts";
import { listenError, resolveWithTtl } from "./net-common.ts";
import { listenTlsNode } from "./tls-node.ts";
import { listenTlsSource } from "./tls-node-source.ts";
import { WRITTEN } from "./written.ts";
import { useShortLayouts } from "../detect/http-fields.ts";
import { localCause, outOfFiles, raiseFileLimit } from "./fd-limit.ts";
import { bunLibc, GatedListener } from "./bun-gated-listener.ts";
import { bindBunUdp, bindDgramUdp } from "./bun-udp.ts";
import type { BunApi, BunListener, BunServer, BunSocket, BunSocketHandler } from "./bun.d.ts";

declare const Bun: BunApi;

/** A socket of vane's: its BunTcpConn rides in `data`, from `open` on (see handlers). */
type ConnSocket = BunSocket<BunTcpConn | undefined>;

// Pause reading once this much is queued and unread; resume when the reader has
// taken it all. Bun hands over chunks of up to 512 KiB (seen on loopback), so this
// pauses after a chunk or a few.
const QUEUE_HIGH_WATER_BYTES = 256 * 1024;

/**
 * One direction of relay's fast path (pipe mode): `from`'s data handler writes each
 * chunk straight to `to`'s socket. What the socket does not take waits in `backlog`
 * with `from` paused, and goes out on `to`'s drain. Bun does not reuse the buffers it
 * hands to data(), so chunks are kept as they are.
 */
interface Pipe {
  from: BunTcpConn;
  to: BunTcpConn;
  ends: PipeEnds;
  /** Not yet taken by `to`'s socket, oldest first; non-empty only while `from` is paused. */
  backlog: Uint8Array[];
  /** `from` sent FIN: `to` sends one once the backlog is out. */
  ended: boolean;
}

class BunTcpConn implements TcpConn {
  #socket: ConnSocket;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #paused = false;
  #ended = false;
  #error: Error | null = null;
  #isClosed = false;
  /**
   * The waiting read's settle functions (null: no read waits), or a readNext callback in
   * both. Fields, not an object per read.
   */
  #reader: ((c: Uint8Array | null) => void) | null = null;
  #readerFails: ((e: Error) => void) | null = null;
  /**
   * The executor of every waiting read's promise, made at the first read (a relay in
   * pipe mode never reads) and kept: a closure per read is garbage per request.
   */
  #waitForData: ((resolve: (c: Uint8Array | null) => void, reject: (e: Error) => void) => void) | null = null;
  #unwritten: Uint8Array | null = null;
  #writer: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #pendingWrite: Promise<void> | null = null;
  /** Made when first asked for: few callers wait on it, every connection would pay for it. */
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;
  /** Pipe mode: the pipe this socket's data goes into, and the one coming out of it. */
  #out: Pipe | null = null;
  #in: Pipe | null = null;
  #remote: SocketAddress | null = null;
  #local: SocketAddress | null = null;

  // Bun sets TCP_NODELAY on every socket it opens or accepts: nothing to do here.
  constructor(socket: ConnSocket) {
    this.#socket = socket;
  }

  // Asked for when needed: each of Bun's address getters is a system call of its own
  // (getpeername, getsockname), and most upstream connections never need theirs.
  get remote(): SocketAddress {
    return this.#remote ??= { hostname: this.#socket.remoteAddress, port: this.#socket.remotePort };
  }

  get local(): SocketAddress {
    return this.#local ??= { hostname: this.#socket.localAddress, port: this.#socket.localPort };
  }

  // ---- events from Bun's socket handlers ----

  onData(chunk: Uint8Array): void {
    if (this.#out !== null) return this.#forward(this.#out, chunk);
    if (this.#reader) {
      const r = this.#reader;
      this.#reader = this.#readerFails = null;
      try {
        r(chunk);
      } catch (err) {
        this.#readerThrew(err);
      }
      return;
    }
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    if (!this.#paused && this.#queuedBytes >= QUEUE_HIGH_WATER_BYTES) this.#pause();
  }

  /**
   * A bug in a readNext callback: Bun's data handler would swallow it and leave the
   * connection open, waiting for a read nobody will make. It ends this connection, as
   * on Deno (deno-conn.ts).
   */
  #readerThrew(err: unknown): void {
    console.error("read handler failed:", err);
    this.close();
  }

  onDrain(): void {
    if (this.#in !== null) return this.#flush(this.#in);
    if (!this.#unwritten) return;
    const n = this.#socket.write(this.#unwritten);
    if (n < 0) return this.#failWrite(new Error("connection closed while writing"));
    this.#unwritten = n < this.#unwritten.length ? this.#unwritten.subarray(n) : null;
    if (!this.#unwritten && this.#writer) {
      const w = this.#writer;
      this.#writer = null;
      w.resolve();
    }
  }

  onEnd(): void {
    this.#ended = true;
    if (this.#out !== null) return this.#endPipe(this.#out);
    this.#wakeReader();
  }

  onError(err: Error): void {
    this.#error ??= err;
  }

  onClose(err?: Error): void {
    if (err) this.#error ??= err;
    this.#ended = true;
    this.#isClosed = true;
    this.#wakeReader();
    // (An Error, with its stack trace, only when someone waits for it: this runs per connection.)
    if (this.#writer) this.#failWrite(this.#error ?? new Error("connection closed while writing"));
    else this.#unwritten = null;
    // Closed without an error reads as end of stream here, as read() sees it (Bun may
    // report a peer's FIN after our own as a close alone); a pipe into it cannot finish.
    if (this.#out !== null) {
      if (this.#error) BunTcpConn.#settle(this.#out, this.#error);
      else this.#endPipe(this.#out);
    }
    if (this.#in !== null) BunTcpConn.#settle(this.#in, this.#error ?? new Error("connection closed"));
    this.#resolveClosed?.();
  }

  #pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  #resume(): void {
    this.#paused = false;
    this.#socket.resume();
  }

  #wakeReader(): void {
    if (!this.#reader || this.#queue.length) return;
    const r = this.#reader;
    const fails = this.#readerFails!;
    this.#reader = this.#readerFails = null;
    if (this.#error) fails(this.#error);
    else r(null);
  }

  #failWrite(err: Error): void {
    this.#unwritten = null;
    if (!this.#writer) return;
    const w = this.#writer;
    this.#writer = null;
    w.reject(err);
  }

  // ---- pipe mode (relay's fast path) ----

  /** On `from` (this): a chunk goes straight out of `to`'s socket, the rest waits. */
  #forward(pipe: Pipe, chunk: Uint8Array): void {
    if (pipe.backlog.length > 0) {
      pipe.backlog.push(chunk); // a chunk that was on its way when we paused: keep the order
      return;
    }
    const n = pipe.to.#socket.write(chunk);
    if (n === chunk.length) return pipe.ends.bytes(n);
    if (n < 0) return BunTcpConn.#settle(pipe, new Error("connection closed while writing"));
    if (n > 0) pipe.ends.bytes(n);
    pipe.backlog.push(n > 0 ? chunk.subarray(n) : chunk);
    this.#pause();
  }

  /** On `to` (this), at drain: the backlog goes out; once it is, `from` reads again. */
  #flush(pipe: Pipe): void {
    const backlog = pipe.backlog;
    while (backlog.length > 0) {
      const chunk = backlog[0];
      const n = this.#socket.write(chunk);
      if (n < 0) return BunTcpConn.#settle(pipe, new Error("connection closed while writing"));
      if (n > 0) pipe.ends.bytes(n);
      if (n < chunk.length) {
        backlog[0] = chunk.subarray(n); // the socket is full again: wait for the next drain
        return;
      }
      backlog.shift();
    }
    if (pipe.ended) this.#finish(pipe);
    else if (pipe.from.#paused) pipe.from.#resume();
  }

  /** On `from` (this): its FIN goes on to `to` once everything before it has. */
  #endPipe(pipe: Pipe): void {
    pipe.ended = true;
    if (pipe.backlog.length === 0) this.#finish(pipe);
  }

  #finish(pipe: Pipe): void {
    // Asked before the end is reported (that may close both connections), and the end
    // reported before the shutdown(): it can close the socket at once (its peer had
    // ended too), and that close must not fail a pipe that has finished.
    const fin = pipe.ends.halfClose();
    BunTcpConn.#settle(pipe, null);
    if (fin && !pipe.to.#isClosed) pipe.to.#socket.shutdown();
  }

  /** A pipe through this socket that has not finished cannot finish any more. */
  #endPipes(err: Error): void {
    if (this.#out !== null) BunTcpConn.#settle(this.#out, err);
    if (this.#in !== null) BunTcpConn.#settle(this.#in, err);
  }

  /** Ends a pipe once, well when `err` is null; later events find it detached. */
  static #settle(pipe: Pipe, err: Error | null): void {
    if (pipe.from.#out !== pipe) return;
    pipe.from.#out = null;
    pipe.to.#in = null;
    pipe.backlog.length = 0;
    pipe.ends.ended(err);
  }

  // ---- TcpConn ----

  /** The oldest queued chunk (there is one); reading resumes once the queue is empty. */
  #takeQueued(): Uint8Array {
    const chunk = this.#queue.shift()!;
    this.#queuedBytes -= chunk.length;
    if (this.#paused && this.#queuedBytes === 0) this.#resume();
    return chunk;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#queue.length > 0) return Promise.resolve(this.#takeQueued());
    if (this.#ended) return this.#error ? Promise.reject(this.#error) : Promise.resolve(null);
    return new Promise(
      this.#waitForData ??= (resolve, reject) => {
        this.#reader = resolve;
        this.#readerFails = reject;
      },
    );
  }

  readNext(next: ReadNext): void {
    if (this.#queue.length > 0) return next(this.#takeQueued());
    if (this.#ended) return next(this.#error ?? null);
    this.#reader = next;
    this.#readerFails = next;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(this.#error ?? new Error("connection closed"));
    // Callers await each write; one issued before the last drained waits its turn.
    if (this.#pendingWrite) return this.#writeAfter(this.#pendingWrite, data);
    const n = this.#socket.write(data);
    if (n < 0) return Promise.reject(new Error("connection closed while writing"));
    if (n === data.length) return WRITTEN;
    return this.#waitForDrain(data.subarray(n));
  }

  writeRange(data: Uint8Array, from: number, to: number): Promise<void> {
    if (this.#isClosed) return Promise.reject(this.#error ?? new Error("connection closed"));
    // What waits is a copy: the caller reuses `data` once this returns.
    if (this.#pendingWrite) return this.#writeAfter(this.#pendingWrite, data.slice(from, to));
    const n = this.#socket.write(data, from, to - from);
    if (n < 0) return Promise.reject(new Error("connection closed while writing"));
    if (n === to - from) return WRITTEN;
    return this.#waitForDrain(data.slice(from + n, to));
  }

  // The closures of write's rarer paths are made apart from it: one in write, made or
  // not, would cost JavaScriptCore a scope object per write.

  #writeAfter(pending: Promise<void>, data: Uint8Array): Promise<void> {
    return pending.then(() => this.write(data));
  }

  /** `unwritten` goes out at the drains to come; the promise settles once it has. */
  #waitForDrain(unwritten: Uint8Array): Promise<void> {
    this.#unwritten = unwritten;
    this.#pendingWrite = new Promise<void>((resolve, reject) => (this.#writer = { resolve, reject }))
      .finally(() => (this.#pendingWrite = null));
    return this.#pendingWrite;
  }

  async closeWrite(): Promise<void> {
    if (this.#pendingWrite) await this.#pendingWrite;
    if (!this.#isClosed) this.#socket.shutdown();
  }

  get closed(): Promise<void> {
    return this.#closed ??= this.#isClosed
      ? Promise.resolve()
      : new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#ended = true;
    this.#socket.end();
    this.#wakeReader();
    if (this.#out !== null || this.#in !== null) this.#endPipes(new Error("connection closed"));
    this.#resolveClosed?.();
  }

  /**
   * Pipe mode: from here on this socket's data handler writes straight to `to`'s
   * socket (see Pipe), starting with whatever was queued before.
   */
  pipeTo(to: TcpConn, ends: PipeEnds): void {
    if (!(to instanceof BunTcpConn)) return ends.ended(new Error("pipeTo needs another Bun TCP connection"));
    if (this.#reader || this.#out !== null || to.#in !== null) {
      return ends.ended(new Error("pipeTo on a connection that is being read already"));
    }
    // A write of its own (a PROXY header) goes out before anything piped.
    if (to.#pendingWrite) {
      to.#pendingWrite.then(() => this.pipeTo(to, ends), (err) => ends.ended(err));
      return;
    }
    const pipe: Pipe = { from: this, to, ends, backlog: [], ended: false };
    this.#out = pipe;
    to.#in = pipe;
    // Read before the relay began (during a peek, say): it goes first.
    const queue = this.#queue;
    for (let i = 0; i < queue.length; i++) this.#forward(pipe, queue[i]);
    queue.length = 0;
    this.#queuedBytes = 0;
    if (this.#error || to.#isClosed) {
      BunTcpConn.#settle(pipe, this.#error ?? to.#error ?? new Error("connection closed"));
    } else if (this.#ended) this.#endPipe(pipe);
    else if (this.#paused && pipe.backlog.length === 0) this.#resume();
  }
}

/** Makes the socket's connection object; Bun calls `open` before any other handler. */
const attach = (s: ConnSocket): BunTcpConn => (s.data = new BunTcpConn(s));

// One set of handlers for every socket; the connection object rides in socket.data (a
// connect that fails never opens: error and close then find none).
const handlers: BunSocketHandler<BunTcpConn | undefined> = {
  open: attach,
  data: (s, chunk) => s.data!.onData(chunk),
  drain: (s) => s.data?.onDrain(),
  end: (s) => s.data?.onEnd(),
  error: (s, err) => s.data?.onError(err),
  close: (s, err) => s.data?.onClose(err),
};

const terminate = (s: ConnSocket) => s.terminate();
const connOf = (s: ConnSocket): TcpConn => s.data!;

export function createBunRuntime(): Runtime {
  // Heads' field layouts as Uint16Arrays: a third of an array's bytes on JavaScriptCore.
  useShortLayouts();
  // Read now: Bun reads /proc/self/exe when asked, and once `vane upgrade`'s installer
  // renamed a new binary over this one, that names the old file, "(deleted)".
  const executable = process.execPath;
  return {
    name: "bun",
    version: Bun.version,
    args: process.argv.slice(2),
    pid: process.pid,
    cpuCount: () => navigator.hardwareConcurrency || 1,
    // A compiled executable's entry lives in Bun's embedded file system.
    selfCommand: () => (String(Bun.main).startsWith("/$bunfs/") ? [executable] : [executable, Bun.main]),

    raiseFileLimit: () => raiseFileLimit(bunLibc()),
    outOfFiles,

    listenTcp: (addr, onConn, options) => Promise.try(listenBunTcp, addr, onConn, options),
    connectTls: connectTlsNode,

    connectTcp(addr, timeoutMs): Promise<TcpConn> {
      const pending = Bun.connect({
        hostname: addr.hostname,
        port: addr.port,
        allowHalfOpen: true,
        socket: handlers,
      });
      // Bun reports a connect that found no free descriptor as ECONNREFUSED: say what it was.
      return withTimeout(pending, timeoutMs, "connect", terminate, connOf).catch(rejectLocal);
    },

    listenTls: (addr, onConn, tls, options) =>
      tls.source ? listenTlsSource(addr, onConn, tls, options) : listenTlsNode(addr, onConn, tls, options),

    resolveDns: resolveWithTtl,

    serveHttp: (addr, handler) => Promise.try(serveBunHttp, addr, handler),

    bindUdp: (addr, onMessage, options) =>
      options?.reusePort || options?.receiveBufferBytes
        ? bindDgramUdp(addr, onMessage, options)
        : bindBunUdp(addr, onMessage),
    tcpReusePort: process.platform === "linux",
    udpReusePort: true,
    udpReceiveBuffer: true,
    tlsCiphers: true,
    acmeTlsAlpn: true,

    onSignal(signal: SignalName, handler: () => void) {
      process.on(signal, handler);
    },

    readTextFile: (path) => Bun.file(path).text(),
    watchFile,

    exit(code: number): never {
      process.exit(code);
      throw new Error("unreachable");
    },
  };
}

function listenBunTcp(
  addr: SocketAddress,
  onConn: (conn: TcpConn) => void,
  options?: ListenOptions,
): TcpListener {
  const gate = options?.gate;
  let gated: GatedListener | null = null;
  const open = gate
    ? (s: ConnSocket) => {
      const conn = attach(s);
      if (!gate.open()) {
        // Accepted in the same turn as the one that filled the last slot.
        conn.close();
        gate.refused();
        return gated?.pause();
      }
      onConn(conn);
      if (!gate.open()) gated?.pause();
    }
    : (s: ConnSocket) => onConn(attach(s));
  // `fd`: take over a listening socket that is open already (see GatedListener).
  const listen = (port: number, fd?: number) =>
    Bun.listen({
      ...(fd === undefined ? { hostname: addr.hostname, port } : { fd }),
      allowHalfOpen: true,
      reusePort: options?.reusePort ?? false,
      socket: { ...handlers, open },
    });
  let listener: BunListener;
  try {
    listener = listen(addr.port);
  } catch (err) {
    throw listenError(addr, err);
  }
  const bound = { hostname: listener.hostname, port: listener.port };
  if (!gate) return { addr: bound, close: () => listener.stop(false) };
  gated = new GatedListener(listener, (fd) => listen(bound.port, fd), gate);
  const g = gated;
  return { addr: bound, close: () => g.close() };
}

function serveBunHttp(
  addr: SocketAddress,
  handler: (req: Request, peer: HttpPeer) => Response | Promise<Response>,
): HttpServer {
  let server: BunServer;
  try {
    server = Bun.serve({
      hostname: addr.hostname,
      port: addr.port,
      fetch: (req, srv) => {
        const ip = srv.requestIP(req);
        return handler(req, { remote: ip ? { hostname: ip.address, port: ip.port } : null });
      },
    });
  } catch (err) {
    throw listenError(addr, err);
  }
  return {
    addr: { hostname: server.hostname, port: server.port },
    // stop(true) closes the open connections at once; its promise is not waited for.
    close: () => {
      void server.stop(true);
      return Promise.resolve();
    },
  };
}

const rejectLocal = (err: unknown): never => {
  throw localCause(err);
};

/**
 * The Bun implementation of the runtime adapter: Bun.listen/Bun.connect socket
 * handlers turned into the pull-based TcpConn. Bun's write() does not buffer (it
 * returns a short count), so the rest waits for drain(); incoming data is queued up
 * to a bound and the socket paused beyond it, so neither side buffers unboundedly.
 */
import { watchFile } from "./watch.ts";
import type { HttpServer, Runtime, SignalName, SocketAddress, TcpConn, TcpListener } from "./types.ts";
import { withTimeout } from "./timeout.ts";
import { listenError, resolveWithTtl } from "./net-common.ts";
import { listenTlsNode } from "./tls-node.ts";
import type { UdpSocket } from "./types.ts";

declare const Bun: any;
declare const process: any;
declare const navigator: { hardwareConcurrency?: number };

// Pause reading once this much is queued and unread; resume when the reader has
// taken it all. Bun hands over chunks of up to 64 KiB, so this is a few chunks.
const QUEUE_HIGH_WATER_BYTES = 256 * 1024;

class BunTcpConn implements TcpConn {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  readonly closed: Promise<void>;
  #socket: any;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #paused = false;
  #ended = false;
  #error: Error | null = null;
  #isClosed = false;
  #reader: { resolve: (c: Uint8Array | null) => void; reject: (e: Error) => void } | null = null;
  #unwritten: Uint8Array | null = null;
  #writer: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #pendingWrite: Promise<void> | null = null;
  #resolveClosed!: () => void;

  constructor(socket: any) {
    this.#socket = socket;
    this.remote = { hostname: socket.remoteAddress, port: socket.remotePort };
    this.local = { hostname: socket.localAddress, port: socket.localPort };
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    try {
      socket.setNoDelay(true);
    } catch { /* latency only */ }
  }

  // ---- events from Bun's socket handlers ----

  onData(chunk: Uint8Array): void {
    if (this.#reader) {
      const r = this.#reader;
      this.#reader = null;
      r.resolve(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#queuedBytes += chunk.length;
    if (!this.#paused && this.#queuedBytes >= QUEUE_HIGH_WATER_BYTES) {
      this.#paused = true;
      this.#socket.pause();
    }
  }

  onDrain(): void {
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
    this.#failWrite(this.#error ?? new Error("connection closed while writing"));
    this.#resolveClosed();
  }

  #wakeReader(): void {
    if (!this.#reader || this.#queue.length) return;
    const r = this.#reader;
    this.#reader = null;
    if (this.#error) r.reject(this.#error);
    else r.resolve(null);
  }

  #failWrite(err: Error): void {
    this.#unwritten = null;
    if (!this.#writer) return;
    const w = this.#writer;
    this.#writer = null;
    w.reject(err);
  }

  // ---- TcpConn ----

  read(): Promise<Uint8Array | null> {
    const chunk = this.#queue.shift();
    if (chunk) {
      this.#queuedBytes -= chunk.length;
      if (this.#paused && this.#queuedBytes === 0) {
        this.#paused = false;
        this.#socket.resume();
      }
      return Promise.resolve(chunk);
    }
    if (this.#ended) return this.#error ? Promise.reject(this.#error) : Promise.resolve(null);
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(this.#error ?? new Error("connection closed"));
    // Callers await each write; one issued before the last drained waits its turn.
    if (this.#pendingWrite) return this.#pendingWrite.then(() => this.write(data));
    const n = this.#socket.write(data);
    if (n < 0) return Promise.reject(new Error("connection closed while writing"));
    if (n === data.length) return Promise.resolve();
    this.#unwritten = data.subarray(n);
    this.#pendingWrite = new Promise<void>((resolve, reject) => (this.#writer = { resolve, reject }))
      .finally(() => (this.#pendingWrite = null));
    return this.#pendingWrite;
  }

  async closeWrite(): Promise<void> {
    if (this.#pendingWrite) await this.#pendingWrite;
    if (!this.#isClosed) this.#socket.shutdown();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#ended = true;
    this.#socket.end();
    this.#wakeReader();
    this.#resolveClosed();
  }
}

// One set of handlers for every socket; the connection object rides in socket.data.
const handlers = {
  open(s: any) {
    s.data = new BunTcpConn(s);
  },
  data: (s: any, chunk: Uint8Array) => s.data.onData(chunk),
  drain: (s: any) => s.data?.onDrain(),
  end: (s: any) => s.data?.onEnd(),
  error: (s: any, err: Error) => s.data?.onError(err),
  close: (s: any, err?: Error) => s.data?.onClose(err),
};

export function createBunRuntime(): Runtime {
  return {
    name: "bun",
    version: Bun.version,
    args: process.argv.slice(2),
    pid: process.pid,
    cpuCount: () => navigator.hardwareConcurrency || 1,
    // A compiled executable's entry lives in Bun's embedded file system.
    selfCommand: () => (String(Bun.main).startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main]),

    async listenTcp(addr, onConn, options): Promise<TcpListener> {
      let listener: any;
      try {
        listener = Bun.listen({
          hostname: addr.hostname,
          port: addr.port,
          allowHalfOpen: true,
          reusePort: options?.reusePort ?? false,
          socket: {
            ...handlers,
            open(s: any) {
              handlers.open(s);
              onConn(s.data);
            },
          },
        });
      } catch (err) {
        throw listenError(addr, err);
      }
      return {
        addr: { hostname: listener.hostname, port: listener.port },
        close: () => listener.stop(false),
      };
    },

    async connectTcp(addr, timeoutMs): Promise<TcpConn> {
      const pending = Bun.connect({
        hostname: addr.hostname,
        port: addr.port,
        allowHalfOpen: true,
        socket: handlers,
      });
      const socket = await withTimeout(pending, timeoutMs, `connect timed out after ${timeoutMs}ms`, (s: any) => s.terminate());
      return socket.data;
    },

    listenTls: listenTlsNode,

    resolveDns: resolveWithTtl,

    async serveHttp(addr, handler): Promise<HttpServer> {
      let server: any;
      try {
        server = Bun.serve({ hostname: addr.hostname, port: addr.port, fetch: handler });
      } catch (err) {
        throw listenError(addr, err);
      }
      return {
        addr: { hostname: server.hostname, port: server.port },
        close: async () => void server.stop(true),
      };
    },

    bindUdp: (addr, onMessage) => bindBunUdp(addr, onMessage),

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

// ---- UDP ----

/** Bun.udpSocket does not resolve names: `to` must be an IP literal (DESIGN). */
async function bindBunUdp(
  addr: SocketAddress,
  onMessage: (data: Uint8Array, from: SocketAddress) => void,
): Promise<UdpSocket> {
  let sock: any;
  try {
    sock = await Bun.udpSocket({
      hostname: addr.hostname,
      port: addr.port,
      socket: {
        data(_s: any, buf: Uint8Array, port: number, address: string) {
          // Copy: whether Bun reuses this buffer for UDP is not documented, and the
          // contract promises data the caller may keep.
          const data = new Uint8Array(buf);
          try {
            onMessage(data, { hostname: address, port });
          } catch (err) {
            // A handler's bug must not take the socket's event loop with it.
            console.error("udp handler failed:", err);
          }
        },
      },
    });
  } catch (err) {
    throw listenError(addr, err);
  }
  let closed = false;
  return {
    addr: { hostname: sock.address?.address ?? sock.hostname, port: sock.port },
    send(data, to) {
      if (closed) return;
      // false means the kernel buffer is full: the datagram is lost, as on the wire.
      try {
        sock.send(data, to.port, to.hostname);
      } catch { /* best effort, like any datagram */ }
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}

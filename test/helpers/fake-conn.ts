/**
 * Two connected in-memory TcpConns, for testing what runs over a connection (the HTTP
 * engine, a connection's detection, a relay) with no socket, no port and no waiting.
 * What one end writes, the other reads, in order, following the contract in
 * src/runtime/types.ts: a read at a time, null at end of stream, half-close with
 * `closeWrite()`, `write()` resolving once the peer has taken the bytes (`WRITTEN` when
 * at once), `closed` once the connection is over.
 *
 * And what a socket cannot do, for tests: every write is recorded (`written`), writes
 * can be cut into pieces that arrive one read each (`maxChunk`, `writePieces`), a peer
 * that stops reading holds writes pending (`highWaterMark`), and reads can hand out
 * views into one reused buffer that the next read overwrites (`reuseBuffer`), as the
 * runtimes' adapters do, which catches a caller that keeps a chunk without copying it.
 *
 * Deterministic: nothing here uses a timer. Data reaches a waiting reader from the
 * microtask queue (never inside the writer's `write()` call, as with a real socket),
 * so a test settles everything in flight with one macrotask turn (`settle()`).
 */
import { setImmediate } from "node:timers";
import type { ReadNext, SocketAddress, TcpConn } from "../../src/runtime/types.ts";
import { WRITTEN } from "../../src/runtime/written.ts";

export interface FakeConnOptions {
  /**
   * Each write reaches the peer in pieces of at most this many bytes, one read each
   * (1: a head that trickles in byte by byte). Per end, changeable later (`maxChunk`).
   * @default Infinity
   */
  maxChunk?: number;
  /**
   * A read hands out everything queued at once, as a socket's receive buffer does;
   * otherwise one piece (one write, or one `maxChunk` piece of it) per read.
   * @default false
   */
  coalesce?: boolean;
  /**
   * Unread bytes an end holds before its peer's writes stay pending (until reads bring
   * it down to this). 0: every write waits until the peer has read it all.
   * @default Infinity
   */
  highWaterMark?: number;
  /** Give both ends `readNext` (callback reads, as the Bun adapter has). @default false */
  readNext?: boolean;
  /** Reads hand out views into one buffer per end, scribbled over by the next read. @default false */
  reuseBuffer?: boolean;
  /** `a`'s own address (and `b`'s remote). @default 127.0.0.1 with a fresh port */
  aAddress?: SocketAddress;
  /** `b`'s own address (and `a`'s remote). @default 127.0.0.1:8080 */
  bAddress?: SocketAddress;
}

export interface FakePair {
  a: FakeConn;
  b: FakeConn;
  /** Closes both ends; resolves once both are closed. */
  close(): Promise<void>;
}

let nextPort = 40000;

/** Two connected in-memory TcpConns: what `a` writes `b` reads, and back. */
export function fakeConnPair(opts: FakeConnOptions = {}): FakePair {
  const aAddr = opts.aAddress ?? { hostname: "127.0.0.1", port: nextPort++ };
  const bAddr = opts.bAddress ?? { hostname: "127.0.0.1", port: 8080 };
  const a = new FakeConn(aAddr, bAddr, opts);
  const b = new FakeConn(bAddr, aAddr, opts);
  a.peer = b;
  b.peer = a;
  return {
    a,
    b,
    close: () => {
      a.close();
      b.close();
      return Promise.all([a.closed, b.closed]).then(() => {});
    },
  };
}

/** Lets everything in flight over fake connections settle: one macrotask turn drains the microtask queue. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Text as bytes, for writes. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A write of the peer's waiting for this end to read (backpressure). */
interface Blocked {
  resolve(): void;
  reject(err: Error): void;
}

export class FakeConn implements TcpConn {
  /** The other end; set once by fakeConnPair. */
  peer!: FakeConn;
  /** Every write of this end, a copy each, in order (a test hook). */
  readonly written: Uint8Array[] = [];
  /** Pieces this end's writes are cut into (see FakeConnOptions.maxChunk). */
  maxChunk: number;
  /** See FakeConnOptions.coalesce (for reads of this end). */
  coalesce: boolean;
  /** Present with FakeConnOptions.readNext. */
  readonly readNext?: (next: ReadNext) => void;

  #highWaterMark: number;
  #reuseBuffer: Uint8Array | null;
  /** What the peer wrote and this end has not read yet. */
  readonly #inbox: Uint8Array[] = [];
  #inboxBytes = 0;
  /** The peer sent its FIN (closeWrite or close). */
  #eof = false;
  /** This end sent its FIN. */
  #writeShut = false;
  #isClosed = false;
  /** The waiting read (one at a time); a delivery to it is queued when `#delivering`. */
  #reader: ReadNext | null = null;
  #delivering = false;
  readonly #blocked: Blocked[] = [];
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;
  #isFullyClosed = false;

  constructor(readonly local: SocketAddress, readonly remote: SocketAddress, opts: FakeConnOptions) {
    this.maxChunk = opts.maxChunk ?? Infinity;
    this.coalesce = opts.coalesce ?? false;
    this.#highWaterMark = opts.highWaterMark ?? Infinity;
    this.#reuseBuffer = opts.reuseBuffer ? new Uint8Array(64) : null;
    if (opts.readNext) this.readNext = (next) => this.#read(next);
  }

  // ---- TcpConn ----

  read(): Promise<Uint8Array | null> {
    return new Promise((resolve, reject) => this.#read((r) => r instanceof Error ? reject(r) : resolve(r)));
  }

  write(data: Uint8Array): Promise<void> {
    if (this.#isClosed) return Promise.reject(new Error("connection closed"));
    if (this.#writeShut) return Promise.reject(new Error("write after closeWrite"));
    const peer = this.peer;
    if (peer.#isClosed) return Promise.reject(new Error("connection reset by peer"));
    const copy = data.slice();
    this.written.push(copy);
    for (let off = 0; off < copy.length; off += this.maxChunk) {
      peer.#inbox.push(copy.subarray(off, Math.min(copy.length, off + this.maxChunk)));
    }
    peer.#inboxBytes += copy.length;
    peer.#wake();
    if (peer.#inboxBytes <= peer.#highWaterMark) return WRITTEN;
    return new Promise((resolve, reject) => peer.#blocked.push({ resolve, reject }));
  }

  closeWrite(): Promise<void> {
    if (this.#isClosed || this.#writeShut) return Promise.resolve();
    this.#writeShut = true;
    this.peer.#ended();
    this.#checkFullyClosed();
    return Promise.resolve();
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    // What was not read is gone; writes waiting for this end to read fail, as do this end's own.
    this.#inbox.length = 0;
    this.#inboxBytes = 0;
    this.#failBlocked(new Error("connection reset by peer"));
    this.peer.#failBlocked(new Error("connection closed while writing"));
    if (!this.#writeShut) this.peer.#ended();
    this.#wake();
    this.#fullyClosed();
  }

  get closed(): Promise<void> {
    return this.#closed ??= this.#isFullyClosed
      ? Promise.resolve()
      : new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  // ---- test hooks ----

  /** Everything this end wrote, as one array. */
  writtenBytes(): Uint8Array {
    const out = new Uint8Array(this.written.reduce((n, w) => n + w.length, 0));
    let off = 0;
    for (const w of this.written) {
      out.set(w, off);
      off += w.length;
    }
    return out;
  }

  /** Everything this end wrote, as text. */
  writtenText(): string {
    return decoder.decode(this.writtenBytes());
  }

  /** Writes `data` as separate writes of these sizes (the rest, if any, as one more). */
  writePieces(data: Uint8Array | string, sizes: number[]): Promise<void> {
    const all = typeof data === "string" ? bytes(data) : data;
    const writes: Promise<void>[] = [];
    let off = 0;
    for (const n of sizes) {
      if (off >= all.length) break;
      writes.push(this.write(all.subarray(off, off + n)));
      off += n;
    }
    if (off < all.length) writes.push(this.write(all.subarray(off)));
    return Promise.all(writes).then(() => {});
  }

  /** Reads until the end of stream (or an error), returning all of it (copied as it comes). */
  async readAll(): Promise<Uint8Array> {
    const pieces: Uint8Array[] = [];
    for (;;) {
      let chunk: Uint8Array | null;
      try {
        chunk = await this.read();
      } catch {
        chunk = null;
      }
      if (chunk === null) return joined(pieces);
      pieces.push(chunk.slice());
    }
  }

  /** Reads until the end of stream (or an error), returning all of it as text. */
  async readText(): Promise<string> {
    return decoder.decode(await this.readAll());
  }

  /**
   * Unread bytes this end holds before the peer's writes wait (see
   * FakeConnOptions.highWaterMark). Raising it lets waiting writes go on at once.
   */
  get highWaterMark(): number {
    return this.#highWaterMark;
  }
  set highWaterMark(n: number) {
    this.#highWaterMark = n;
    this.#release();
  }

  /** Bytes the peer wrote that this end has not read. */
  get queued(): number {
    return this.#inboxBytes;
  }

  /** Writes of the peer waiting for this end to read. */
  get blockedWrites(): number {
    return this.#blocked.length;
  }

  /** A read of this end is waiting. */
  get reading(): boolean {
    return this.#reader !== null;
  }

  /** This end sent its FIN (`closeWrite()` or `close()`). */
  get wroteEnd(): boolean {
    return this.#writeShut || this.#isClosed;
  }

  /** This end was closed with `close()`. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  // ---- inside ----

  #read(next: ReadNext): void {
    if (this.#reader !== null) return next(new Error("a read is already pending on this connection"));
    this.#reader = next;
    // At once when there is something to hand out (TcpConn.readNext), else when it comes.
    if (this.#ready()) this.#deliver();
  }

  #ready(): boolean {
    return this.#inbox.length > 0 || this.#eof || this.#isClosed;
  }

  /** Hands what came to a waiting reader, from the microtask queue (never inside the peer's write). */
  #wake(): void {
    if (this.#reader === null || this.#delivering || !this.#ready()) return;
    this.#delivering = true;
    queueMicrotask(() => {
      this.#delivering = false;
      if (this.#reader !== null && this.#ready()) this.#deliver();
    });
  }

  #deliver(): void {
    const next = this.#reader!;
    this.#reader = null;
    if (this.#inbox.length === 0) return next(null); // end of stream, or closed here
    let chunk = this.coalesce && this.#inbox.length > 1 ? joined(this.#inbox.splice(0)) : this.#inbox.shift()!;
    this.#inboxBytes -= chunk.length;
    if (this.#reuseBuffer !== null) chunk = this.#intoReused(chunk);
    this.#release();
    next(chunk);
  }

  /** `chunk` copied into this end's one read buffer, whose earlier contents are scribbled over first. */
  #intoReused(chunk: Uint8Array): Uint8Array {
    if (this.#reuseBuffer!.length < chunk.length) this.#reuseBuffer = new Uint8Array(2 * chunk.length);
    const buf = this.#reuseBuffer!;
    buf.fill(0x23); // '#'
    buf.set(chunk);
    return buf.subarray(0, chunk.length);
  }

  /** The peer's waiting writes go on once what is unread here is down to the high-water mark. */
  #release(): void {
    if (this.#inboxBytes > this.#highWaterMark) return;
    for (const w of this.#blocked.splice(0)) w.resolve();
  }

  #failBlocked(err: Error): void {
    for (const w of this.#blocked.splice(0)) w.reject(err);
  }

  /** The peer's FIN: after what is queued, reads end. */
  #ended(): void {
    this.#eof = true;
    this.#wake();
    this.#checkFullyClosed();
  }

  /** Both directions have ended (a FIN each way): the connection is over for this end too. */
  #checkFullyClosed(): void {
    if (this.#writeShut && this.#eof) this.#fullyClosed();
  }

  #fullyClosed(): void {
    if (this.#isFullyClosed) return;
    this.#isFullyClosed = true;
    this.#resolveClosed?.();
  }
}

function joined(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of pieces) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

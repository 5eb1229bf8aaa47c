/**
 * A Deno connection (plain or TLS) as a TcpConn: read/write loops over reused buffers
 * (DESIGN: readable.pipeTo is 5x slower).
 *
 * Buffer sizes. A waiting read holds its buffer, and Deno fills (so makes resident)
 * every byte of a buffer it is given, so an idle connection costs what its read buffer
 * costs: 20,000 idle sockets on 64 KiB buffers took 1.1 GB. Reads therefore start on a
 * small buffer; a read that fills it moves up to a big one (bulk: 64 KiB reach
 * 26 Gbit/s, 16 KiB only 19), and a read that does not fill the big one (the sender
 * paused) moves back down.
 */
import type { AcceptGate, PipeEnds, ReadNext, SocketAddress, TcpConn } from "./types.ts";
import { toError } from "../errors/mod.ts";
import { directRid, readInto, writeOnce } from "./deno-ops.ts";
import { DenoWrites, LINGER_MS } from "./deno-writes.ts";

/** Holds a typical request or response head; what a waiting connection keeps. */
const SMALL_READ_BYTES = 1024;
/** 256 KiB would add ~15% bulk throughput at 4x the memory of each busy direction. */
const BIG_READ_BYTES = 64 * 1024;
/**
 * Big buffers of relay pipes come from and go back to this pool, so a connection
 * that moves between small and big reads allocates nothing. Bounded: beyond this many
 * spare ones, the garbage collector takes them.
 */
const SPARE_BIG_BUFFERS = 32;
const spareBig: Uint8Array[] = [];

function takeBig(): Uint8Array {
  return spareBig.pop() ?? new Uint8Array(BIG_READ_BYTES);
}

function giveBig(buf: Uint8Array): void {
  if (spareBig.length < SPARE_BIG_BUFFERS) spareBig.push(buf);
}

/** How long accepting rests after it failed (out of descriptors), before it tries again. */
const ACCEPT_BACKOFF_MS = 50;

/**
 * Accepts until the listener is closed, handing each raw Deno.Conn to `onAccept`.
 * EMFILE and friends back off instead of spinning (told to `gate.failed`), and
 * accepting goes on. While `gate` is shut nothing is accepted: new connections wait
 * in the kernel's listen backlog until a slot frees.
 */
export async function acceptEach<C extends Deno.Conn<Deno.NetAddr>>(
  listener: Deno.Listener<C, Deno.NetAddr>,
  onAccept: (conn: C) => void,
  gate?: AcceptGate,
): Promise<void> {
  for (;;) {
    if (gate && !gate.open()) {
      await gate.opened();
      continue;
    }
    let conn;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      gate?.failed(toError(err));
      await new Promise((r) => setTimeout(r, ACCEPT_BACKOFF_MS));
      continue;
    }
    onAccept(conn);
  }
}

export function addrOf(a: { hostname: string; port: number }): SocketAddress {
  return { hostname: a.hostname, port: a.port };
}

export class DenoTcpConn implements TcpConn {
  readonly remote: SocketAddress;
  readonly local: SocketAddress;
  #conn: Deno.Conn<Deno.NetAddr>;
  /** For readInto: the resource id when reads may skip Deno's Conn.read wrapper, else -1. */
  #rid: number;
  /** Allocated at the first read, so a connection that never reads costs nothing. */
  #small: Uint8Array | null = null;
  /** read()'s own big buffer, once a read filled the small one (not pooled: see read()). */
  #big: Uint8Array | null = null;
  /** The buffer the next read() fills. */
  #next: Uint8Array | null = null;
  /** Where the read readNext started delivers; null while none is in flight. */
  #deliver: ReadNext | null = null;
  /** readNext's reactions, made at its first call: one pair per connection, not per read. */
  #arrived: ((n: number | null) => void) | null = null;
  #failed: ((err: unknown) => void) | null = null;
  /** Made at the first write: in order, owned ones unawaited (deno-writes.ts). */
  #writes: DenoWrites | null = null;
  /** close() waits for the rest of a write (see close). */
  #lingering = false;
  #isClosed = false;
  /** Made when first asked for: few callers wait on it, every connection would pay for it. */
  #closed: Promise<void> | null = null;
  #resolveClosed: (() => void) | null = null;

  /** `addrs` overrides what the socket says, for a conn that stands in for another. */
  constructor(conn: Deno.TcpConn | Deno.TlsConn, addrs?: { remote: SocketAddress; local: SocketAddress }) {
    this.#conn = conn;
    this.#rid = directRid(conn);
    // Deno's own address objects ({ transport, hostname, port }), not copies of them.
    this.remote = addrs?.remote ?? conn.remoteAddr;
    this.local = addrs?.local ?? conn.localAddr;
    // A TlsConn has no setNoDelay (its socket is a loopback splice, see tls-deno.ts).
    if ("setNoDelay" in conn) {
      try {
        conn.setNoDelay(true);
      } catch { /* not every platform allows it; latency only */ }
    }
  }

  /** Whether reads and writes go to Deno's ops without Conn's wrappers (deno-ops.ts). */
  get readsDirect(): boolean {
    return this.#rid >= 0;
  }

  /**
   * The chunk is a view into this connection's own buffers (valid until the next
   * read, as TcpConn says), never into a pooled one that another connection could
   * overwrite while a caller still looks at it.
   */
  async read(): Promise<Uint8Array | null> {
    const behind = this.#writesBehind();
    if (behind !== null) await behind;
    const buf = this.#next ??= this.#small ??= new Uint8Array(SMALL_READ_BYTES);
    return this.#chunk(buf, await readInto(this.#conn, this.#rid, buf));
  }

  /**
   * read() to a callback: Deno's read op still makes its promise, but the caller's
   * await (and this method's async frame) is spared, and the HTTP engine runs the
   * common exchange on from the callback as it does on Bun's data events.
   */
  readNext(next: ReadNext): void {
    const buf = this.#next ??= this.#small ??= new Uint8Array(SMALL_READ_BYTES);
    this.#deliver = next;
    readInto(this.#conn, this.#rid, buf).then(
      this.#arrived ??= (n) => this.#handOver(this.#chunk(this.#next!, n)),
      this.#failed ??= (err) => this.#handOver(toError(err)),
    );
  }

  #handOver(result: Uint8Array | null | Error): void {
    // An answer is never seen before the whole request went out (deno-writes.ts).
    const behind = this.#writesBehind();
    if (behind !== null) {
      void behind.then(() => this.#handOver(result));
      return;
    }
    const next = this.#deliver!;
    this.#deliver = null;
    try {
      next(result);
    } catch (err) {
      // A bug in the reader: thrown here it would be an unhandled rejection, which ends
      // a Deno process. It ends this connection instead, as udp handlers do (deno.ts).
      console.error("read handler failed:", err);
      this.close();
    }
  }

  /** What a read of `n` bytes into `buf` yields (0, null: the end), and which buffer the next read fills. */
  #chunk(buf: Uint8Array, n: number | null): Uint8Array | null {
    if (!n) return null;
    if (n < buf.length) {
      this.#next = this.#small;
      return buf.subarray(0, n);
    }
    this.#next = this.#big ??= new Uint8Array(BIG_READ_BYTES);
    return buf;
  }

  /** Straight to Deno's write op where it can (deno-ops.ts), after any owned write's rest. */
  write(data: Uint8Array): Promise<void> {
    return (this.#writes ??= this.#newWrites()).write(data);
  }

  /**
   * `write` of bytes the caller never touches again (a head built for this write):
   * WRITTEN without reading how many bytes the op took, where it settled at once
   * (deno-writes.ts). Where Deno's ops are not reachable, a plain write.
   */
  writeOwned(data: Uint8Array): Promise<void> {
    return (this.#writes ??= this.#newWrites()).own(data);
  }

  /** The rest of a write still going out, which reads, later writes and the close wait for; else null. */
  #writesBehind(): Promise<void> | null {
    return this.#writes?.settle() ?? null;
  }

  #newWrites(): DenoWrites {
    // Nobody awaits the write that failed: closing tells whoever reads next (a peer that
    // reset the connection is no news, so no log line).
    return new DenoWrites(this.#conn, this.#rid, () => this.#closeNow());
  }

  /**
   * Relay's loop, with nothing between Deno's read and write ops: one buffer per
   * direction, small while the sender pauses, a pooled big one while reads fill it.
   */
  pipeTo(to: TcpConn, ends: PipeEnds): void {
    if (!(to instanceof DenoTcpConn)) return ends.ended(new Error("pipeTo needs another Deno connection"));
    void this.#copyTo(to, ends);
  }

  /**
   * The loop behind pipeTo: reads into reused buffers, writes each piece whole, and
   * tells `ends` how it ended itself. Not through `.then()` on its promise: that would
   * keep two closures and a promise more per direction of every idle connection.
   */
  async #copyTo(to: DenoTcpConn, ends: PipeEnds): Promise<void> {
    // What was written to `to` before the relay goes first (an owned head's rest, deno-writes.ts).
    const behind = to.#writesBehind();
    if (behind !== null) await behind;
    const from = this.#conn;
    const rid = this.#rid;
    const dest = to.#conn;
    const small = this.#small ??= new Uint8Array(SMALL_READ_BYTES);
    let buf = small;
    let failed: Error | null = null;
    try {
      for (;;) {
        const n = await readInto(from, rid, buf);
        if (!n) break;
        const data = n === buf.length ? buf : buf.subarray(0, n);
        // The op itself, awaited: cheaper than reading the count of one settled at once.
        let off = await writeOnce(dest, to.#rid, data);
        while (off < n) off += await writeOnce(dest, to.#rid, data.subarray(off));
        ends.bytes(n);
        if (n === buf.length) {
          if (buf === small) buf = takeBig();
        } else if (buf !== small) {
          giveBig(buf);
          buf = small;
        }
      }
      if (buf !== small) {
        giveBig(buf);
        buf = small;
      }
      if (ends.halfClose()) await to.closeWrite();
    } catch (err) {
      failed = toError(err);
    }
    // A failed op on `buf` has settled too, so no one writes into it any more.
    if (buf !== small) giveBig(buf);
    ends.ended(failed);
  }

  async closeWrite(): Promise<void> {
    const behind = this.#writesBehind();
    if (behind !== null) await behind;
    if (!this.#isClosed) await this.#conn.closeWrite();
  }

  get closed(): Promise<void> {
    return this.#closed ??= this.#isClosed
      ? Promise.resolve()
      : new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  /**
   * Closes at once, unless the rest of a write is still going out: then once it has, or
   * after LINGER_MS (the peer not reading), whichever comes first.
   */
  close(): void {
    const behind = this.#writesBehind();
    if (behind === null || this.#isClosed) return this.#closeNow();
    if (this.#lingering) return;
    this.#lingering = true;
    const linger = setTimeout(() => this.#closeNow(), LINGER_MS);
    void behind.then(() => {
      clearTimeout(linger);
      this.#closeNow();
    });
  }

  #closeNow(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    try {
      this.#conn.close();
    } catch { /* already closed by the runtime */ }
    this.#resolveClosed?.();
  }
}

/**
 * The L4 forwarder: copies bytes both ways between two connections until both
 * directions have ended. A FIN in one direction is passed on as a FIN and the other
 * direction keeps flowing (half-close). No bytes either way for `idleMs` (checked a few
 * times per period, see IDLE_TICKS) closes both.
 *
 * Each direction goes through the runtime's own pipe when both connections offer the
 * same one (`TcpConn.pipeTo`: on Bun the socket handlers write straight to the other
 * socket; on Deno a loop over reused buffers), else through a read/await-write loop.
 * Both keep backpressure: a slow reader stops its writer from reading.
 *
 * Per chunk the relay only adds to counters. What a relay keeps while its connection
 * sits idle matters as much (10,000 idle connections): no timer of its own (relays
 * with the same idle timeout share one, see IdleWatch) and no async frame of its own.
 */
import type { PipeEnds, TcpConn } from "../runtime/types.ts";
import { type Member, Members } from "./members.ts";
import { toError } from "../errors/mod.ts";

export interface RelayResult {
  /** Bytes from client to upstream, and back. */
  upstreamBytes: number;
  downstreamBytes: number;
  /** Why the relay ended: "done" (both sides finished), "idle", or an error's text. */
  reason: string;
}

export interface RelayCounters {
  /** Called per chunk with its size, so totals stay live for long connections. */
  upstream(n: number): void;
  downstream(n: number): void;
}

/** Told once, when the relay is over (both connections closed). */
export interface RelayDone {
  relayEnded(result: RelayResult): void;
}

/** Relays until both directions have ended; resolves with what passed and why it ended. */
export function relay(
  client: TcpConn,
  upstream: TcpConn,
  idleMs: number,
  counters: RelayCounters,
): Promise<RelayResult> {
  return new Promise((resolve) => startRelay(client, upstream, idleMs, counters, { relayEnded: resolve }));
}

/**
 * relay() without a promise: `done` hears of the end. For a caller that keeps each
 * connection in an object of its own (the L4 listener), which then serves as `counters`
 * and `done` at once, so that an idle connection holds no promise or closure for it.
 */
export function startRelay(
  client: TcpConn,
  upstream: TcpConn,
  idleMs: number,
  counters: RelayCounters,
  done: RelayDone,
): void {
  new Relay(client, upstream, IdleWatch.for(idleMs), counters, done).start();
}

class Relay implements Member {
  /** Where the idle watch keeps it. */
  slot = -1;
  readonly result: RelayResult = { upstreamBytes: 0, downstreamBytes: 0, reason: "done" };
  /** Bumped per chunk either way; the idle watch compares it from tick to tick. */
  activity = 0;
  /** What the last tick saw; -1 so that the first tick counts the start as activity. */
  seenActivity = -1;
  quietTicks = 0;
  /** Directions still copying. */
  copying = 2;
  #finished = false;

  readonly #client: TcpConn;
  readonly #upstream: TcpConn;
  readonly #idle: IdleWatch;
  readonly #done: RelayDone;
  constructor(
    client: TcpConn,
    upstream: TcpConn,
    idle: IdleWatch,
    readonly counters: RelayCounters,
    done: RelayDone,
  ) {
    this.#client = client;
    this.#upstream = upstream;
    this.#idle = idle;
    this.#done = done;
  }

  start(): void {
    this.#idle.add(this);
    copy(this.#client, this.#upstream, new Direction(this, "upstream"));
    copy(this.#upstream, this.#client, new Direction(this, "downstream"));
  }

  /** Closes both connections once; the first reason given is the relay's. */
  closeBoth(reason: string): void {
    if (this.#finished) return;
    this.#finished = true;
    this.result.reason = reason;
    this.#client.close();
    this.#upstream.close();
  }

  // Either direction failing ends the whole connection at once; the relay is over when
  // both directions have ended (the other one ends on the connection we closed).
  directionEnded(err: Error | null): void {
    if (err) this.closeBoth(err.message);
    if (--this.copying > 0) return;
    this.closeBoth("done");
    this.#idle.delete(this);
    this.#done.relayEnded(this.result);
  }
}

/** One direction of a relay: counts its bytes and tells the relay when it ends. */
class Direction implements PipeEnds {
  readonly #relay: Relay;
  /** Bytes go client to upstream (counted as upstream bytes), else back. */
  readonly #up: boolean;

  constructor(relay: Relay, way: "upstream" | "downstream") {
    this.#relay = relay;
    this.#up = way === "upstream";
  }

  bytes(n: number): void {
    const relay = this.#relay;
    relay.activity++;
    if (this.#up) {
      relay.result.upstreamBytes += n;
      relay.counters.upstream(n);
    } else {
      relay.result.downstreamBytes += n;
      relay.counters.downstream(n);
    }
  }

  // The direction that ends second needs no FIN of its own: both connections close now.
  halfClose(): boolean {
    return this.#relay.copying === 2;
  }

  ended(err: Error | null): void {
    this.#relay.directionEnded(err);
  }
}

/** One direction: the runtime's pipe when both ends share one, else a read/write loop. */
function copy(from: TcpConn, to: TcpConn, ends: PipeEnds): void {
  if (from.pipeTo !== undefined && from.pipeTo === to.pipeTo) return from.pipeTo(to, ends);
  pump(from, to, ends).then(
    () => ends.ended(null),
    (err) => ends.ended(toError(err)),
  );
}

async function pump(from: TcpConn, to: TcpConn, ends: PipeEnds): Promise<void> {
  for (;;) {
    const chunk = await from.read();
    if (chunk === null) break;
    await to.write(chunk);
    ends.bytes(chunk.length);
  }
  if (ends.halfClose()) await to.closeWrite();
}

/**
 * The watch looks this many times per idle period: a relay closes after at least
 * `idleMs` and less than `idleMs * (1 + 1 / IDLE_TICKS)` without a byte.
 */
const IDLE_TICKS = 4;

/**
 * One interval for all relays with the same idle timeout (in practice one per
 * config), instead of a timer per connection; it stops when no relay is left.
 */
class IdleWatch {
  static readonly #byTimeout = new Map<number, IdleWatch>();

  static for(idleMs: number): IdleWatch {
    let w = IdleWatch.#byTimeout.get(idleMs);
    if (!w) IdleWatch.#byTimeout.set(idleMs, w = new IdleWatch(idleMs));
    return w;
  }

  readonly #relays = new Members<Relay>();
  #timer: ReturnType<typeof setInterval> | null = null;

  readonly #idleMs: number;

  // `private`, not `#`: JavaScript has no private constructors. One watch per idle time, through `for`.
  private constructor(idleMs: number) {
    this.#idleMs = idleMs;
  }

  add(r: Relay): void {
    this.#relays.add(r);
    this.#timer ??= setInterval(() => this.#tick(), this.#idleMs / IDLE_TICKS);
  }

  delete(r: Relay): void {
    this.#relays.delete(r);
    if (this.#relays.size > 0 || this.#timer === null) return;
    clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    for (const r of this.#relays.list()) {
      if (r.activity !== r.seenActivity) {
        r.seenActivity = r.activity;
        r.quietTicks = 0;
      } else if (++r.quietTicks >= IDLE_TICKS) {
        r.closeBoth("idle");
      }
    }
  }
}

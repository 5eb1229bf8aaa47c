/**
 * Idle upstream connections kept for reuse (HTTP keep-alive), per target.
 *
 * An idle connection must be watched: the server may close it at any time, and
 * handing out a dead one costs a failed request. So each idle connection has one
 * read in flight (ReplayConn.watch). If it ends while idle (FIN, error, or stray bytes, which
 * no server may send unasked), the connection is dropped. When a connection is
 * taken, that read is still in flight and cannot be cancelled, so the connection
 * is handed out as the ReplayConn that holds it, whose next read gets that read's
 * result: no bytes are lost and no two reads race on the socket.
 *
 * A close that has happened but whose read has not been seen yet can still slip
 * through; the engine retries idempotent requests on a reused connection for that.
 */
import type { TcpConn } from "../runtime/types.ts";
import { asReplay, type IdleWatcher, type ReplayConn } from "../forward/replay-conn.ts";

/**
 * A connection idle in the pool, which watches it (no closure). Made once per
 * connection and pool: put again, a connection takes up its entry of the last time
 * (see put), for it comes back after every request.
 */
class IdleEntry implements IdleWatcher {
  /** Handed out: its watch ending later is its user's read, not a close while idle. */
  taken = false;

  constructor(
    readonly pool: UpstreamPool,
    readonly key: string,
    readonly conn: ReplayConn,
    /** The sweep count when it went idle (a clock read per request costs more). */
    public since: number,
  ) {}

  /** Anything arriving while idle means the connection is over (or broken). */
  idleEnded(): void {
    if (!this.taken) this.pool.dropIdle(this);
  }
}

/**
 * Idle connections are expired by one sweep per pool rather than a timer each:
 * keep-alive puts and takes a connection per request, and a timer per request is a
 * measurable share of the L7 hot path.
 */
const SWEEP_EVERY_MS = 1000;

export class UpstreamPool {
  readonly #maxIdlePerKey: number;
  readonly #idleMs: number;
  /**
   * Per key, oldest first; take() uses the newest (warmest) one. A key's list stays
   * when it runs empty (there is one key per target): taking the last idle connection
   * is common under load, and a Map entry deleted and made again per request keeps
   * garbage alive on JavaScriptCore (see Members).
   */
  readonly #idle = new Map<string, IdleEntry[]>();
  /** Connections idle now, over all keys. */
  #count = 0;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  readonly #sweepMs: number;
  /** Sweeps made so far: the pool's clock. */
  #sweeps = 0;

  constructor(opts: { maxIdlePerKey: number; idleMs: number }) {
    this.#maxIdlePerKey = opts.maxIdlePerKey;
    this.#idleMs = opts.idleMs;
    this.#sweepMs = Math.min(SWEEP_EVERY_MS, opts.idleMs);
  }

  /** An idle connection to `key`, or null. The caller owns it from here. */
  take(key: string): TcpConn | null {
    const list = this.#idle.get(key);
    const entry = list?.pop();
    if (!entry) return null;
    this.#count--;
    entry.taken = true;
    return entry.conn;
  }

  /** Keeps a connection whose last exchange ended cleanly; closes it when over the bound. */
  put(key: string, conn: TcpConn): void {
    if (this.#maxIdlePerKey <= 0) {
      conn.close();
      return;
    }
    const pooled = asReplay(conn);
    let list = this.#idle.get(key);
    if (!list) this.#idle.set(key, list = []);
    if (list.length >= this.#maxIdlePerKey) this.#drop(key, list[0]);
    // Its entry of the last time, if it was here under this key: that entry was taken
    // (a connection is put only after its user read the answer, so no watch of that
    // time can still end), and it is in no list.
    const last = pooled.watcher;
    let entry: IdleEntry;
    if (last instanceof IdleEntry && last.pool === this && last.key === key && last.taken) {
      entry = last;
      entry.taken = false;
      entry.since = this.#sweeps;
    } else entry = new IdleEntry(this, key, pooled, this.#sweeps);
    list.push(entry);
    this.#count++;
    if (this.#sweeper === null) this.#startSweeping();
    pooled.watch(entry);
  }

  /** `entry`'s connection ended while idle (see IdleEntry). */
  dropIdle(entry: IdleEntry): void {
    this.#drop(entry.key, entry);
  }

  /** Closes every idle connection (at shutdown). */
  closeAll(): void {
    for (const [key, list] of this.#idle) {
      for (const entry of [...list]) this.#drop(key, entry);
    }
    this.#stopSweeping();
  }

  /** Number of idle connections for `key` (for tests and status). */
  idleCount(key: string): number {
    return this.#idle.get(key)?.length ?? 0;
  }

  /**
   * Closes connections idle for longer than the idle timeout (the oldest come first):
   * at most one sweep interval late.
   */
  #sweep(): void {
    this.#sweeps++;
    // Put between sweeps `since` and `since + 1`: idle for the whole timeout once
    // that many more intervals have passed.
    const cutoff = this.#sweeps - Math.ceil(this.#idleMs / this.#sweepMs) - 1;
    for (const [key, list] of this.#idle) {
      while (list.length > 0 && list[0].since <= cutoff) this.#drop(key, list[0]);
    }
    if (this.#count === 0) this.#stopSweeping();
  }

  /** Apart from put: a closure there, even one not made, costs JavaScriptCore a scope object per call. */
  #startSweeping(): void {
    this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
  }

  #stopSweeping(): void {
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  /** Closes `entry` if it is still idle here; a taken one belongs to its user. */
  #drop(key: string, entry: IdleEntry): void {
    const list = this.#idle.get(key);
    if (!list) return;
    // A closed connection is usually the newest or the oldest: search from the end.
    const i = list.lastIndexOf(entry);
    if (i < 0) return;
    list.splice(i, 1);
    this.#count--;
    entry.conn.close();
  }
}

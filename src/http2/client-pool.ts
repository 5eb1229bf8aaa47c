/**
 * HTTP/2 connections to one target, shared by every request vane sends it: a request
 * goes on a connection with room (fewer streams than the target's
 * SETTINGS_MAX_CONCURRENT_STREAMS); when all are full a new one opens, up to
 * `maxConnections`; beyond that a request waits for room, within a bound, then fails.
 * A new connection carries one stream until the target's SETTINGS say how many it
 * takes, so a limit below DEFAULT_MAX_STREAMS is never overrun. Connections that die
 * or go away (GOAWAY) take no more streams; those idle for `idleMs` close.
 */
import type { TcpConn } from "../runtime/types.ts";
import { type Clock, SYSTEM_CLOCK, type TimerHandle } from "../runtime/clock.ts";
import { type Failure, failure } from "../errors/mod.ts";
import type { HeaderField } from "./hpack.ts";
import { H2ClientConnection, type H2ClientOptions } from "./client.ts";
import type { H2ClientStream } from "./client-stream.ts";

/** Connections a pool opens to its target at most. */
export const DEFAULT_MAX_CONNECTIONS = 4;
/** A connection with no stream this long closes. */
export const DEFAULT_IDLE_MS = 60_000;
/** How long acquire() waits for room before it fails. */
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 10_000;

export interface H2ClientPoolOptions {
  /** @default DEFAULT_MAX_CONNECTIONS */
  maxConnections?: number;
  /** @default DEFAULT_IDLE_MS */
  idleMs?: number;
  /** @default DEFAULT_ACQUIRE_TIMEOUT_MS */
  acquireTimeoutMs?: number;
  /** Windows and limits of each connection (client.ts). */
  connection?: Omit<H2ClientOptions, "idleMs" | "clock">;
  clock?: Clock;
}

/** What makes a connection to the target: a TcpConn, or why there is none. */
export type Connector = () => Promise<TcpConn | Failure>;

export class H2ClientPool {
  readonly #connect: Connector;
  readonly #max: number;
  readonly #idleMs: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #connOptions: H2ClientOptions;
  /** Every connection not closed yet, going away or not, oldest first. */
  #conns: H2ClientConnection[] = [];
  #connecting = 0;
  #failures = 0;
  #lastFailure: Failure | null = null;
  #waiters: Array<() => void> = [];
  #closed = false;

  constructor(connect: Connector, options: H2ClientPoolOptions = {}) {
    this.#connect = connect;
    this.#max = Math.max(1, options.maxConnections ?? DEFAULT_MAX_CONNECTIONS);
    this.#idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.#timeoutMs = options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#connOptions = { ...options.connection, idleMs: this.#idleMs, clock: this.#clock };
  }

  /** The connections open now (those going away included, until they close). */
  get connections(): readonly H2ClientConnection[] {
    return this.#conns;
  }

  /**
   * A connection with room for one stream, held for the caller until its request()
   * (which must come in the same turn of the event loop); or why there is none: the
   * target cannot be reached, or every connection stayed full for acquireTimeoutMs.
   */
  async acquire(): Promise<H2ClientConnection | Failure> {
    const deadline = this.#clock.now() + this.#timeoutMs;
    const failuresBefore = this.#failures;
    for (;;) {
      if (this.#closed) return failure("the pool is closed");
      const conn = this.#pick();
      if (conn !== null) {
        conn.reserve();
        return conn;
      }
      if (this.#failures > failuresBefore && this.#usable() === 0 && this.#connecting === 0) {
        return this.#lastFailure!;
      }
      if (this.#mayOpen()) {
        const opened = await this.#open();
        if (!opened.ok) return opened;
        continue;
      }
      const left = deadline - this.#clock.now();
      if (left <= 0) {
        return failure(`no room for a stream on ${this.#usable()} HTTP/2 connections within ${this.#timeoutMs} ms`);
      }
      await this.#change(left);
    }
  }

  /** acquire() and request() in one: a stream of the request, or why none could open. */
  async request(fields: HeaderField[], endStream: boolean): Promise<H2ClientStream | Failure> {
    const conn = await this.acquire();
    if (!(conn instanceof H2ClientConnection)) return conn;
    return conn.request(fields, endStream);
  }

  /** Closes every connection (open streams fail); acquire() fails from now on. */
  close(): void {
    this.#closed = true;
    for (const c of this.#conns) c.close("the pool was closed");
    this.#conns = [];
    this.#notify();
  }

  /** Connections that take new streams (not going away). */
  #usable(): number {
    return this.#conns.filter((c) => !c.goingAway && !c.isClosed).length;
  }

  /** The oldest connection with room; one whose SETTINGS are not known yet takes a single stream. */
  #pick(): H2ClientConnection | null {
    for (const c of this.#conns) {
      if (!c.available) continue;
      if (c.settingsKnown || c.openStreams + c.reserved === 0) return c;
    }
    return null;
  }

  /** Whether a new connection may open: none is opening, every one's limit is known (and full), room under the max. */
  #mayOpen(): boolean {
    if (this.#connecting > 0) return false;
    const live = this.#conns.filter((c) => !c.goingAway && !c.isClosed);
    return live.every((c) => c.settingsKnown) && live.length < this.#max;
  }

  async #open(): Promise<{ ok: true } | Failure> {
    this.#connecting++;
    let got: TcpConn | Failure;
    try {
      got = await this.#connect();
    } catch (err) {
      got = failure(`cannot connect: ${String(err)}`);
    } finally {
      this.#connecting--;
    }
    if ("ok" in got) {
      this.#failures++;
      this.#lastFailure = got;
      this.#notify();
      return got;
    }
    if (this.#closed) {
      got.close();
      return failure("the pool is closed");
    }
    const conn = H2ClientConnection.start(got, this.#connOptions);
    conn.onChange = () => this.#notify();
    this.#conns.push(conn);
    void conn.closed.then(() => {
      this.#conns = this.#conns.filter((c) => c !== conn);
      this.#notify();
    });
    this.#notify();
    return { ok: true };
  }

  /** Resolves when room may have changed, or after `ms`. */
  #change(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: TimerHandle | null = null;
      const wake = (): void => {
        if (timer !== null) this.#clock.clearTimeout(timer);
        timer = null;
        resolve();
      };
      timer = this.#clock.setTimeout(() => {
        timer = null;
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.#waiters.push(wake);
    });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

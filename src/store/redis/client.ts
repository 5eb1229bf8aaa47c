/**
 * A small Redis client over the runtime's TCP (runtime/types.ts `connectTcp`), for the
 * few commands vane's shared counters need. What it does, and why it is enough:
 * - Pipelining: commands issued in one turn of the event loop go out in one write,
 *   and replies are matched to them in order (Redis answers in order on a connection).
 * - A bounded wait: a command with no reply within `commandTimeoutMs` fails, and so
 *   does the connection (every reply behind it is late too); nothing waits on Redis
 *   longer than that.
 * - Reconnects with backoff: after a failure, commands fail at once (the caller
 *   judges without Redis) while a new connection is tried after 100 ms, doubling to
 *   2 s; `onState` says when Redis went away and when it came back, once each.
 * - `redis://user:pass@host:port/db`: AUTH (with a user: Redis 6 ACLs) and SELECT on
 *   every new connection, before any command of the caller's goes out.
 * ioredis would do all this, but it is built on node:net (slower on both runtimes,
 * see DESIGN.md) and is one more dependency for ~200 lines.
 */
import type { Clock, TimerHandle } from "../../runtime/clock.ts";
import { SYSTEM_CLOCK } from "../../runtime/clock.ts";
import type { SocketAddress, TcpConn } from "../../runtime/types.ts";
import type { RedisUrl } from "../../config/redis-url.ts";
import { errorText } from "../../errors/mod.ts";
import { encodeCommand, RedisErrorReply, RedisPush, type RedisReply, RespParser } from "./resp.ts";

export type Connector = (addr: SocketAddress, timeoutMs: number) => Promise<TcpConn>;

export interface RedisClientOptions {
  /** How long a command may wait for its reply. @default 250 */
  commandTimeoutMs?: number;
  /** How long a connect (TCP, AUTH, SELECT) may take. @default 1000 */
  connectTimeoutMs?: number;
  /** The first wait before reconnecting; it doubles after each failure. @default 100 */
  retryMinMs?: number;
  /** The longest wait between reconnects. @default 2000 */
  retryMaxMs?: number;
  /** @default SYSTEM_CLOCK */
  clock?: Clock;
  /** Redis became usable (`up`) or stopped being so (with why): called on changes only. */
  onState?: (up: boolean, reason: string) => void;
}

interface Pending {
  readonly resolve: (reply: RedisReply) => void;
  readonly reject: (err: Error) => void;
  timer: TimerHandle;
}

type State = "idle" | "connecting" | "up" | "down" | "closed";

export class RedisClient {
  readonly #connect: Connector;
  readonly #url: RedisUrl;
  readonly #clock: Clock;
  readonly #opts: Required<Omit<RedisClientOptions, "clock" | "onState">>;
  readonly #onState: (up: boolean, reason: string) => void;
  #state: State = "idle";
  #conn: TcpConn | null = null;
  /** Sent, waiting for their replies, oldest first. */
  #sent: Pending[] = [];
  /** Issued while the first connection is being made: sent once it is ready. */
  #queued: Array<{ bytes: Uint8Array; pending: Pending }> = [];
  #out: Uint8Array[] = [];
  #flushing = false;
  #retryMs: number;
  #retryTimer: TimerHandle | null = null;
  /** What was last said through onState (null: nothing yet). */
  #said: boolean | null = null;
  #reason = "not connected yet";

  constructor(connect: Connector, url: RedisUrl, options: RedisClientOptions = {}) {
    this.#connect = connect;
    this.#url = url;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#onState = options.onState ?? (() => {});
    this.#opts = {
      commandTimeoutMs: options.commandTimeoutMs ?? 250,
      connectTimeoutMs: options.connectTimeoutMs ?? 1000,
      retryMinMs: options.retryMinMs ?? 100,
      retryMaxMs: options.retryMaxMs ?? 2000,
    };
    this.#retryMs = this.#opts.retryMinMs;
  }

  /** Whether commands go out now (false while down, reconnecting after a failure, or closed). */
  get up(): boolean {
    return this.#state === "up";
  }

  /**
   * Whether a command may be worth sending: up, or making the first connection. False
   * from a failure until a reconnect succeeds (commands fail at once meanwhile).
   */
  get available(): boolean {
    return this.#state !== "closed" && this.#said !== false;
  }

  /** Connects, if not connected or connecting already. */
  start(): void {
    if (this.#state === "idle") void this.#open();
  }

  /**
   * Sends one command (pipelined with the others of this turn): resolves with its reply,
   * an error reply included (a RedisErrorReply value). Rejects at once while Redis is
   * known to be down, and when no reply comes within the command timeout.
   */
  command(args: ReadonlyArray<string | number>): Promise<RedisReply> {
    if (this.#state === "idle") this.start();
    if (this.#state === "closed") return Promise.reject(new Error("redis client closed"));
    if (this.#state !== "up" && this.#said === false) {
      return Promise.reject(new Error(`redis unavailable: ${this.#reason}`));
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: null };
      pending.timer = this.#clock.setTimeout(
        () => this.#lose(`no answer within ${this.#opts.commandTimeoutMs} ms`),
        this.#opts.commandTimeoutMs,
      );
      const bytes = encodeCommand(args);
      if (this.#state === "up") this.#write(bytes, pending);
      else this.#queued.push({ bytes, pending });
    });
  }

  /** Closes the connection and stops reconnecting; waiting commands fail. */
  close(): void {
    if (this.#state === "closed") return;
    this.#drop("redis client closed");
    this.#state = "closed";
    if (this.#retryTimer !== null) this.#clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  #write(bytes: Uint8Array, pending: Pending): void {
    this.#sent.push(pending);
    this.#out.push(bytes);
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => this.#flush());
  }

  /** This turn's commands in one write. */
  #flush(): void {
    this.#flushing = false;
    const conn = this.#conn;
    const parts = this.#out;
    this.#out = [];
    if (conn === null || parts.length === 0) return;
    let bytes = parts[0];
    if (parts.length > 1) {
      bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
    }
    conn.write(bytes).catch((err) => {
      if (this.#conn === conn) this.#lose(errorText(err));
    });
  }

  async #open(): Promise<void> {
    this.#state = "connecting";
    const { host, port } = this.#url;
    let conn: TcpConn;
    try {
      conn = await this.#connect({ hostname: host, port }, this.#opts.connectTimeoutMs);
    } catch (err) {
      this.#lose(`connect to ${host}:${port}: ${errorText(err)}`);
      return;
    }
    if (this.#state !== "connecting") return conn.close();
    this.#conn = conn;
    void this.#read(conn);
    try {
      for (const args of this.#handshake()) {
        const reply = await this.#handshakeCommand(args);
        if (reply instanceof RedisErrorReply) throw new Error(`${args[0]}: ${reply.message}`);
      }
    } catch (err) {
      if (this.#conn === conn) this.#lose(errorText(err));
      return;
    }
    if (this.#conn !== conn) return;
    this.#state = "up";
    this.#retryMs = this.#opts.retryMinMs;
    const queued = this.#queued;
    this.#queued = [];
    for (const q of queued) this.#write(q.bytes, q.pending);
    if (this.#said !== true) {
      this.#said = true;
      this.#onState(true, "");
    }
  }

  #handshake(): Array<Array<string | number>> {
    const { username, password, db } = this.#url;
    const out: Array<Array<string | number>> = [];
    if (password !== null) out.push(username === null ? ["AUTH", password] : ["AUTH", username, password]);
    if (db !== 0) out.push(["SELECT", db]);
    // Proves the peer speaks RESP before the connection counts as up.
    out.push(["PING"]);
    return out;
  }

  /** A handshake command: sent before the queued ones, timed by the connect timeout. */
  #handshakeCommand(args: Array<string | number>): Promise<RedisReply> {
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, timer: null };
      pending.timer = this.#clock.setTimeout(
        () => this.#lose(`no answer to ${args[0]} within ${this.#opts.connectTimeoutMs} ms`),
        this.#opts.connectTimeoutMs,
      );
      this.#write(encodeCommand(args), pending);
    });
  }

  async #read(conn: TcpConn): Promise<void> {
    const parser = new RespParser();
    for (;;) {
      let chunk: Uint8Array | null;
      let replies: Array<RedisReply | RedisPush>;
      try {
        chunk = await conn.read();
        if (chunk === null) throw new Error("connection closed by redis");
        replies = parser.push(chunk);
      } catch (err) {
        if (this.#conn === conn) this.#lose(errorText(err));
        return;
      }
      if (this.#conn !== conn) return;
      for (const reply of replies) {
        if (reply instanceof RedisPush) continue;
        const pending = this.#sent.shift();
        if (pending === undefined) return this.#lose("a reply nobody asked for");
        this.#clock.clearTimeout(pending.timer);
        pending.resolve(reply);
      }
    }
  }

  /** The connection failed: waiting commands fail, Redis counts as down, and a reconnect is due. */
  #lose(reason: string): void {
    if (this.#state === "closed") return;
    this.#drop(`redis unavailable: ${reason}`);
    this.#reason = reason;
    this.#state = "down";
    if (this.#said !== false) {
      this.#said = false;
      this.#onState(false, reason);
    }
    if (this.#retryTimer !== null) return;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = null;
      if (this.#state === "down") void this.#open();
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#opts.retryMaxMs, this.#retryMs * 2);
  }

  #drop(why: string): void {
    const conn = this.#conn;
    this.#conn = null;
    conn?.close();
    const waiting = [...this.#sent, ...this.#queued.map((q) => q.pending)];
    this.#sent = [];
    this.#queued = [];
    this.#out = [];
    const err = new Error(why);
    for (const p of waiting) {
      this.#clock.clearTimeout(p.timer);
      p.reject(err);
    }
  }
}

/**
 * HTTP/2 connections to the targets of pools that speak h2c (`protocol: h2c`), shared
 * by every client stream of this process: per target, an H2ClientPool of multiplexed
 * connections, each carrying as many streams as the target's SETTINGS allow. The
 * pool's strategy still picks a target per request; health hears of connects that
 * fail, as for HTTP/1.1 (forward/connect.ts), and outlier detection of each stream's answer.
 */
import type { Runtime, SocketAddress, TcpConn, TlsClientConn } from "../runtime/types.ts";
import { dialTarget } from "../forward/connect.ts";
import type { Pool } from "../balance/pool.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import { errorText, type Failure } from "../errors/mod.ts";
import { H2ClientPool } from "./client-pool.ts";
import type { H2ClientStream, H2Response } from "./client-stream.ts";
import type { HeaderField } from "./hpack.ts";

const H2_ALPN = ["h2"];

/**
 * Why no stream was opened: no target alive (`none`), the pool's maxconn queue refused
 * it (`queue`), or the picked target's connection could not be had (`connect`: nothing
 * was sent, so another target may take the request).
 */
export type OpenFailure = Failure & {
  readonly kind: "none" | "queue" | "connect";
  /** The target whose connection could not be had (`connect`). */
  readonly target?: TargetHealth;
};

/** A pool's TLS settings as text, made once per settings object (not per request). */
const tlsKeys = new WeakMap<object, string>();
function tlsKey(tls: object | null): string {
  if (tls === null) return "null";
  let key = tlsKeys.get(tls);
  if (key === undefined) tlsKeys.set(tls, key = JSON.stringify(tls));
  return key;
}

interface LastPool {
  hostname: string;
  port: number;
  protocol: string | undefined;
  tls: object | null;
  targets: H2ClientPool;
}

export class H2Upstreams {
  readonly #rt: Runtime;
  readonly #registry: HealthRegistry;
  readonly #connectMs: () => number;
  /** Per target (health entry and address): its multiplexed connections. */
  readonly #pools = new Map<string, H2ClientPool>();
  /** Per target, the connections its last request went to, and for what. */
  #last = new WeakMap<TargetHealth, LastPool>();

  constructor(rt: Runtime, registry: HealthRegistry, connectMs: () => number) {
    this.#rt = rt;
    this.#registry = registry;
    this.#connectMs = connectMs;
  }

  /**
   * A stream on a connection to a target `pool` picks (not one of `exclude`), or why
   * none. `picked` hears of the target once picked (a retry then avoids it).
   */
  async request(
    pool: Pool,
    fields: HeaderField[],
    endStream: boolean,
    exclude?: ReadonlySet<TargetHealth>,
    picked?: (entry: TargetHealth) => void,
  ): Promise<H2ClientStream | OpenFailure> {
    // A slot on the target (Pool.take), held until the stream is over; with maxconn this may wait in the queue.
    const took = pool.take(exclude);
    const taken = took instanceof Promise ? await took : took;
    if (taken === null) return { ok: false, kind: "none", reason: "no target is alive in the pool or its fallback" };
    if ("queue" in taken) return { ok: false, kind: "queue", reason: `pool queue: ${taken.reason}` };
    const pick = taken;
    const { entry } = pick;
    picked?.(entry);
    const addr = { hostname: pick.addresses[0], port: entry.spec.port };
    const targets = this.#targetPool(pool, entry, addr);
    let stream: H2ClientStream | Failure;
    try {
      stream = await targets.request(fields, endStream);
    } catch (err) {
      pool.give(entry);
      throw err;
    }
    if ("reason" in stream) {
      pool.give(entry);
      this.#registry.passiveFailure(entry, stream.reason, "connect");
      return { ok: false, kind: "connect", reason: stream.reason, target: entry };
    }
    stream.target = entry;
    void stream.over.then(() => pool.give(entry));
    const opened = stream;
    void stream.response.then((head) => this.#answered(entry, head, opened));
    return stream;
  }

  /**
   * The connections to `addr` for `pool`'s target `entry`. They are shared across reloads
   * while the pool speaks to the target alike; new TLS settings (or protocol) mean new
   * connections. The last answer per target is kept, so a request usually builds no key.
   */
  #targetPool(pool: Pool, entry: TargetHealth, addr: SocketAddress): H2ClientPool {
    const protocol = pool.config.protocol;
    const last = this.#last.get(entry);
    if (
      last !== undefined && last.hostname === addr.hostname && last.port === addr.port &&
      last.protocol === protocol && last.tls === pool.tls
    ) return last.targets;
    const key = `${entry.id}|${addr.hostname}|${addr.port}|${protocol}|${tlsKey(pool.tls)}`;
    let targets = this.#pools.get(key);
    if (targets === undefined) {
      targets = new H2ClientPool(() => this.#dial(pool, entry, addr));
      this.#pools.set(key, targets);
    }
    this.#last.set(entry, { hostname: addr.hostname, port: addr.port, protocol, tls: pool.tls, targets });
    return targets;
  }

  /**
   * The target's requests and 5xx, counted as an HTTP/1.1 target's are (the dashboard's
   * req/s and 5xx %; a reset before a head is the 502 the client gets), and for outlier
   * detection the stream's status, or its reset (a timeout when vane gave up waiting).
   * Passive health hears of resets and timeouts as for an HTTP/1.1 target.
   */
  #answered(entry: TargetHealth, head: H2Response, stream: H2ClientStream): void {
    if (head.ok) {
      entry.requests++;
      if (head.status >= 500) entry.errors++;
      if (entry.outlier !== null || entry.passiveFailures > 0) this.#registry.answered(entry, head.status);
      return;
    }
    const timedOut = stream.timedOut;
    // Nobody's failure: vane reset the stream because its client left, or the target
    // never acted on it (REFUSED_STREAM, or above its GOAWAY's last stream: §8.7), which
    // goes again as a keep-alive race does over HTTP/1.1.
    if (timedOut === null && (stream.resetHere || head.retryable)) return;
    entry.requests++;
    entry.errors++;
    this.#registry.passiveFailure(entry, timedOut ?? head.reason, timedOut === null ? "reset" : "timeout");
  }

  /** A connection for one target's pool of HTTP/2 connections: TLS with ALPN h2 for `protocol: h2`. */
  async #dial(pool: Pool, entry: TargetHealth, addr: SocketAddress): Promise<TcpConn | Failure> {
    const overTls = pool.config.protocol === "h2";
    let conn: TcpConn;
    try {
      conn = await dialTarget(
        this.#rt,
        pool,
        { spec: entry.spec, addr },
        this.#connectMs(),
        overTls ? H2_ALPN : undefined,
      );
    } catch (err) {
      return { ok: false, reason: `${entry.key}: ${errorText(err)}` };
    }
    const alpn = (conn as Partial<TlsClientConn>).alpn ?? null;
    if (overTls && alpn !== "h2") {
      conn.close();
      return { ok: false, reason: `${entry.key}: the target did not choose HTTP/2 by ALPN (${alpn ?? "no protocol"})` };
    }
    return conn;
  }

  /** Closes every connection (vane stops). */
  closeAll(): void {
    for (const p of this.#pools.values()) p.close();
    this.#pools.clear();
    this.#last = new WeakMap();
  }
}

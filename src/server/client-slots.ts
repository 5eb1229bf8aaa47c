/**
 * The global connection limit (`max-conns`, HAProxy's `maxconn`): how many client
 * connections one process serves at once, so that it refuses politely instead of
 * running out of file descriptors. Out of descriptors, nothing works: accept fails
 * (Bun spins on it), connects to healthy targets fail, and the status endpoint cannot
 * take its own connections. So the default keeps the process inside its limit:
 *
 *   max-conns = floor((limit - reserve) / 2)      reserve = clamp(limit / 10, 64, 1024)
 *
 * Each proxied connection holds two descriptors (the client's and the target's); the
 * reserve is for everything else: the runtime's own (epoll, timers, threads), the
 * listeners, the status endpoint and its clients, health checks, DNS, logs, the config
 * watch, workers' pipes, idle keep-alive connections to targets. HAProxy derives its
 * maxconn from `ulimit -n` the same way; nginx leaves it to the operator
 * (`worker_connections`, and it warns when they exceed the limit).
 *
 * At the limit, Deno's listeners stop accepting (connections wait in the kernel's
 * listen backlog, as at HAProxy's maxconn); Bun's accept on their own, so a connection
 * over the limit is closed unread. Either way the line saying so is rate-limited like every
 * line a client can cause (telemetry/log-limit.ts): the first at once, then a count.
 */
import type { AcceptGate } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import { type Member, Members } from "../forward/members.ts";
import { errorTextWithCode } from "../errors/mod.ts";

export const FD_RESERVE_MIN = 64;
export const FD_RESERVE_MAX = 1024;
/** Taken as the limit when there is none (or it cannot be read): Linux's default nr_open. */
export const UNKNOWN_FILE_LIMIT = 1 << 20;
/** Descriptors kept out of max-conns for everything but proxied connections. */
export function fdReserve(limit: number): number {
  return Math.min(FD_RESERVE_MAX, Math.max(FD_RESERVE_MIN, Math.floor(limit / 10)));
}

/** The default max-conns for an open-file limit (null or Infinity: none known). */
export function defaultMaxConns(limit: number | null): number {
  const l = limit === null || !Number.isFinite(limit) ? UNKNOWN_FILE_LIMIT : limit;
  return Math.max(1, Math.floor((l - fdReserve(l)) / 2));
}

/**
 * The open client connections (the drain on stop waits for them), and the gate every
 * listener asks before it accepts one more. `max` is read at each accept, so a reload
 * that changes max-conns applies to the next connection.
 */
export class ClientSlots<T extends Member> extends Members<T> implements AcceptGate {
  #wake: (() => void) | null = null;
  #waiting: Promise<void> | null = null;

  readonly #max: () => number;
  readonly #log: Logger;

  constructor(max: () => number, log: Logger) {
    super();
    this.#max = max;
    this.#log = log;
  }

  open(): boolean {
    return this.size < this.#max();
  }

  opened(): Promise<void> {
    if (this.#waiting) return this.#waiting;
    this.#full("new connections wait in the listen queue");
    return this.#waiting = new Promise((resolve) => (this.#wake = resolve));
  }

  refused(): void {
    this.#full("new connections are closed unread");
  }

  failed(err: Error): void {
    limited(this.#log).error(
      "cannot accept: out of file descriptors; backing off (lower max-conns or raise the limit)",
      null,
      {
        error: errorTextWithCode(err),
        open: this.size,
        maxConns: this.#max(),
      },
    );
  }

  override delete(m: T): void {
    const was = m.slot;
    super.delete(m);
    if (was >= 0 && m.slot === -1) this.#release();
  }

  override clear(): void {
    super.clear();
    this.#release();
  }

  #release(): void {
    const wake = this.#wake;
    if (wake === null || this.size >= this.#max()) return;
    this.#wake = null;
    this.#waiting = null;
    wake();
  }

  /** Said at once, then counted (telemetry/log-limit.ts): on Bun each refused connection counts. */
  #full(what: string): void {
    limited(this.#log).warn(`max-conns reached: ${what}`, null, { maxConns: this.#max(), open: this.size });
  }
}

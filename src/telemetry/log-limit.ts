/**
 * Rate limits for log lines that someone outside can trigger at request rate: a dead
 * target, a client sending garbage, a failing plugin. Without them a dead target under
 * load writes one line per request (290,000 lines in 5 s under wrk), which buries
 * everything else and costs disk and CPU when it matters most.
 *
 * Lines are counted per kind (the message, a constant in the code) and key (the value of
 * one of its fields: the route, pool, listener or plugin it is about). The first line of a
 * kind and key is written at once, with its fields; the ones after it within the window
 * (10 s) are only counted, and when the window ends one summary line says how many:
 *
 *     WARN  9999 more like this in the last 10s kind="upstream unavailable" route=api suppressed=9999
 *
 * While they keep coming that is one summary per window; after a window with none the
 * next is written at once again. A suppressed line costs three map lookups and a counter
 * increment. At most `maxKeys` keys are tracked per kind (so a flood of one kind cannot
 * crowd out another); past that, new keys of the kind share one bucket whose key reads
 * "(other)". Kinds are constants in the code, so the whole is bounded.
 * The one timer runs only while something is tracked and never keeps the process alive.
 *
 * nginx writes every error line and HAProxy logs per request; this follows what vane's
 * UDP forwarder already did for dropped datagrams, for every such line.
 *
 * Debug lines are not limited: they are off by default and meant to be per connection.
 */
import type { LogFields, Logger } from "./logger.ts";
import { unref } from "../runtime/timeout.ts";

/** @default window of a limiter: how long repeats are counted before one summary. */
export const LOG_WINDOW_MS = 10_000;
/** @default cap on the keys one limiter tracks per kind. */
export const LOG_MAX_KEYS = 1_000;
/** The key of the bucket shared by keys past `maxKeys`. */
export const OTHER_KEY = "(other)";
/** An internal knob (tests): the window of `limited()`'s limiters, in ms. */
export const LOG_WINDOW_ENV = "VANE_LOG_WINDOW_MS";

export type LimitedLevel = "info" | "warn" | "error";

export interface LogLimitOptions {
  /**
   * How long repeats of a kind and key are counted before their summary.
   * @default 10_000
   */
  windowMs?: number;
  /**
   * Keys tracked at once per kind; further keys of the kind share an "(other)" bucket.
   * @default 1_000
   */
  maxKeys?: number;
  /**
   * The clock, in ms.
   * @default performance.now
   */
  now?: () => number;
  /**
   * Runs `fn` once after `ms`, returning a cancel.
   * @default setTimeout, unref'd so that it does not keep the process alive
   */
  schedule?: (fn: () => void, ms: number) => () => void;
}

interface Entry {
  readonly level: LimitedLevel;
  /** The field the key came from; null for a kind counted as a whole. */
  readonly field: string | null;
  readonly value: unknown;
  since: number;
  suppressed: number;
}

const defaultSchedule = (fn: () => void, ms: number): () => void => {
  const t = unref(setTimeout(fn, ms));
  return () => clearTimeout(t);
};

/**
 * Writes the first line of each kind and key at once and counts the repeats into one
 * summary line per window. See the file's comment.
 *
 * @example
 * ```ts
 * const limiter = new LogLimiter(log);
 * limiter.warn("upstream unavailable", "route", { route: "api", error: "connect refused" });
 * ```
 */
export class LogLimiter {
  readonly windowMs: number;
  readonly maxKeys: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #schedule: (fn: () => void, ms: number) => () => void;
  /** kind -> key value -> entry. */
  readonly #kinds = new Map<string, Map<unknown, Entry>>();
  #cancel: (() => void) | null = null;

  constructor(log: Logger, options: LogLimitOptions = {}) {
    this.#log = log;
    this.windowMs = options.windowMs ?? LOG_WINDOW_MS;
    this.maxKeys = options.maxKeys ?? LOG_MAX_KEYS;
    this.#now = options.now ?? (() => performance.now());
    this.#schedule = options.schedule ?? defaultSchedule;
  }

  /** Kind/key pairs tracked now (the "(other)" buckets included). */
  get tracked(): number {
    let n = 0;
    for (const keys of this.#kinds.values()) n += keys.size;
    return n;
  }

  /**
   * Logs `kind` at info level, limited per value of `fields[key]`.
   *
   * @param kind the message; a constant (request data goes in `fields`)
   * @param key the name of the field that tells apart what is counted separately (route,
   *   pool, listener...), or null to count the kind as a whole
   * @param fields the line's fields; only the first line's are written
   */
  info(kind: string, key: string | null, fields?: LogFields): void {
    this.#line("info", kind, key, fields);
  }

  /** As `info`, at warn level. */
  warn(kind: string, key: string | null, fields?: LogFields): void {
    this.#line("warn", kind, key, fields);
  }

  /** As `info`, at error level. */
  error(kind: string, key: string | null, fields?: LogFields): void {
    this.#line("error", kind, key, fields);
  }

  /**
   * Writes the summaries of everything counted so far and forgets it all (on stop, so
   * the counts are not lost); the limiter stays usable.
   */
  flush(): void {
    this.#cancel?.();
    this.#cancel = null;
    for (const [kind, keys] of this.#kinds) {
      for (const e of keys.values()) if (e.suppressed > 0) this.#summary(kind, e);
    }
    this.#kinds.clear();
  }

  #line(level: LimitedLevel, kind: string, key: string | null, fields: LogFields | undefined): void {
    const value = key === null ? null : fields?.[key];
    let keys = this.#kinds.get(kind);
    const seen = keys?.get(value);
    if (seen !== undefined) {
      seen.suppressed++;
      return;
    }
    const full = keys !== undefined && keys.size >= this.maxKeys;
    if (full) {
      const other = keys!.get(OTHER_KEY);
      if (other !== undefined) {
        other.suppressed++;
        return;
      }
    }
    const bucket = full ? OTHER_KEY : value;
    if (keys === undefined) this.#kinds.set(kind, keys = new Map());
    keys.set(bucket, { level, field: key, value: bucket, since: this.#now(), suppressed: 0 });
    this.#log[level](kind, fields);
    if (this.#cancel === null) this.#arm(this.windowMs);
  }

  #arm(ms: number): void {
    this.#cancel = this.#schedule(() => this.#tick(), ms);
  }

  /** Ends the windows that are over: a summary where lines were counted, else the entry goes. */
  #tick(): void {
    this.#cancel = null;
    const now = this.#now();
    // Timers may fire a little early by the clock; a window this close to its end is over.
    const slack = this.windowMs / 20;
    let next = Infinity;
    for (const [kind, keys] of this.#kinds) {
      for (const [k, e] of keys) {
        if (now - e.since < this.windowMs - slack) {
          next = Math.min(next, e.since + this.windowMs);
        } else if (e.suppressed > 0) {
          this.#summary(kind, e);
          e.since = now;
          e.suppressed = 0;
          next = Math.min(next, now + this.windowMs);
        } else {
          keys.delete(k);
        }
      }
      if (keys.size === 0) this.#kinds.delete(kind);
    }
    // Windows that end close together share one timer.
    if (next !== Infinity) this.#arm(Math.max(next - now, slack));
  }

  #summary(kind: string, e: Entry): void {
    const fields: LogFields = { kind };
    if (e.field !== null) fields[e.field] = e.value as string;
    fields.suppressed = e.suppressed;
    this.#log[e.level](`${e.suppressed} more like this in the last ${windowText(this.windowMs)}`, fields);
  }
}

/** "10s", "1.5s", "300ms". */
export function windowText(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`;
}

const shared = new WeakMap<Logger, LogLimiter>();

/**
 * The limiter shared by every line written through `log` (one per logger, so per
 * process: with workers, each worker limits its own lines). Made on first use, with the
 * window from VANE_LOG_WINDOW_MS when that is set (an internal knob for tests).
 *
 * @example
 * ```ts
 * limited(log).warn("upstream unavailable", "route", { route: route.name, error });
 * ```
 */
export function limited(log: Logger): LogLimiter {
  let l = shared.get(log);
  if (l === undefined) shared.set(log, l = new LogLimiter(log, { windowMs: windowFromEnv() }));
  return l;
}

function windowFromEnv(): number | undefined {
  try {
    const raw = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env[LOG_WINDOW_ENV];
    const ms = raw === undefined ? NaN : Number(raw);
    return Number.isFinite(ms) && ms > 0 ? ms : undefined;
  } catch {
    // No permission to read the environment (an embedder's Deno): the default.
    return undefined;
  }
}

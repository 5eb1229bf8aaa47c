/**
 * Time as vane's timers see it: a monotonic now (ms, as performance.now()) and one-shot
 * timers. Code that waits or measures takes a Clock (defaulting to SYSTEM_CLOCK) instead
 * of calling the globals, so a test can drive it with a fake one and advance time by
 * hand: a 408 after 10 s of silence, or a health check every 2 s, without waiting.
 *
 * A leaf: imports nothing. Not runtime-specific (both runtimes have these globals); it
 * lives here because timers are a service of the runtime, below every user of them.
 */

/** A timer as `Clock.setTimeout` returns it: only ever given back to the same clock's `clearTimeout`. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic scale (only differences mean anything), as performance.now(). */
  now(): number;
  /** Calls `fn` once, `ms` from now (at once, from the event loop, for `ms` <= 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer that has not fired yet; a fired or cancelled one is ignored. */
  clearTimeout(timer: TimerHandle): void;
}

/**
 * The real clock: performance.now() and the global timers. One shared object, so the
 * default costs a field read, never an allocation.
 */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

/** A number in [0, 1), as Math.random(): injected where a choice is random (a test passes a fixed sequence). */
export type Random = () => number;

/** The time DEADLINE_CLOCK read last, until `forget` clears it; -1: none. */
let lastRead = -1;
const forget = (): void => {
  lastRead = -1;
};

/**
 * performance.now() read once per batch of events: the first read is kept until the
 * microtask queued behind it runs. Deno settles every op that completed in one turn of
 * its event loop together (a read on each of 30 connections, say) and their reactions
 * run one after the other before that microtask, so they share one read: HAProxy's
 * `now_ms`, taken once per poll. performance.now() is an op on Deno, two per L7 request
 * for the deadlines (0.15 µs each, 7% of the engine's JavaScript); on Bun it costs a
 * quarter of that and each socket event is a batch of its own, so Bun reads every time.
 */
function readOncePerBatch(): number {
  if (lastRead < 0) {
    lastRead = performance.now();
    queueMicrotask(forget);
  }
  return lastRead;
}

/**
 * The clock of deadlines (ReplayConn's). On Deno, SYSTEM_CLOCK with now() read once per
 * batch of events (readOncePerBatch), so it lags by at most the work of that batch; on
 * Bun, SYSTEM_CLOCK itself. Never for measuring a duration: logs and metrics use
 * performance.now().
 */
export const DEADLINE_CLOCK: Clock = "Deno" in globalThis
  ? { now: readOncePerBatch, setTimeout: SYSTEM_CLOCK.setTimeout, clearTimeout: SYSTEM_CLOCK.clearTimeout }
  : SYSTEM_CLOCK;

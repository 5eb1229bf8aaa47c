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

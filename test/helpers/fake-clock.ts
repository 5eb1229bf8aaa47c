/**
 * A Clock (src/runtime/clock.ts) that only moves when a test says so: `advance(ms)`
 * fires the timers that fall due, each at its own time, in order, and lets what they
 * start settle before the next one. So a 10 s deadline is tested in microseconds, and
 * always the same way. And `sequence()`, a Random that returns given numbers in turn.
 */
import type { Clock, Random, TimerHandle } from "../../src/runtime/clock.ts";
import { settle } from "./fake-conn.ts";

interface Timer {
  at: number;
  /** Order of setting: timers due at the same time fire in that order. */
  seq: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Set<Timer>();

  constructor(start = 1_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(timer);
    return timer;
  }

  clearTimeout(timer: TimerHandle): void {
    this.#timers.delete(timer as Timer);
  }

  /** Timers set and not fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** When the next timer falls due (Infinity: none). */
  get nextAt(): number {
    let at = Infinity;
    for (const t of this.#timers) at = Math.min(at, t.at);
    return at;
  }

  /**
   * Moves time `ms` forward. Every timer due by then fires at its own time (`now()`
   * says so inside it), earliest first, including timers set by those that fire; after
   * each, what it started over fake connections settles. Settles once first as well,
   * so work already under way has set its timers before time moves.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#due(until);
      if (next === null) break;
      this.#timers.delete(next);
      this.#now = next.at;
      next.fn();
      await settle();
    }
    this.#now = until;
  }

  #due(until: number): Timer | null {
    let best: Timer | null = null;
    for (const t of this.#timers) {
      if (t.at > until) continue;
      if (best === null || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** A Random returning `values` in turn, then the last one again. */
export function sequence(...values: number[]): Random {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)];
}

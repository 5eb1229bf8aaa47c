/**
 * DEADLINE_CLOCK (runtime/clock.ts): one read of the time per millisecond at most, for
 * deadlines, never behind by more than the timer that forgets it.
 */
import { describe, expect, it } from "vitest";
import { DEADLINE_CLOCK } from "../../src/runtime/clock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("DEADLINE_CLOCK", () => {
  it("answers the same time within one turn of the event loop, however long it runs", () => {
    const first = DEADLINE_CLOCK.now();
    const until = performance.now() + 3;
    while (performance.now() < until) { /* the loop is busy: nothing forgets the read */ }
    expect(DEADLINE_CLOCK.now()).toBe(first);
  });

  it("reads the time again once its timer forgot the last read", async () => {
    const first = DEADLINE_CLOCK.now();
    await sleep(20);
    const before = performance.now();
    const again = DEADLINE_CLOCK.now();
    expect(again).toBeGreaterThan(first);
    // A fresh read: not older than the time just before it.
    expect(again).toBeGreaterThanOrEqual(before);
  });

  it("times deadlines with the global timers", async () => {
    let fired = false;
    DEADLINE_CLOCK.setTimeout(() => (fired = true), 5);
    const cancelled = DEADLINE_CLOCK.setTimeout(() => expect.unreachable("cancelled timer fired"), 5);
    DEADLINE_CLOCK.clearTimeout(cancelled);
    await sleep(30);
    expect(fired).toBe(true);
  });
});

/**
 * DEADLINE_CLOCK (runtime/clock.ts), the clock of ReplayConn's deadlines: on Deno one
 * read of the time per batch of events (until a microtask queued behind the read runs),
 * on Bun every read fresh; never behind once the batch is over.
 */
import { describe, expect, it } from "vitest";
import { DEADLINE_CLOCK } from "../../src/runtime/clock.ts";

const onDeno = "Deno" in globalThis;

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* the batch goes on */ }
}

describe("DEADLINE_CLOCK", () => {
  it("answers one time for the whole of a batch on Deno, the time itself on Bun", () => {
    const first = DEADLINE_CLOCK.now();
    busy(3);
    const second = DEADLINE_CLOCK.now();
    if (onDeno) expect(second).toBe(first);
    else expect(second - first).toBeGreaterThanOrEqual(3);
  });

  it("shares the read with what was already queued in the batch, and reads again after it", async () => {
    const reads: number[] = [];
    // Three reactions queued together, as Deno queues those of the ops one turn settled.
    const settled = Promise.resolve();
    const queued = [1, 2, 3].map(() =>
      settled.then(() => {
        reads.push(DEADLINE_CLOCK.now());
        busy(2);
      })
    );
    await Promise.all(queued);
    if (onDeno) expect(new Set(reads).size).toBe(1);
    else expect(new Set(reads).size).toBe(3);
    await new Promise((r) => setTimeout(r, 5));
    const before = performance.now();
    // The batch is over: a fresh read, not older than the time just before it.
    expect(DEADLINE_CLOCK.now()).toBeGreaterThanOrEqual(before);
  });

  it("times deadlines with the global timers", async () => {
    let fired = false;
    DEADLINE_CLOCK.setTimeout(() => (fired = true), 5);
    const cancelled = DEADLINE_CLOCK.setTimeout(() => expect.unreachable("a cancelled timer fired"), 5);
    DEADLINE_CLOCK.clearTimeout(cancelled);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(true);
  });
});

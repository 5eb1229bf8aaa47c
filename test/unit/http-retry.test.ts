import { describe, expect, it } from "vitest";
import { avoided, backoffCap, budgetAllows, leased, RetryControl } from "../../src/http/retry.ts";
import { DEFAULT_RETRY, type RetryPolicy } from "../../src/config/model.ts";
import { sequence } from "../helpers/fake-clock.ts";

describe("retry budget", () => {
  it("allows retries in flight below the share of requests in flight, or the minimum, whichever is more", () => {
    // 20% of 100 is 20: the 20th is allowed, the 21st is not.
    expect(budgetAllows(19, 100, 20, 3)).toBe(true);
    expect(budgetAllows(20, 100, 20, 3)).toBe(false);
    // Few requests: the minimum rules.
    expect(budgetAllows(2, 4, 20, 3)).toBe(true);
    expect(budgetAllows(3, 4, 20, 3)).toBe(false);
    // 0% and no minimum: never.
    expect(budgetAllows(0, 1000, 0, 0)).toBe(false);
    expect(budgetAllows(0, 1, 100, 0)).toBe(true);
  });

  it("takes a retry while the budget has room and gives it back when done", () => {
    let requests = 10;
    const control = new RetryControl({ ...DEFAULT_RETRY, budgetPercent: 20, budgetMin: 1 }, () => requests);
    expect(control.take()).toBe(true);
    expect(control.take()).toBe(true);
    expect(control.take()).toBe(false);
    expect(control.inFlight).toBe(2);
    control.done();
    expect(control.take()).toBe(true);
    requests = 0;
    control.done();
    control.done();
    expect(control.take()).toBe(true);
    expect(control.take()).toBe(false);
  });

  it("counts a pool's requests in flight as its leased connections", () => {
    expect(leased([{ activeConnections: 2 }, { activeConnections: 0 }, { activeConnections: 5 }])).toBe(7);
  });
});

describe("retry backoff", () => {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, backoffMs: 25, backoffMaxMs: 250 };

  it("doubles its cap per retry, up to the maximum", () => {
    expect([1, 2, 3, 4, 5, 6].map((k) => backoffCap(policy, k))).toEqual([25, 50, 100, 200, 250, 250]);
    expect(backoffCap({ ...policy, backoffMs: 0 }, 3)).toBe(0);
  });

  it("waits a uniformly random time from 0 up to the cap (full jitter)", () => {
    const control = new RetryControl(policy, () => 0, sequence(0, 0.5, 0.999, 0.999));
    expect(control.backoffMs(1)).toBe(0);
    expect(control.backoffMs(2)).toBe(25);
    expect(control.backoffMs(3)).toBe(99);
    expect(control.backoffMs(9)).toBe(249);
  });
});

describe("retry targets", () => {
  it("avoids every target tried, or only the last once all were tried", () => {
    expect([...avoided(["a", "b"], 3)]).toEqual(["a", "b"]);
    expect([...avoided(["a", "b", "c"], 3)]).toEqual(["c"]);
    expect([...avoided(["a", "a"], 2)]).toEqual(["a"]);
  });
});

import { describe, expect, it } from "vitest";
import { withTimeout } from "../../src/runtime/timeout.ts";

describe("withTimeout (connect timeouts)", () => {
  it("passes the value through when it arrives in time", async () => {
    expect(await withTimeout(Promise.resolve("conn"), 1000, "too slow", () => {})).toBe("conn");
  });

  it("rejects with the message when the timer wins, and disposes of the late arrival", async () => {
    const disposed: string[] = [];
    let arrive!: (v: string) => void;
    const late = new Promise<string>((r) => (arrive = r));
    await expect(withTimeout(late, 20, "connect timed out after 20ms", (v) => disposed.push(v)))
      .rejects.toThrow("connect timed out after 20ms");
    arrive("late conn");
    await late;
    await Promise.resolve();
    expect(disposed).toEqual(["late conn"]);
  });

  it("times out only the races still pending, each no sooner than its own time", async () => {
    const started = performance.now();
    const never = new Promise<string>(() => {});
    let arrive!: (v: string) => void;
    const soon = new Promise<string>((r) => (arrive = r));
    const first = withTimeout(never, 40, "first timed out", () => {});
    const second = withTimeout(soon, 40, "second timed out", () => {});
    await new Promise((r) => setTimeout(r, 15));
    const third = withTimeout(never, 40, "third timed out", () => {});
    arrive("conn");
    expect(await second).toBe("conn");
    await expect(first).rejects.toThrow("first timed out");
    const firstAt = performance.now() - started;
    await expect(third).rejects.toThrow("third timed out");
    const thirdAt = performance.now() - started;
    // Order, not speed: each waited its whole timeout, the later one longer.
    expect(firstAt).toBeGreaterThanOrEqual(39);
    expect(thirdAt).toBeGreaterThanOrEqual(54);
    expect(thirdAt).toBeGreaterThan(firstAt);
  });

  it("passes an early failure through as it is", async () => {
    await expect(withTimeout(Promise.reject(new Error("refused")), 1000, "too slow", () => {}))
      .rejects.toThrow("refused");
  });
});

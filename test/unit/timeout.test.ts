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

  it("passes an early failure through as it is", async () => {
    await expect(withTimeout(Promise.reject(new Error("refused")), 1000, "too slow", () => {}))
      .rejects.toThrow("refused");
  });
});

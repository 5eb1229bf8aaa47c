import { describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { withTimeout } from "../../src/runtime/timeout.ts";

const same = (v: string) => v;

describe("withTimeout (connect timeouts)", () => {
  it("hands the value to take when it arrives in time", async () => {
    expect(await withTimeout(Promise.resolve("conn"), 1000, "connect", () => {}, same)).toBe("conn");
    expect(await withTimeout(Promise.resolve("conn"), 1000, "connect", () => {}, (v) => `${v} 1`)).toBe("conn 1");
  });

  it("rejects saying what timed out when the timer wins, and disposes of the late arrival", async () => {
    const disposed: string[] = [];
    let arrive!: (v: string) => void;
    const late = new Promise<string>((r) => (arrive = r));
    await expect(withTimeout(late, 20, "connect", (v) => disposed.push(v), same))
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
    const first = withTimeout(never, 40, "first", () => {}, same);
    const second = withTimeout(soon, 40, "second", () => {}, same);
    await new Promise((r) => setTimeout(r, 15));
    const third = withTimeout(never, 40, "third", () => {}, same);
    arrive("conn");
    expect(await second).toBe("conn");
    await expect(first).rejects.toThrow("first timed out after 40ms");
    const firstAt = performance.now() - started;
    await expect(third).rejects.toThrow("third timed out after 40ms");
    const thirdAt = performance.now() - started;
    // Order, not speed: each waited its whole timeout, the later one longer.
    expect(firstAt).toBeGreaterThanOrEqual(39);
    expect(thirdAt).toBeGreaterThanOrEqual(54);
    expect(thirdAt).toBeGreaterThan(firstAt);
  });

  it("passes an early failure through as it is", async () => {
    await expect(withTimeout(Promise.reject(new Error("refused")), 1000, "connect", () => {}, same))
      .rejects.toThrow("refused");
  });

  it("leaves no timer that keeps the process running once the race is won", async () => {
    // The queue's timer stays set after the last race (re-arming per connect costs);
    // it must not hold the process for the 60 s of its timeout.
    const url = new URL("../../src/runtime/timeout.ts", import.meta.url).href;
    const code = `const { withTimeout } = await import(${JSON.stringify(url)});
      console.log(await withTimeout(Promise.resolve("won"), 60000, "connect", () => {}, (v) => v));`;
    const isDeno = "Deno" in globalThis;
    const args = isDeno ? ["eval", "--ext=ts", code] : ["-e", code];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const [code_, sig] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s]))
    );
    clearTimeout(killer);
    expect({ code: code_, sig, out: out.trim() }).toEqual({ code: 0, sig: null, out: "won" });
  }, 40_000);
});

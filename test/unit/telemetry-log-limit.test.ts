/** The per-kind, per-key limit on repeated log lines, on a fake clock and timer. */
import { afterEach, describe, expect, it } from "vitest";
import { limited, LogLimiter, OTHER_KEY, windowText } from "../../src/telemetry/log-limit.ts";
import { createLogger } from "../../src/telemetry/logger.ts";

/** A limiter on a manual clock: `advance(ms)` moves it and runs the timer that came due. */
function setup(options: { windowMs?: number; maxKeys?: number; format?: "text" | "json" } = {}) {
  const lines: string[] = [];
  let now = 0;
  let timer: { at: number; fn: () => void } | null = null;
  const log = createLogger(options.format ?? "json", { sink: (l) => lines.push(l), level: "info" });
  const limiter = new LogLimiter(log, {
    windowMs: options.windowMs ?? 10_000,
    maxKeys: options.maxKeys,
    now: () => now,
    schedule: (fn, ms) => {
      const t = { at: now + ms, fn };
      timer = t;
      return () => {
        if (timer === t) timer = null;
      };
    },
  });
  const advance = (ms: number) => {
    const end = now + ms;
    while (timer !== null && timer.at <= end) {
      const t: { at: number; fn: () => void } = timer;
      timer = null;
      now = t.at;
      t.fn();
    }
    now = end;
  };
  const json = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { limiter, lines, json, advance, pending: () => timer !== null };
}

describe("LogLimiter", () => {
  it("writes the first line of a kind and key at once, with its fields", () => {
    const { limiter, json } = setup();
    limiter.warn("upstream unavailable", "route", { route: "api", error: "refused" });
    expect(json()).toEqual([
      expect.objectContaining({ level: "warn", msg: "upstream unavailable", route: "api", error: "refused" }),
    ]);
  });

  it("counts the repeats within the window and writes nothing for them", () => {
    const { limiter, lines, advance } = setup();
    for (let i = 0; i < 500; i++) {
      limiter.warn("upstream unavailable", "route", { route: "api", error: `e${i}` });
      advance(10);
    }
    expect(lines).toHaveLength(1);
  });

  it("ends the window with one summary that says how many were left out, with the kind and key", () => {
    const { limiter, json, advance } = setup();
    for (let i = 0; i < 100; i++) {
      limiter.error("connection closed: no target available", "pool", { pool: "web", client: `c${i}` });
    }
    advance(9_000);
    expect(json()).toHaveLength(1);
    advance(1_000);
    expect(json()).toHaveLength(2);
    expect(json()[1]).toMatchObject({
      level: "error",
      msg: "99 more like this in the last 10s",
      kind: "connection closed: no target available",
      pool: "web",
      suppressed: 99,
    });
    expect(json()[1].client).toBeUndefined();
  });

  it("reads the same in text format", () => {
    const { limiter, lines, advance } = setup({ format: "text" });
    limiter.warn("upstream unavailable", "route", { route: "api" });
    limiter.warn("upstream unavailable", "route", { route: "api" });
    limiter.warn("upstream unavailable", "route", { route: "api" });
    advance(10_000);
    expect(lines[1]).toMatch(
      / WARN {2}2 more like this in the last 10s kind="upstream unavailable" route=api suppressed=2$/,
    );
  });

  it("keeps each key's count apart, and each kind's", () => {
    const { limiter, json, advance } = setup();
    for (let i = 0; i < 3; i++) limiter.warn("upstream unavailable", "route", { route: "a" });
    for (let i = 0; i < 5; i++) limiter.warn("upstream unavailable", "route", { route: "b" });
    for (let i = 0; i < 7; i++) limiter.warn("upstream timeout", "route", { route: "a" });
    expect(json().map((l) => `${l.msg} ${l.route}`)).toEqual([
      "upstream unavailable a",
      "upstream unavailable b",
      "upstream timeout a",
    ]);
    advance(10_000);
    const summaries = json().slice(3).map((l) => `${l.kind} ${l.route} ${l.suppressed}`).sort();
    expect(summaries).toEqual(["upstream timeout a 6", "upstream unavailable a 2", "upstream unavailable b 4"]);
  });

  it("counts a kind as a whole when it has no key", () => {
    const { limiter, json, advance } = setup();
    for (let i = 0; i < 4; i++) limiter.warn("udp datagram dropped: no target", null, { client: `10.0.0.${i}:5000` });
    advance(10_000);
    expect(json()).toHaveLength(2);
    expect(json()[1]).toEqual(expect.objectContaining({ kind: "udp datagram dropped: no target", suppressed: 3 }));
  });

  it("writes no summary for a line that came alone, and writes the next one at once", () => {
    const { limiter, lines, advance, pending } = setup();
    limiter.warn("plugin failed", "plugin", { plugin: "p" });
    advance(10_000);
    expect(lines).toHaveLength(1);
    expect(pending()).toBe(false);
    limiter.warn("plugin failed", "plugin", { plugin: "p" });
    expect(lines).toHaveLength(2);
  });

  it("while repeats go on, writes one summary per window and no first line again", () => {
    const { limiter, json, advance, pending } = setup();
    for (let w = 0; w < 3; w++) {
      for (let i = 0; i < 10; i++) {
        limiter.warn("upstream unavailable", "route", { route: "api" });
        advance(1_000);
      }
    }
    expect(json().map((l) => l.msg)).toEqual([
      "upstream unavailable",
      "9 more like this in the last 10s",
      "10 more like this in the last 10s",
      "10 more like this in the last 10s",
    ]);
    advance(10_000);
    // Quiet for a window: forgotten, and the timer is not kept.
    expect(json()).toHaveLength(4);
    expect(limiter.tracked).toBe(0);
    expect(pending()).toBe(false);
  });

  it("tracks at most maxKeys keys of a kind, and counts the rest in one (other) bucket", () => {
    const { limiter, json, advance } = setup({ maxKeys: 3 });
    for (let i = 0; i < 1000; i++) limiter.warn("connection closed: no route", "listener", { listener: `:${i}` });
    expect(limiter.tracked).toBe(4);
    // Three keys' first lines and the bucket's (naming the key that opened it).
    expect(json().map((l) => l.listener)).toEqual([":0", ":1", ":2", ":3"]);
    advance(10_000);
    expect(json().slice(4)).toEqual([
      expect.objectContaining({ msg: "996 more like this in the last 10s", listener: OTHER_KEY, suppressed: 996 }),
    ]);
  });

  it("counts the cap per kind, so a flood of one kind does not crowd out another", () => {
    const { limiter, json } = setup({ maxKeys: 3 });
    for (let i = 0; i < 100; i++) limiter.warn("connection closed: no route", "listener", { listener: `:${i}` });
    limiter.warn("upstream unavailable", "route", { route: "api" });
    expect(json().at(-1)).toMatchObject({ msg: "upstream unavailable", route: "api" });
    expect(limiter.tracked).toBe(5);
  });

  it("writes what it counted on flush, and forgets it", () => {
    const { limiter, json, pending } = setup();
    limiter.warn("upstream failed", "route", { route: "api" });
    limiter.warn("upstream failed", "route", { route: "api" });
    limiter.flush();
    expect(json()[1]).toMatchObject({ msg: "1 more like this in the last 10s", suppressed: 1 });
    expect(limiter.tracked).toBe(0);
    expect(pending()).toBe(false);
    limiter.warn("upstream failed", "route", { route: "api" });
    expect(json()).toHaveLength(3);
  });

  it("says a short window in ms", () => {
    expect(windowText(10_000)).toBe("10s");
    expect(windowText(1_500)).toBe("1.5s");
    expect(windowText(300)).toBe("300ms");
  });
});

describe("limited()", () => {
  const made: LogLimiter[] = [];
  afterEach(() => {
    for (const l of made) l.flush();
    made.length = 0;
  });

  it("gives one limiter per logger, so every caller shares its counts", () => {
    const lines: string[] = [];
    const log = createLogger("text", { sink: (l) => lines.push(l) });
    const a = limited(log);
    made.push(a);
    expect(limited(log)).toBe(a);
    expect(limited(createLogger("text", { sink: () => {} }))).not.toBe(a);
    a.warn("k", "route", { route: "r" });
    limited(log).warn("k", "route", { route: "r" });
    expect(lines).toHaveLength(1);
  });

  it("arms a real timer that does not keep the process alive and writes the summary when due", async () => {
    const lines: string[] = [];
    const limiter = new LogLimiter(createLogger("text", { sink: (l) => lines.push(l) }), { windowMs: 50 });
    made.push(limiter);
    limiter.warn("k", "route", { route: "r" });
    limiter.warn("k", "route", { route: "r" });
    const deadline = Date.now() + 3_000;
    while (lines.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(lines[1]).toContain("1 more like this in the last 50ms");
  });
});

/**
 * Token buckets with an injected clock: the burst, the refill rate, keys apart, the
 * bound on the number of keys, and the rate-limit action in a flow.
 */
import { describe, expect, it } from "vitest";
import type { Rule } from "../../src/config/model.ts";
import { compileFlow, inputOf } from "../../src/flow/flow.ts";
import { MAX_KEYS, TokenBuckets } from "../../src/flow/rate-limit.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

function clock(start = 1000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const takeN = (b: TokenBuckets, key: string, n: number) => Array.from({ length: n }, () => b.take(key));

describe("TokenBuckets", () => {
  it("starts a new key full: burst tokens, then empty", () => {
    const c = clock();
    const b = new TokenBuckets(1, 3, c.now);
    expect(takeN(b, "k", 4)).toEqual([true, true, true, false]);
  });

  it("refills at rate tokens per second, in fractions too", () => {
    const c = clock();
    const b = new TokenBuckets(2, 2, c.now);
    takeN(b, "k", 2);
    expect(b.take("k")).toBe(false);
    c.advance(250); // half a token
    expect(b.take("k")).toBe(false);
    c.advance(250); // the other half
    expect(b.take("k")).toBe(true);
    expect(b.take("k")).toBe(false);
    c.advance(1000); // two tokens
    expect(takeN(b, "k", 3)).toEqual([true, true, false]);
  });

  it("never holds more than burst, however long it was idle", () => {
    const c = clock();
    const b = new TokenBuckets(10, 2, c.now);
    b.take("k");
    c.advance(3_600_000);
    expect(takeN(b, "k", 3)).toEqual([true, true, false]);
  });

  it("keeps keys apart", () => {
    const c = clock();
    const b = new TokenBuckets(1, 1, c.now);
    expect(b.take("a")).toBe(true);
    expect(b.take("a")).toBe(false);
    expect(b.take("b")).toBe(true);
    expect(b.take("b")).toBe(false);
  });

  it("does not drain a bucket when the clock steps back", () => {
    const c = clock();
    const b = new TokenBuckets(1, 2, c.now);
    b.take("k");
    c.advance(-500);
    expect(b.take("k")).toBe(true);
  });

  it("a rate of 0 never refills", () => {
    const c = clock();
    const b = new TokenBuckets(0, 1, c.now);
    expect(b.take("k")).toBe(true);
    c.advance(1e9);
    expect(b.take("k")).toBe(false);
  });

  it("bounds the keys at 100,000 by default", () => {
    expect(MAX_KEYS).toBe(100_000);
    const c = clock();
    const b = new TokenBuckets(1, 1, c.now);
    for (let i = 0; i < MAX_KEYS + 5000; i++) b.take(`k${i}`);
    expect(b.size).toBeLessThanOrEqual(MAX_KEYS);
  });

  it("when full, drops buckets that have refilled before busy ones", () => {
    const c = clock();
    const b = new TokenBuckets(1, 2, c.now, 10);
    // Five keys drained, then time passes so that they are full again; five busy ones drained now.
    for (let i = 0; i < 5; i++) takeN(b, `idle${i}`, 2);
    c.advance(5000);
    for (let i = 0; i < 5; i++) takeN(b, `busy${i}`, 2);
    expect(b.size).toBe(10);
    expect(b.take("new")).toBe(true);
    expect(b.size).toBe(6);
    // The busy buckets were kept: still empty.
    for (let i = 0; i < 5; i++) expect(b.take(`busy${i}`)).toBe(false);
  });

  it("when full of busy buckets, drops the least recently used first", () => {
    const c = clock();
    const b = new TokenBuckets(1, 1, c.now, 10);
    for (let i = 0; i < 10; i++) b.take(`k${i}`);
    b.take("k0"); // k0 is now the most recently used (and still empty)
    expect(b.take("new")).toBe(true);
    expect(b.size).toBeLessThanOrEqual(10);
    expect(b.take("k0")).toBe(false); // kept
    expect(b.take("k1")).toBe(true); // dropped, so it came back full
  });

  it("takes up to n whole tokens at once (a worker's lease), and puts unused ones back, never above burst", () => {
    const c = clock();
    const b = new TokenBuckets(1, 5, c.now);
    expect(b.takeUpTo("k", 3)).toBe(3);
    expect(b.takeUpTo("k", 3)).toBe(2);
    expect(b.takeUpTo("k", 3)).toBe(0);
    b.giveBack("k", 2);
    expect(b.takeUpTo("k", 9)).toBe(2);
    c.advance(1500); // one and a half tokens: one whole
    expect(b.takeUpTo("k", 9)).toBe(1);
    b.giveBack("k", 100);
    expect(b.takeUpTo("k", 9)).toBe(5);
    b.giveBack("gone", 3); // a key it does not hold starts full anyway
    expect(b.size).toBe(1);
  });
});

describe("the rate-limit action", () => {
  const rules = (key: string): Rule[] => [
    { when: null, action: { kind: "rate-limit", rate: 1, burst: 2, key } },
    { when: null, action: { kind: "proxy", pool: "P" } },
  ];

  it("goes on while tokens last, then answers limited; keys are expanded per evaluation", () => {
    const c = clock();
    const flow = compileFlow(rules("{{conn.ip}}"), { log: silentLogger, now: c.now });
    const kinds = (ip: string, n: number) =>
      Array.from({ length: n }, () => flow.runSync(inputOf({ "conn.ip": ip })).outcome.kind);
    expect(kinds("10.0.0.1", 3)).toEqual(["proxy", "proxy", "limited"]);
    expect(kinds("10.0.0.2", 1)).toEqual(["proxy"]);
    c.advance(1000);
    expect(kinds("10.0.0.1", 2)).toEqual(["proxy", "limited"]);
  });

  it("keeps the edits made before it when it limits", () => {
    const c = clock();
    const flow = compileFlow([
      { when: null, action: { kind: "set-headers", request: [], response: [["x-a", "1"]] } },
      ...rules("global"),
    ], { log: silentLogger, now: c.now });
    flow.runSync(inputOf({}));
    flow.runSync(inputOf({}));
    expect(flow.runSync(inputOf({}))).toEqual({
      outcome: { kind: "limited" },
      request: [],
      response: [{ op: "set", name: "x-a", value: "1" }],
    });
  });

  it("has one bucket set per action: two rules with the same key count apart", () => {
    const c = clock();
    const flow = compileFlow([
      { when: null, action: { kind: "rate-limit", rate: 1, burst: 1, key: "k" } },
      { when: null, action: { kind: "rate-limit", rate: 1, burst: 2, key: "k" } },
      { when: null, action: { kind: "proxy", pool: "P" } },
    ], { log: silentLogger, now: c.now });
    expect(flow.runSync(inputOf({})).outcome.kind).toBe("proxy");
    expect(flow.runSync(inputOf({})).outcome.kind).toBe("limited");
  });

  it("each compiled flow has its own buckets", () => {
    const c = clock();
    const a = compileFlow(rules("k"), { log: silentLogger, now: c.now });
    const b = compileFlow(rules("k"), { log: silentLogger, now: c.now });
    a.runSync(inputOf({}));
    a.runSync(inputOf({}));
    expect(a.runSync(inputOf({})).outcome.kind).toBe("limited");
    expect(b.runSync(inputOf({})).outcome.kind).toBe("proxy");
  });
});

/**
 * A rate limit counted in Redis, one vane's side (src/store/redis/lease-table.ts), over
 * a fake Redis (one in-memory bucket per key, answering 1 ms after each call) on a fake
 * clock: tokens come a batch per round trip and the next batch is asked for before the
 * last is spent; two vanes sharing the buckets admit one burst in all; a dry bucket is
 * refused without asking; unused tokens go back; Redis down or failing is judged by
 * on-error, at once; UDP's takeNow never waits.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.ts";
import { TokenBuckets } from "../../src/flow/rate-limit.ts";
import { type BucketLink, DRY_MS, LEASE_MS, RedisLeaseTable } from "../../src/store/redis/lease-table.ts";

/** A fake Redis: the real TokenBuckets per key, an answer 1 ms later; `calls` counts round trips. */
class FakeRedis {
  readonly clock = new FakeClock();
  readonly buckets = new Map<string, TokenBuckets>();
  calls = 0;
  given = 0;
  down = false;
  failing = false;

  link(): BucketLink {
    // deno-lint-ignore no-this-alias
    const redis = this;
    return {
      clock: this.clock,
      get available() {
        return !redis.down;
      },
      bucket: (key, rate, burst, n) => this.#bucket(key, rate, burst, n),
    };
  }

  #bucket(key: string, rate: number, burst: number, n: number): Promise<number> {
    this.calls++;
    return new Promise((resolve, reject) =>
      this.clock.setTimeout(() => {
        if (this.failing || this.down) return reject(new Error("redis unavailable"));
        let b = this.buckets.get(key);
        if (!b) this.buckets.set(key, b = new TokenBuckets(rate, burst, () => this.clock.now()));
        if (n >= 0) return resolve(b.takeUpTo("k", n));
        this.given += -n;
        b.giveBack("k", -n);
        resolve(0);
      }, 1)
    );
  }
}

/** `n` requests at once (each waits or not): how many were admitted. */
async function admitAtOnce(clock: FakeClock, table: RedisLeaseTable, key: string, n: number): Promise<number> {
  const answers = Array.from({ length: n }, () => table.take(key));
  await clock.advance(5);
  return (await Promise.all(answers)).filter(Boolean).length;
}

describe("RedisLeaseTable", () => {
  it("takes a tenth of a second's tokens per round trip, at most half the burst, at least one", () => {
    const link = new FakeRedis().link();
    expect(new RedisLeaseTable("p:", { rate: 1000, burst: 2000 }, true, link).batch).toBe(100);
    expect(new RedisLeaseTable("p:", { rate: 1000, burst: 50 }, true, link).batch).toBe(25);
    expect(new RedisLeaseTable("p:", { rate: 5, burst: 10 }, true, link).batch).toBe(1);
  });

  it("serves most requests from the batch, asking for the next before it is spent", async () => {
    const redis = new FakeRedis();
    const table = new RedisLeaseTable("p:", { rate: 100, burst: 100 }, true, redis.link());
    expect(table.batch).toBe(10);
    const first = table.take("a");
    expect(first).toBeInstanceOf(Promise);
    await redis.clock.advance(1);
    expect(await first).toBe(true);
    let atOnce = 0;
    for (let i = 0; i < 40; i++) {
      const ok = table.take("a");
      if (ok === true) atOnce++;
      else expect(await Promise.all([ok, redis.clock.advance(1)]).then(([v]) => v)).toBe(true);
      await redis.clock.advance(0);
    }
    // 41 requests of a full bucket: every one admitted, in far fewer round trips than requests.
    expect(redis.calls).toBeLessThanOrEqual(6);
    expect(atOnce).toBeGreaterThanOrEqual(35);
  });

  it("admits one burst over two vanes sharing the buckets, not one each", async () => {
    const redis = new FakeRedis();
    const limit = { rate: 1, burst: 20 };
    const a = new RedisLeaseTable("p:", limit, true, redis.link());
    const b = new RedisLeaseTable("p:", limit, true, redis.link());
    const [na, nb] = await Promise.all([admitAtOnce(redis.clock, a, "ip", 30), admitAtOnce(redis.clock, b, "ip", 30)]);
    expect(na + nb).toBe(20);
    expect(na).toBeGreaterThan(0);
    expect(nb).toBeGreaterThan(0);
  });

  it("keeps keys apart, and limits apart by their prefix", async () => {
    const redis = new FakeRedis();
    const limit = { rate: 1, burst: 3 };
    const t1 = new RedisLeaseTable("t0.0:", limit, true, redis.link());
    const t2 = new RedisLeaseTable("t0.1:", limit, true, redis.link());
    expect(await admitAtOnce(redis.clock, t1, "x", 5)).toBe(3);
    expect(await admitAtOnce(redis.clock, t1, "y", 5)).toBe(3);
    expect(await admitAtOnce(redis.clock, t2, "x", 5)).toBe(3);
    expect([...redis.buckets.keys()].sort()).toEqual(["t0.0:x", "t0.0:y", "t0.1:x"]);
  });

  it("refuses a dry bucket's key without asking, for DRY_MS at most", async () => {
    const redis = new FakeRedis();
    const table = new RedisLeaseTable("p:", { rate: 1, burst: 2 }, true, redis.link());
    expect(await admitAtOnce(redis.clock, table, "k", 3)).toBe(2);
    const calls = redis.calls;
    for (let i = 0; i < 50; i++) expect(table.take("k")).toBe(false);
    expect(redis.calls).toBe(calls);
    await redis.clock.advance(DRY_MS);
    expect(table.take("k")).toBeInstanceOf(Promise);
  });

  it("gives unused tokens back after LEASE_MS", async () => {
    const redis = new FakeRedis();
    const table = new RedisLeaseTable("p:", { rate: 100, burst: 100 }, true, redis.link());
    expect(await admitAtOnce(redis.clock, table, "k", 1)).toBe(1);
    await redis.clock.advance(LEASE_MS * 2);
    // The batch of 10 less the one spent, and the next batch asked for as it ran low.
    expect(redis.given).toBe(9);
    expect(table.size).toBe(0);
  });

  it("judges by on-error at once while Redis is down: open admits, closed refuses", async () => {
    const redis = new FakeRedis();
    const open = new RedisLeaseTable("o:", { rate: 1, burst: 1 }, true, redis.link());
    const closed = new RedisLeaseTable("c:", { rate: 1, burst: 1 }, false, redis.link());
    redis.down = true;
    for (let i = 0; i < 5; i++) {
      expect(open.take("k")).toBe(true);
      expect(closed.take("k")).toBe(false);
      expect(open.takeNow("k")).toBe(true);
      expect(closed.takeNow("k")).toBe(false);
    }
    expect(redis.calls).toBe(0);
  });

  it("judges the waiting requests by on-error when Redis fails to answer", async () => {
    const redis = new FakeRedis();
    const open = new RedisLeaseTable("o:", { rate: 1, burst: 1 }, true, redis.link());
    const closed = new RedisLeaseTable("c:", { rate: 1, burst: 1 }, false, redis.link());
    redis.failing = true;
    expect(await admitAtOnce(redis.clock, open, "k", 3)).toBe(3);
    expect(await admitAtOnce(redis.clock, closed, "k", 3)).toBe(0);
  });

  it("answers takeNow at once: on this vane's own bucket until the first batch comes", async () => {
    const redis = new FakeRedis();
    const table = new RedisLeaseTable("p:", { rate: 1, burst: 2 }, false, redis.link());
    expect([table.takeNow("k"), table.takeNow("k")]).toEqual([true, true]);
    expect(redis.calls).toBe(1);
    await redis.clock.advance(1);
    // The batch granted (1 token: half the burst) is spent next; then the bucket is dry.
    expect(table.takeNow("k")).toBe(true);
  });
});

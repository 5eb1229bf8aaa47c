/**
 * The lease bookkeeping that the worker and Redis tables share (src/flow/lease-table.ts),
 * over a fake source that only records what the table asks and gives back (the test
 * answers by hand, as rate-leases.ts or a Redis call would) and a fallback that counts
 * its verdicts, on a fake clock: asks settle their amount when they go out, grants serve
 * the waiting in order, a short grant marks the key dry, a failure is judged by the
 * fallback, old tokens go back, the table stays bounded.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.ts";
import {
  DRY_MS,
  LEASE_MS,
  type LeaseFallback,
  type LeaseSource,
  LeaseTable,
  type LeaseTableOptions,
} from "../../src/flow/lease-table.ts";

class FakeSource implements LeaseSource, LeaseFallback {
  readonly clock = new FakeClock();
  available = true;
  readonly wants: string[] = [];
  readonly backs: Array<[string, number]> = [];
  readonly actives: boolean[] = [];
  /** The fallback's verdict, and which keys it judged (judge, judgeNow). */
  verdict = true;
  readonly judged: string[] = [];
  readonly judgedNow: string[] = [];

  want(key: string): void {
    this.wants.push(key);
  }
  back(key: string, n: number): void {
    this.backs.push([key, n]);
  }
  active(on: boolean): void {
    this.actives.push(on);
  }
  judge(key: string): boolean {
    this.judged.push(key);
    return this.verdict;
  }
  judgeNow(key: string): boolean {
    this.judgedNow.push(key);
    return this.verdict;
  }
}

function setup(batch: number, limit = { rate: 10, burst: 100 }, options: LeaseTableOptions = {}) {
  const source = new FakeSource();
  return { source, table: new LeaseTable(limit, batch, source, source, options) };
}

/** `n` requests for `key` at once: their answers, still waiting. */
const takeAll = (table: LeaseTable, key: string, n: number) => Array.from({ length: n }, () => table.take(key));

describe("LeaseTable", () => {
  it("settles an ask when it goes out: as many as wait when that is more than a batch, at most the burst", async () => {
    const { source, table } = setup(2, { rate: 10, burst: 4 });
    const answers = takeAll(table, "k", 6);
    expect(answers.every((a) => a instanceof Promise)).toBe(true);
    // Until the ask goes out every request wants one (a source sends them as one).
    expect(new Set(source.wants)).toEqual(new Set(["k"]));
    expect(table.startAsk("k")).toBe(4); // six wait, the burst is four
    expect(table.startAsk("k")).toBe(0); // one ask out at a time
    table.granted("k", 3);
    // Three served in order; short of the ask, the bucket is dry: the rest refused.
    expect(await Promise.all(answers)).toEqual([true, true, true, false, false, false]);
  });

  it("serves from the lease at once, without asking, until it is spent", async () => {
    const { source, table } = setup(3);
    const first = table.take("k");
    table.startAsk("k");
    table.granted("k", 3);
    expect(await first).toBe(true);
    expect([table.take("k"), table.take("k")]).toEqual([true, true]);
    expect(source.wants).toEqual(["k"]);
    expect(table.size).toBe(0); // spent: nothing left to remember
    expect(table.take("k")).toBeInstanceOf(Promise);
    expect(source.wants).toEqual(["k", "k"]);
  });

  it("refuses a dry key without asking until DRY_MS (or a token's time at the rate) has passed", async () => {
    const { source, table } = setup(5, { rate: 20, burst: 100 });
    void table.take("k");
    table.startAsk("k");
    table.granted("k", 0);
    for (let i = 0; i < 10; i++) expect(table.take("k")).toBe(false);
    expect(source.wants).toEqual(["k"]);
    await source.clock.advance(Math.min(DRY_MS, 1000 / 20) - 1);
    expect(table.take("k")).toBe(false);
    await source.clock.advance(1);
    expect(table.take("k")).toBeInstanceOf(Promise);
    expect(source.wants).toEqual(["k", "k"]);
  });

  it("asks again when more requests came while the ask was out than it brought", async () => {
    const { source, table } = setup(2);
    const early = takeAll(table, "k", 2);
    expect(table.startAsk("k")).toBe(2);
    const asked = source.wants.length;
    const late = takeAll(table, "k", 2);
    expect(source.wants.length).toBe(asked); // an ask is out: nothing more wanted
    table.granted("k", 2);
    expect(await Promise.all(early)).toEqual([true, true]);
    expect(source.wants.length).toBe(asked + 1);
    expect(table.startAsk("k")).toBe(2);
    table.granted("k", 2);
    expect(await Promise.all(late)).toEqual([true, true]);
  });

  it("judges the requests waiting on a failed ask by the fallback, and ignores a failure of an older ask", async () => {
    const { source, table } = setup(2);
    const first = takeAll(table, "k", 2);
    table.startAsk("k");
    const stale = table.askOf("k");
    source.verdict = false;
    table.failed("k", stale);
    expect(await Promise.all(first)).toEqual([false, false]);
    expect(source.judged).toEqual(["k", "k"]);
    const second = table.take("k");
    table.startAsk("k");
    expect(table.askOf("k")).not.toBe(stale);
    table.failed("k", stale); // an answer to the first ask would be too late: nothing happens
    table.granted("k", 2);
    expect(await second).toBe(true);
    expect(source.judged.length).toBe(2);
  });

  it("keeps a late grant for the key, or gives it back once the key is forgotten", async () => {
    const { source, table } = setup(2);
    const waiting = table.take("k");
    table.startAsk("k");
    table.failed("k", table.askOf("k"));
    expect(await waiting).toBe(true);
    expect(table.size).toBe(0);
    table.granted("k", 2);
    expect(source.backs).toEqual([["k", 2]]);
  });

  it("spends leased tokens while the source is unavailable, and judges the rest by the fallback at once", async () => {
    const { source, table } = setup(2);
    const first = table.take("k");
    table.startAsk("k");
    table.granted("k", 2);
    expect(await first).toBe(true);
    source.available = false;
    source.verdict = false;
    expect([table.take("k"), table.take("k"), table.takeNow("k")]).toEqual([true, false, false]);
    expect(source.judged).toEqual(["k", "k"]);
    expect(source.wants).toEqual(["k"]);
  });

  it("answers takeNow at once by the fallback while the key's batch is asked for", () => {
    const { source, table } = setup(2);
    expect(table.takeNow("k")).toBe(true);
    table.startAsk("k");
    expect(table.takeNow("k")).toBe(true);
    expect(source.judgedNow).toEqual(["k", "k"]);
    expect(source.wants).toEqual(["k"]); // one ask out
    table.granted("k", 2);
    expect(table.takeNow("k")).toBe(true);
    expect(source.judgedNow.length).toBe(2);
  });

  it("gives unspent tokens back after LEASE_MS at the sweep, and says when it holds leases and when none", async () => {
    const { source, table } = setup(4);
    const first = table.take("k");
    expect(source.actives).toEqual([true]);
    table.startAsk("k");
    table.granted("k", 4);
    expect(await first).toBe(true);
    await source.clock.advance(LEASE_MS - 1);
    table.sweep();
    expect(source.backs).toEqual([]);
    await source.clock.advance(1);
    table.sweep();
    expect(source.backs).toEqual([["k", 3]]);
    expect(table.size).toBe(0);
    expect(source.actives).toEqual([true, false]);
  });

  it("asks for the next batch when half of one is left with askEarly, never on a dry key", async () => {
    const { source, table } = setup(4, { rate: 10, burst: 100 }, { askEarly: true });
    const first = table.take("k");
    table.startAsk("k");
    table.granted("k", 4);
    expect(await first).toBe(true); // three left
    expect(table.take("k")).toBe(true); // two left: not less than half
    expect(source.wants).toEqual(["k"]);
    expect(table.take("k")).toBe(true); // one left
    expect(source.wants).toEqual(["k", "k"]);
    table.startAsk("k");
    table.granted("k", 1); // short: dry
    expect([table.take("k"), table.take("k"), table.take("k")]).toEqual([true, true, false]);
    expect(source.wants).toEqual(["k", "k"]);
  });

  it("frees a tenth of a full table, the oldest keys nobody waits on, their tokens back", async () => {
    const { source, table } = setup(2, { rate: 10, burst: 100 }, { maxKeys: 10 });
    const waiting = table.take("k0"); // k0 waits: it stays
    for (let i = 1; i < 10; i++) {
      const answer = table.take(`k${i}`);
      table.startAsk(`k${i}`);
      table.granted(`k${i}`, 2);
      await answer;
    }
    expect(table.size).toBe(10);
    expect(table.take("new")).toBeInstanceOf(Promise);
    expect(source.backs).toEqual([["k1", 1]]);
    expect(table.size).toBe(10);
    table.startAsk("k0");
    table.granted("k0", 2);
    expect(await waiting).toBe(true);
  });

  it("frees the least recently granted keys first with orderByGrant", async () => {
    for (const [orderByGrant, freed] of [[false, "a"], [true, "b"]] as const) {
      const { source, table } = setup(2, { rate: 10, burst: 100 }, { maxKeys: 2, orderByGrant });
      const answers = [table.take("a"), table.take("b")];
      table.startAsk("a");
      table.startAsk("b");
      table.granted("b", 2);
      table.granted("a", 2);
      await Promise.all(answers);
      void table.take("c");
      expect(source.backs.map(([key]) => key)).toEqual([freed]);
    }
  });

  it("judges a new key by the fallback when every key of a full table waits on an answer", () => {
    const { source, table } = setup(2, { rate: 10, burst: 100 }, { maxKeys: 10 });
    for (let i = 0; i < 10; i++) void table.take(`k${i}`);
    expect(table.take("one-more")).toBe(true);
    expect(source.judged).toEqual(["one-more"]);
    expect(table.size).toBe(10);
  });

  it("judges whoever waits by the fallback and forgets every lease when the source is lost", async () => {
    const { source, table } = setup(2);
    const answers = [...takeAll(table, "a", 2), table.take("b")];
    source.verdict = false;
    table.lose();
    expect(await Promise.all(answers)).toEqual([false, false, false]);
    expect(table.size).toBe(0);
    expect(source.actives).toEqual([true, false]);
  });
});

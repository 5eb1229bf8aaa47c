/**
 * Rate limits counted across the processes of one host, in memory: the primary's
 * RateAuthority and workers' RateLeases wired by a fake channel (an answer 1 ms after
 * each message), on a fake clock. The host admits one burst in all; leases serve
 * without a message per request; a turn's keys go in one message; unused tokens go
 * back; a dry bucket is refused without asking; a late or lost primary leaves each
 * worker its share; the tables stay bounded; a reload starts new counts.
 */
import { describe, expect, it } from "vitest";
import { FakeClock } from "../helpers/fake-clock.ts";
import { RateAuthority } from "../../src/cluster/rate-authority.ts";
import { RateLeases } from "../../src/cluster/rate-leases.ts";
import { ASK_TIMEOUT_MS, DRY_MS, LEASE_MS, WorkerLeaseTable } from "../../src/cluster/rate-lease-table.ts";
import type { RateAsk } from "../../src/cluster/rate-messages.ts";
import type { RateLimitSpec, RateStore } from "../../src/flow/rate-store.ts";
import { compileFlow, inputOf } from "../../src/flow/flow.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

const CONFIG = {};
const PLACE = { generation: 1, config: CONFIG, where: "t0.0" };

/** A primary and its workers on one fake clock; `answers: false` makes a primary that never answers. */
function host(workers: number, opts: { answers?: boolean } = {}) {
  const clock = new FakeClock();
  const authority = new RateAuthority(clock);
  const sent: RateAsk[] = [];
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (msg: string) => void warnings.push(msg) };
  const worker = (): RateLeases => {
    const leases: RateLeases = new RateLeases({
      clock,
      workers,
      log,
      send: (ask) => {
        sent.push(ask);
        if (opts.answers !== false) clock.setTimeout(() => leases.grant(authority.answer(ask)), 1);
      },
    });
    leases.adopt(CONFIG, 1);
    return leases;
  };
  return { clock, authority, sent, warnings, worker };
}

/** Takes `n` tokens at once (one turn) and lets the answers come: the verdicts in order. */
async function takeAll(clock: FakeClock, store: RateStore, key: string, n: number): Promise<boolean[]> {
  const answers = Array.from({ length: n }, () => store.take(key));
  await clock.advance(10);
  return await Promise.all(answers);
}

const admitted = (verdicts: boolean[]) => verdicts.filter(Boolean).length;

describe("RateAuthority and RateLeases", () => {
  it("admits one burst over the primary and two workers together, never one each", async () => {
    const h = host(3);
    const limit: RateLimitSpec = { rate: 1 / 60, burst: 10 };
    const primary = h.authority.open(limit, PLACE);
    const [w1, w2] = [h.worker().open(limit, PLACE), h.worker().open(limit, PLACE)];
    const verdicts = [
      ...[1, 2, 3].map(() => primary.take("k") as boolean),
      ...(await takeAll(h.clock, w1, "k", 6)),
      ...(await takeAll(h.clock, w2, "k", 6)),
      ...[1, 2].map(() => primary.take("k") as boolean),
      ...(await takeAll(h.clock, w1, "k", 3)),
    ];
    expect(admitted(verdicts)).toBe(10);
    // Other keys have their own buckets.
    expect(admitted(await takeAll(h.clock, w2, "other", 12))).toBe(10);
  });

  it("serves a lease without a message per request: a batch is a share of the burst, at most a lease's worth of rate", async () => {
    const h = host(2);
    const store = h.worker().open({ rate: 100, burst: 100 }, PLACE) as WorkerLeaseTable;
    expect(store.batch).toBe(25); // burst / (2 * 2 processes)
    expect(new WorkerLeaseTable("x", { rate: 2, burst: 100 }, 2, h.worker()).batch).toBe(2); // rate * LEASE_MS
    expect(new WorkerLeaseTable("x", { rate: 100, burst: 1 }, 2, h.worker()).batch).toBe(1); // at least one
    expect(await takeAll(h.clock, store, "k", 1)).toEqual([true]);
    expect(h.sent.length).toBe(1);
    // The other 24 tokens of the lease answer at once, without a message.
    expect(Array.from({ length: 24 }, () => store.take("k"))).toEqual(Array(24).fill(true));
    expect(h.sent.length).toBe(1);
    expect(store.take("k")).toBeInstanceOf(Promise);
  });

  it("asks for all the keys of a turn in one message, however many", async () => {
    const h = host(2);
    const store = h.worker().open({ rate: 1, burst: 5 }, PLACE);
    const answers = Array.from({ length: 1000 }, (_, i) => store.take(`client-${i}`));
    await h.clock.advance(10);
    expect(await Promise.all(answers)).toEqual(Array(1000).fill(true));
    expect(h.sent.length).toBe(1);
    expect(h.sent[0].want.length).toBe(1000);
  });

  it("asks for as many tokens as requests wait when that is more than a batch", async () => {
    const h = host(2);
    const limit = { rate: 1 / 60, burst: 4 };
    const store = h.worker().open(limit, PLACE) as WorkerLeaseTable;
    const primary = h.authority.open(limit, PLACE);
    expect(store.batch).toBe(1); // the rate brings in less than a token per lease
    expect(await takeAll(h.clock, store, "k", 3)).toEqual([true, true, true]);
    expect(h.sent.map((m) => m.want)).toEqual([[["1/t0.0", "k", 3]]]);
    expect([primary.take("k"), primary.take("k")]).toEqual([true, false]);
    expect(store.size).toBe(0); // nothing left in the lease: nothing to remember
  });

  it("gives the rest of a batch back after LEASE_MS (found by the sweep, every LEASE_MS / 2)", async () => {
    const h = host(2);
    const limit = { rate: 8, burst: 8 };
    const store = h.worker().open(limit, PLACE) as WorkerLeaseTable;
    expect(store.batch).toBe(2);
    expect(await takeAll(h.clock, store, "k", 1)).toEqual([true]);
    await h.clock.advance(LEASE_MS - 20);
    expect(h.sent.flatMap((m) => m.back)).toEqual([]);
    await h.clock.advance(LEASE_MS / 2 + 20);
    expect(h.sent.flatMap((m) => m.back)).toEqual([["1/t0.0", "k", 1]]);
    expect(store.size).toBe(0);
  });

  it("refuses at once, without a message, for DRY_MS after the primary said the bucket is dry", async () => {
    const h = host(2);
    const limit = { rate: 1 / 60, burst: 2 };
    const primary = h.authority.open(limit, PLACE);
    const store = h.worker().open(limit, PLACE);
    expect([primary.take("k"), primary.take("k")]).toEqual([true, true]);
    expect(await takeAll(h.clock, store, "k", 3)).toEqual([false, false, false]);
    expect(h.sent.length).toBe(1);
    expect(store.take("k")).toBe(false);
    expect(h.sent.length).toBe(1);
    await h.clock.advance(DRY_MS);
    expect(store.take("k")).toBeInstanceOf(Promise);
  });

  it("judges on its share (burst / workers) when the primary does not answer in time", async () => {
    const h = host(2, { answers: false });
    const store = h.worker().open({ rate: 1 / 60, burst: 4 }, PLACE);
    const answers = Array.from({ length: 3 }, () => store.take("k"));
    await h.clock.advance(ASK_TIMEOUT_MS);
    expect(await Promise.all(answers)).toEqual([true, true, false]);
  });

  it("counts alone with its share once the primary is gone, and says so once", async () => {
    const h = host(2, { answers: false });
    const leases = h.worker();
    const store = leases.open({ rate: 1 / 60, burst: 6 }, PLACE);
    const waiting = store.take("k");
    await h.clock.advance(1);
    leases.lose();
    leases.lose();
    expect(await waiting).toBe(true);
    expect([store.take("k"), store.take("k"), store.take("k")]).toEqual([true, true, false]);
    expect(h.warnings.length).toBe(1);
    expect(h.sent.length).toBe(1);
  });

  it("keeps the worker's table bounded: keys beyond it are judged on the share", async () => {
    const h = host(2);
    const leases = h.worker();
    const table = new WorkerLeaseTable("1/t0.0", { rate: 1, burst: 2 }, 2, leases, 10);
    const answers = Array.from({ length: 50 }, (_, i) => table.take(`client-${i}`));
    expect(table.size).toBe(10);
    expect(answers.filter((a) => a instanceof Promise).length).toBe(10);
    await h.clock.advance(10);
    expect(await Promise.all(answers)).toEqual(Array(50).fill(true));
    expect(table.size).toBe(0); // each lease's one token was used: nothing left to remember
  });

  it("starts new counts for a new generation (a reload), and forgets a table once its buckets are full again", async () => {
    const h = host(2);
    const limit = { rate: 1, burst: 1 };
    const old = h.authority.open(limit, PLACE);
    expect([old.take("k"), old.take("k")]).toEqual([true, false]);
    const next = h.authority.open(limit, { ...PLACE, generation: 2 });
    expect(next.take("k")).toBe(true);
    expect(old.take("k")).toBe(false); // the old generation's connections keep their counts
    expect(h.authority.size).toBe(2);
    await h.clock.advance(1000); // burst / rate: every bucket is full again
    h.authority.open(limit, { ...PLACE, where: "t1.0" });
    expect(h.authority.size).toBe(1);
    expect([old.take("k"), old.take("k")]).toEqual([true, false]);
  });
});

describe("a flow with a shared rate-limit", () => {
  it("answers at once while the lease holds tokens, waits only when it asks", async () => {
    const h = host(2);
    const leases = h.worker();
    const flow = compileFlow([
      { when: null, action: { kind: "rate-limit", rate: 100, burst: 100, key: "{{conn.ip}}" } },
      { when: null, action: { kind: "proxy", pool: "web" } },
    ], { log: silentLogger, limits: (limit) => leases.open(limit, PLACE) });
    const input = inputOf({ "conn.ip": "10.0.0.1" });
    const first = flow.runNow(input);
    expect(first).toBeInstanceOf(Promise);
    await h.clock.advance(10);
    expect((await first).outcome.kind).toBe("proxy");
    const second = flow.runNow(input);
    expect(second).not.toBeInstanceOf(Promise);
    expect((second as Awaited<typeof first>).outcome.kind).toBe("proxy");
    // UDP's synchronous flow never waits.
    expect(flow.runSync(inputOf({ "conn.ip": "10.0.0.2" })).outcome.kind).toBe("proxy");
  });
});

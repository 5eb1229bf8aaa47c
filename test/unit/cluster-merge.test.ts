import { describe, expect, it } from "vitest";
import { mergeSnapshots } from "../../src/cluster/merge.ts";
import type { StatusSnapshot } from "../../src/control/snapshot.ts";

function snap(worker: number, over: Partial<StatusSnapshot> = {}): StatusSnapshot {
  const target = (t: string, healthy: boolean, active: number, total: number) => ({
    target: t,
    address: t,
    healthy,
    latencyMs: 1,
    activeConnections: active,
    totalConnections: total,
    lastError: null,
  });
  return {
    version: "x",
    runtime: "bun",
    uptimeSeconds: 5,
    config: { generation: 1, loadedAt: "t" },
    listeners: [],
    pools: {
      web: {
        strategy: "serial",
        targets: [target("10.0.0.1:80", worker === 0, 1, 10)],
        fallback: [target("10.0.0.9:80", true, 0, 2)],
      },
    },
    bytes: { upstream: 100, downstream: 1000 },
    detections: { tls: 1 },
    requests: [{ route: "r", pool: "web", code: 200, count: 3 }],
    workers: [{ worker, pid: 100 + worker, connections: 7, open: 1 }],
    ...over,
  };
}

describe("mergeSnapshots", () => {
  it("adds up the workers' counters and keeps the primary's verdicts", () => {
    const m = mergeSnapshots(snap(0), [
      snap(1, {
        requests: [{ route: "r", pool: "web", code: 200, count: 2 }, { route: "", pool: "", code: 404, count: 1 }],
      }),
      snap(2, { detections: { http: 4 } }),
    ]);
    const t = m.pools.web.targets[0];
    expect(t.healthy).toBe(true); // the primary's say, not worker 1's
    expect(t.activeConnections).toBe(3);
    expect(t.totalConnections).toBe(30);
    expect(m.pools.web.fallback[0].totalConnections).toBe(6);
    expect(m.bytes).toEqual({ upstream: 300, downstream: 3000 });
    expect(m.detections).toEqual({ tls: 2, http: 4 });
    expect(m.requests).toEqual([
      { route: "r", pool: "web", code: 200, count: 8 },
      { route: "", pool: "", code: 404, count: 1 },
    ]);
    expect(m.workers.map((w) => w.worker)).toEqual([0, 1, 2]);
  });

  it("adds up each target's HTTP responses and 5xx", () => {
    const counted = (worker: number, requests: number, errors: number) => {
      const s = snap(worker);
      Object.assign(s.pools.web.targets[0], { requests, errors });
      return s;
    };
    const m = mergeSnapshots(counted(0, 0, 0), [counted(1, 5, 1), counted(2, 7, 2)]);
    expect(m.pools.web.targets[0]).toMatchObject({ requests: 12, errors: 3 });
    // Not counted anywhere (an L4 pool's snapshot from an older vane): stays absent.
    expect(m.pools.web.fallback[0].requests).toBeUndefined();
  });

  it("ignores targets a worker still has from an older config, and does not change its inputs", () => {
    const primary = snap(0);
    const old = snap(1, { pools: { gone: { strategy: "serial", targets: [], fallback: [] } } });
    const m = mergeSnapshots(primary, [old]);
    expect(Object.keys(m.pools)).toEqual(["web"]);
    expect(m.pools.web.targets[0].totalConnections).toBe(10);
    expect(primary.workers.length).toBe(1);
  });
});

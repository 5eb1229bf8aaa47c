import { beforeEach, describe, expect, it } from "vitest";
import { parseEndpoint } from "../../src/config/target.ts";
import { DEFAULT_HEALTH, DEFAULT_OUTLIER, type HealthConfig, type OutlierConfig } from "../../src/config/model.ts";
import { HealthRegistry, type TargetHealth } from "../../src/health/registry.ts";
import { createLogger } from "../../src/telemetry/logger.ts";

interface Line {
  level: string;
  msg: string;
  pool?: string;
  target?: string;
  reason?: string;
  duration?: string;
}

let lines: Line[];
let clock: number;
let registry: HealthRegistry;

beforeEach(() => {
  lines = [];
  clock = 1_000;
  registry = new HealthRegistry(createLogger("json", { sink: (l) => lines.push(JSON.parse(l)) }), () => clock);
});

const TCP: HealthConfig = { ...DEFAULT_HEALTH, check: "tcp", rise: 1, fall: 1 };
const OUTLIER: OutlierConfig = { ...DEFAULT_OUTLIER, consecutive5xx: 3, consecutiveResets: 2, baseEjectionMs: 10_000 };

/** A pool of `n` targets, up by their checks, judged by outlier detection with `config`. */
function pool(n: number, config: OutlierConfig = OUTLIER): TargetHealth[] {
  const list = Array.from(
    { length: n },
    (_, i) => registry.entry("web", "primary", parseEndpoint(`10.0.0.${i + 1}:80`), TCP),
  );
  for (const e of list) registry.initial(e, { ok: true, latencyMs: 1 });
  registry.outlierDetection("web", config, list);
  return list;
}

const answer = (e: TargetHealth, status: number, times = 1) => {
  for (let i = 0; i < times; i++) registry.answered(e, status);
};
const ejections = () => lines.filter((l) => l.msg === "target ejected");

describe("outlier detection: consecutive 5xx", () => {
  it("ejects a target after N 5xx in a row, for the base time, however its checks judge it", () => {
    const [a, b] = pool(4);
    answer(a, 500, 2);
    expect(a.alive(clock)).toBe(true);
    answer(a, 503);
    expect(a.up).toBe(true);
    expect(a.alive(clock)).toBe(false);
    expect(b.alive(clock)).toBe(true);
    expect(ejections()).toEqual([
      expect.objectContaining({
        level: "warn",
        pool: "web",
        target: "10.0.0.1:80",
        reason: "3 consecutive 5xx",
        duration: "10s",
      }),
    ]);
    expect(a.outlier!.ejections).toEqual({ "5xx": 1, resets: 0 });
  });

  it("counts only 5xx in a row: any other answer starts the run again", () => {
    const [a] = pool(4);
    answer(a, 500, 2);
    answer(a, 404);
    answer(a, 500, 2);
    answer(a, 200);
    answer(a, 599, 2);
    answer(a, 600);
    expect(a.alive(clock)).toBe(true);
    expect(ejections()).toEqual([]);
  });

  it("brings the target back when its time is up, with its run starting afresh, and logs it", () => {
    const [a] = pool(4);
    answer(a, 500, 3);
    clock += 9_999;
    expect(a.alive(clock)).toBe(false);
    clock += 1;
    expect(a.alive(clock)).toBe(true);
    expect(a.ejectedUntil).toBe(0);
    expect(lines.at(-1)).toMatchObject({ msg: "target back from ejection", target: "10.0.0.1:80", reason: "5xx" });
    answer(a, 500, 2);
    expect(a.alive(clock)).toBe(true);
  });
});

describe("outlier detection: ejection time", () => {
  it("lasts k × base for the k-th ejection in a row, capped by max-ejection", () => {
    const [a] = pool(4, { ...OUTLIER, maxEjectionMs: 25_000 });
    const durations: string[] = [];
    for (let k = 1; k <= 4; k++) {
      answer(a, 500, 3);
      durations.push(ejections().at(-1)!.duration!);
      // Back at once after its time, and failing again straight away: no clean period.
      clock = a.ejectedUntil;
      expect(a.alive(clock)).toBe(true);
    }
    expect(durations).toEqual(["10s", "20s", "25s", "25s"]);
  });

  it("lets the multiplier decay by one per base period served cleanly", () => {
    const [a] = pool(4, { ...OUTLIER, maxEjectionMs: 100_000 });
    for (let k = 1; k <= 3; k++) {
      answer(a, 500, 3);
      clock = a.ejectedUntil;
      a.alive(clock);
    }
    // Three ejections; two base periods in service take it down to one: the next is the second.
    clock += 20_000;
    answer(a, 500, 3);
    expect(ejections().map((l) => l.duration)).toEqual(["10s", "20s", "30s", "20s"]);
  });
});

describe("outlier detection: resets and max-ejected", () => {
  it("ejects after N connect failures, resets or timeouts in a row; an answer or a clean connect ends the run", () => {
    const [a, b] = pool(4);
    registry.passiveFailure(a, "refused", "connect");
    registry.passiveSuccess(a);
    registry.passiveFailure(a, "refused", "connect");
    expect(a.outlier!.runResets).toBe(1);
    // A reset after a connect holds the run through the next connect: only an answer ends it.
    registry.passiveFailure(b, "closed", "reset");
    registry.passiveSuccess(b);
    registry.passiveFailure(b, "no response", "timeout");
    expect(b.ejectedUntil).toBeGreaterThan(clock);
    expect(ejections().at(-1)).toMatchObject({ target: "10.0.0.2:80" });
    expect(b.outlier!.ejections).toEqual({ "5xx": 0, resets: 1 });
  });

  it("never ejects more than the max-ejected share, and never the last target", () => {
    const four = pool(4);
    for (const e of four) answer(e, 500, 3);
    // 50% of 4: two out, two serving.
    expect(four.filter((e) => e.alive(clock))).toHaveLength(2);
    // Another failure of a target still in asks again once the others are back.
    clock += 10_000;
    answer(four[2], 500);
    expect(four[2].alive(clock)).toBe(false);

    registry = new HealthRegistry(createLogger("json", { sink: () => {} }), () => clock);
    const one = pool(1, { ...OUTLIER, maxEjectedPercent: 100 });
    answer(one[0], 500, 10);
    expect(one[0].alive(clock)).toBe(true);
    const two = pool(2, { ...OUTLIER, maxEjectedPercent: 100 }).slice(0, 2);
    for (const e of two) answer(e, 500, 3);
    expect(two.filter((e) => e.alive(clock))).toHaveLength(1);
  });

  it("keeps its state over a reload with the same settings, and drops it with outlier off", () => {
    const [a, b, c, d] = pool(4);
    answer(a, 500, 3);
    registry.outlierDetection("web", { ...OUTLIER }, [a, b, c, d]);
    expect(a.alive(clock)).toBe(false);
    registry.outlierDetection("web", null, [a, b, c, d]);
    expect(a.outlier).toBe(null);
    expect(a.alive(clock)).toBe(true);
  });
});

import { beforeEach, describe, expect, it } from "vitest";
import { parseEndpoint } from "../../src/config/target.ts";
import { DEFAULT_HEALTH, type HealthConfig } from "../../src/config/model.ts";
import { HealthRegistry, type TargetHealth } from "../../src/health/registry.ts";
import { createLogger } from "../../src/telemetry/logger.ts";

interface Line {
  level: string;
  msg: string;
  pool?: string;
  role?: string;
  target?: string;
  reason?: string;
}

let lines: Line[];
let clock: number;
let registry: HealthRegistry;

beforeEach(() => {
  lines = [];
  clock = 1_000;
  registry = new HealthRegistry(createLogger("json", { sink: (l) => lines.push(JSON.parse(l)) }), () => clock);
});

const TCP: HealthConfig = { ...DEFAULT_HEALTH, check: "tcp", intervalMs: 2_000, rise: 3, fall: 3 };
const NONE: HealthConfig = { ...DEFAULT_HEALTH, check: "none", intervalMs: 2_000 };

function entry(health: HealthConfig = TCP, target = "10.0.0.1:80"): TargetHealth {
  return registry.entry("web", "primary", parseEndpoint(target), health);
}

const messages = () => lines.map((l) => l.msg);

describe("HealthRegistry: entries", () => {
  it("returns the same entry for the same pool, role and target, and separate ones otherwise", () => {
    const a = entry();
    expect(entry()).toBe(a);
    expect(registry.entry("web", "fallback", parseEndpoint("10.0.0.1:80"), TCP)).not.toBe(a);
    expect(registry.entry("api", "primary", parseEndpoint("10.0.0.1:80"), TCP)).not.toBe(a);
    expect(registry.all()).toHaveLength(3);
  });

  it("starts an actively checked target down, with nothing measured", () => {
    const e = entry();
    expect(e.up).toBe(false);
    expect(e.alive(clock)).toBe(false);
    expect(e.latencyMs).toBeNull();
    expect(lines).toEqual([]);
  });
});

describe("HealthRegistry: the initial check", () => {
  it("a passing initial check puts the target up and logs it once", () => {
    const e = entry();
    registry.initial(e, { ok: true, latencyMs: 12 });
    expect(e.up).toBe(true);
    expect(e.alive(clock)).toBe(true);
    expect(e.latencyMs).toBe(12);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      msg: "target up",
      pool: "web",
      role: "primary",
      target: "10.0.0.1:80",
    });
  });

  it("a failing initial check leaves it down and logs ONE 'target down' with the reason", () => {
    const e = entry();
    registry.initial(e, { ok: false, reason: "ECONNREFUSED" });
    expect(e.up).toBe(false);
    expect(e.alive(clock)).toBe(false);
    expect(e.lastError).toBe("ECONNREFUSED");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "warn",
      msg: "target down",
      pool: "web",
      role: "primary",
      target: "10.0.0.1:80",
      reason: "ECONNREFUSED",
    });
    // Further failures of a target that is already down say nothing more.
    registry.failure(e, "ECONNREFUSED");
    registry.failure(e, "ECONNREFUSED");
    expect(lines).toHaveLength(1);
  });
});

describe("HealthRegistry: rise and fall", () => {
  it("a down target comes up only after `rise` consecutive successes", () => {
    const e = entry();
    registry.initial(e, { ok: false, reason: "refused" });
    registry.success(e, 5);
    expect(e.up).toBe(false);
    registry.success(e, 5);
    expect(e.up).toBe(false);
    registry.success(e, 5);
    expect(e.up).toBe(true);
    expect(messages()).toEqual(["target down", "target up"]);
    expect(lines[1].reason).toContain("3");
  });

  it("a failure in the middle of a run of successes starts the count again", () => {
    const e = entry();
    registry.initial(e, { ok: false, reason: "refused" });
    registry.success(e, 5);
    registry.success(e, 5);
    registry.failure(e, "refused");
    registry.success(e, 5);
    registry.success(e, 5);
    expect(e.up).toBe(false);
    registry.success(e, 5);
    expect(e.up).toBe(true);
    expect(messages()).toEqual(["target down", "target up"]);
  });

  it("an up target goes down only after `fall` consecutive failures, logged once with the error", () => {
    const e = entry();
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.failure(e, "timeout");
    registry.failure(e, "timeout");
    expect(e.up).toBe(true);
    registry.failure(e, "connect timed out");
    expect(e.up).toBe(false);
    expect(e.lastError).toBe("connect timed out");
    registry.failure(e, "connect timed out");
    expect(messages()).toEqual(["target up", "target down"]);
    expect(lines[1]).toMatchObject({ level: "warn", reason: "connect timed out" });
  });

  it("a success in the middle of a run of failures starts the count again", () => {
    const e = entry();
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.failure(e, "x");
    registry.failure(e, "x");
    registry.success(e, 1);
    registry.failure(e, "x");
    registry.failure(e, "x");
    expect(e.up).toBe(true);
    registry.failure(e, "x");
    expect(e.up).toBe(false);
  });

  it("logs every transition exactly once over several up/down cycles", () => {
    const e = entry({ ...TCP, rise: 2, fall: 2 });
    registry.initial(e, { ok: true, latencyMs: 1 });
    for (let cycle = 0; cycle < 3; cycle++) {
      for (let i = 0; i < 4; i++) registry.failure(e, "down");
      expect(e.up).toBe(false);
      for (let i = 0; i < 4; i++) registry.success(e, 1);
      expect(e.up).toBe(true);
    }
    expect(messages()).toEqual([
      "target up",
      "target down",
      "target up",
      "target down",
      "target up",
      "target down",
      "target up",
    ]);
  });

  it("with rise 1 and fall 1 a single outcome flips the state", () => {
    const e = entry({ ...TCP, rise: 1, fall: 1 });
    registry.initial(e, { ok: false, reason: "x" });
    registry.success(e, 1);
    expect(e.up).toBe(true);
    registry.failure(e, "x");
    expect(e.up).toBe(false);
  });
});

describe("HealthRegistry: latency", () => {
  it("takes the first sample as it is, then moves toward new samples", () => {
    const e = entry();
    registry.initial(e, { ok: true, latencyMs: 100 });
    expect(e.latencyMs).toBe(100);
    registry.success(e, 200);
    const after1 = e.latencyMs!;
    expect(after1).toBeGreaterThan(100);
    expect(after1).toBeLessThan(200);
    registry.success(e, 200);
    const after2 = e.latencyMs!;
    expect(after2).toBeGreaterThan(after1);
    expect(after2).toBeLessThan(200);
    for (let i = 0; i < 50; i++) registry.success(e, 200);
    expect(e.latencyMs!).toBeCloseTo(200, 0);
  });

  it("one outlier does not replace the average", () => {
    const e = entry();
    registry.initial(e, { ok: true, latencyMs: 10 });
    for (let i = 0; i < 10; i++) registry.success(e, 10);
    registry.success(e, 1000);
    expect(e.latencyMs!).toBeGreaterThan(10);
    expect(e.latencyMs!).toBeLessThan(1000);
  });

  it("failures leave the measured latency alone", () => {
    const e = entry();
    registry.initial(e, { ok: true, latencyMs: 40 });
    registry.failure(e, "x");
    registry.passiveFailure(e, "x");
    expect(e.latencyMs).toBe(40);
  });
});

describe("HealthRegistry: passive failures", () => {
  it("take an up target down at once, whatever `fall` says, and log once", () => {
    const e = entry({ ...TCP, fall: 5 });
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.passiveFailure(e, "ECONNREFUSED");
    expect(e.up).toBe(false);
    expect(e.alive(clock)).toBe(false);
    expect(e.lastError).toBe("ECONNREFUSED");
    registry.passiveFailure(e, "ECONNREFUSED");
    registry.failure(e, "ECONNREFUSED");
    expect(messages()).toEqual(["target up", "target down"]);
    expect(lines[1].reason).toContain("ECONNREFUSED");
  });

  it("leave it to the checks to bring the target back after `rise` successes", () => {
    const e = entry({ ...TCP, rise: 2 });
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.passiveFailure(e, "refused");
    registry.success(e, 1);
    expect(e.up).toBe(false);
    registry.success(e, 1);
    expect(e.up).toBe(true);
    expect(messages()).toEqual(["target up", "target down", "target up"]);
  });
});

describe("HealthRegistry: passive settings", () => {
  const passive = (failures: number, target = "10.0.0.1:80") =>
    registry.entry("web", "primary", parseEndpoint(target), TCP, { failures, on: ["connect", "timeout", "reset"] });

  it("takes the target out after `failures` in a row, a success in between starting over", () => {
    const e = passive(3);
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.passiveFailure(e, "refused");
    registry.passiveFailure(e, "refused");
    registry.passiveSuccess(e);
    registry.passiveFailure(e, "refused");
    registry.passiveFailure(e, "refused");
    expect(e.up).toBe(true);
    registry.passiveFailure(e, "refused");
    expect(e.up).toBe(false);
    expect(messages()).toEqual(["target up", "target down"]);
  });

  it("never takes the target out with failures: 0 (passive health off)", () => {
    const e = passive(0);
    registry.initial(e, { ok: true, latencyMs: 1 });
    for (let i = 0; i < 10; i++) registry.passiveFailure(e, "refused");
    expect(e.up).toBe(true);
    expect(e.lastError).toBe("refused");
  });

  it("keeps an entry across a reload with the same settings, and starts afresh when they change", () => {
    const e = passive(1);
    registry.initial(e, { ok: true, latencyMs: 7 });
    e.totalConnections = 5;
    expect(passive(1)).toBe(e);
    const changed = passive(2);
    expect(changed).not.toBe(e);
    expect(changed.up).toBe(false);
    expect(changed.totalConnections).toBe(0);
  });

  it("forgets entries a reload dropped", () => {
    const a = passive(1, "10.0.0.1:80");
    const b = passive(1, "10.0.0.2:80");
    registry.retain([a]);
    expect(registry.all()).toEqual([a]);
    expect(passive(1, "10.0.0.2:80")).not.toBe(b);
  });
});

describe("HealthRegistry: timeouts and resets", () => {
  const ALL = ["connect", "timeout", "reset"] as const;
  const counting = (failures: number, on: readonly ("connect" | "timeout" | "reset")[] = ALL, target = "10.0.0.1:80") =>
    registry.entry("web", "primary", parseEndpoint(target), TCP, { failures, on: [...on] });

  it("take a target out like a failed connect, saying why in lastError and the log", () => {
    const e = counting(1);
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.passiveFailure(e, "no response within 30s", "timeout");
    expect(e.up).toBe(false);
    expect(e.lastError).toBe("no response within 30s");
    expect(lines.at(-1)).toMatchObject({ msg: "target down", reason: "no response within 30s" });
  });

  it("are not ended by the next connect (a hung target accepts them all), only by an answer", () => {
    const e = counting(2);
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.passiveFailure(e, "no response within 1s", "timeout");
    registry.passiveSuccess(e);
    registry.passiveFailure(e, "upstream closed before responding", "reset");
    expect(e.up).toBe(false);

    const g = counting(2, ALL, "10.0.0.2:80");
    registry.initial(g, { ok: true, latencyMs: 1 });
    registry.passiveFailure(g, "no response within 1s", "timeout");
    registry.passiveSuccess(g, true);
    registry.passiveFailure(g, "no response within 1s", "timeout");
    expect(g.up).toBe(true);
  });

  it("count only the kinds passive.on names, yet always show as lastError", () => {
    const e = counting(1, ["connect"]);
    registry.initial(e, { ok: true, latencyMs: 1 });
    for (let i = 0; i < 5; i++) registry.passiveFailure(e, "no response within 1s", "timeout");
    expect(e.up).toBe(true);
    expect(e.lastError).toBe("no response within 1s");
    registry.passiveFailure(e, "ECONNREFUSED");
    expect(e.up).toBe(false);

    const quiet = counting(1, ["timeout"], "10.0.0.3:80");
    registry.initial(quiet, { ok: true, latencyMs: 1 });
    registry.passiveFailure(quiet, "ECONNREFUSED");
    registry.passiveFailure(quiet, "upstream closed before responding", "reset");
    expect(quiet.up).toBe(true);
  });

  it("tell the hook each kind, and an answer that ends a run", () => {
    const seen: Array<[string | null, string]> = [];
    registry.hooks.passive = (_e, error, kind) => seen.push([error, kind]);
    const e = counting(3);
    registry.initial(e, { ok: true, latencyMs: 1 });
    registry.passiveFailure(e, "refused");
    registry.passiveSuccess(e);
    registry.passiveFailure(e, "no response within 1s", "timeout");
    registry.passiveSuccess(e);
    registry.passiveSuccess(e, true);
    registry.passiveSuccess(e, true);
    expect(seen).toEqual([["refused", "connect"], [null, "connect"], ["no response within 1s", "timeout"], [
      null,
      "answer",
    ]]);
  });
});

describe("HealthRegistry: check none", () => {
  it("starts the target alive without any check", () => {
    const e = entry(NONE);
    expect(e.up).toBe(true);
    expect(e.alive(clock)).toBe(true);
    expect(lines).toEqual([]);
  });

  it("a passive failure benches it for intervalMs; it is alive again after", () => {
    const e = entry(NONE);
    clock = 10_000;
    registry.passiveFailure(e, "ECONNREFUSED");
    expect(e.alive(10_000)).toBe(false);
    expect(e.alive(11_999)).toBe(false);
    expect(e.alive(12_000)).toBe(true);
    expect(e.alive(50_000)).toBe(true);
    expect(messages()).toEqual(["target down"]);
  });

  it("another passive failure while benched extends the bench from that moment", () => {
    const e = entry(NONE);
    clock = 10_000;
    registry.passiveFailure(e, "refused");
    clock = 11_000;
    registry.passiveFailure(e, "refused");
    expect(e.alive(12_500)).toBe(false);
    expect(e.alive(13_000)).toBe(true);
    expect(messages()).toEqual(["target down"]);
  });

  it("a target benched again after its bench ended is logged down again", () => {
    // Back in service after the first bench, so the second passive failure is a new
    // transition to down and deserves its own line, like with active checks.
    const e = entry(NONE);
    clock = 10_000;
    registry.passiveFailure(e, "refused");
    expect(e.alive(12_000)).toBe(true);
    clock = 20_000;
    registry.passiveFailure(e, "refused again");
    expect(e.alive(20_000)).toBe(false);
    expect(lines.filter((l) => l.msg === "target down").map((l) => l.reason)).toEqual([
      "connect failed: refused",
      "connect failed: refused again",
    ]);
  });
});

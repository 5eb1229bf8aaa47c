/**
 * The HealthChecker in memory: targets are fake servers (test/helpers/fake-runtime.ts),
 * time is a FakeClock the tests advance, and the random first offsets come from a
 * fixed sequence. No socket, no real timer.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_HEALTH, type HealthConfig } from "../../src/config/model.ts";
import { parseEndpoint } from "../../src/config/target.ts";
import { HealthChecker } from "../../src/health/checker.ts";
import { HealthRegistry, type TargetHealth } from "../../src/health/registry.ts";
import { DnsCache } from "../../src/resolve/dns-cache.ts";
import { parseHosts } from "../../src/resolve/hosts.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { FakeClock, sequence } from "../helpers/fake-clock.ts";
import { bytes, type FakeConn } from "../helpers/fake-conn.ts";
import { FakeNetwork } from "../helpers/fake-runtime.ts";

interface Line {
  level: string;
  msg: string;
  target?: string;
  reason?: string;
}

const TCP: HealthConfig = { ...DEFAULT_HEALTH, check: "tcp", intervalMs: 2_000, timeoutMs: 500, rise: 2, fall: 3 };

let clock: FakeClock;
let net: FakeNetwork;
let lines: Line[];
let registry: HealthRegistry;
let checker: HealthChecker;

function makeChecker(random = sequence(0.5)): HealthChecker {
  const resolver = new TargetResolver(
    new DnsCache(() => Promise.reject(new Error("no DNS in this test")), parseHosts("")),
    new StaticNodeRegistry({}),
  );
  return new HealthChecker(net.runtime(), resolver, registry, { clock, random });
}

beforeEach(() => {
  clock = new FakeClock();
  net = new FakeNetwork(clock);
  lines = [];
  registry = new HealthRegistry(createLogger("json", { sink: (l) => lines.push(JSON.parse(l)) }), () => clock.now());
  checker = makeChecker();
});

afterEach(() => checker.stop());

function entry(target: string, health: HealthConfig = TCP): TargetHealth {
  return registry.entry("web", "primary", parseEndpoint(target), health);
}

/** A target that accepts connections (and closes them, as a TCP check does). */
const accept = (address: string) => net.listen(address, () => {});

/** When each connect to `address` happened, by the fake clock. */
function checksOf(address: string, times: Map<string, number[]>): number[] {
  return times.get(address) ?? [];
}

/** Records the clock's time at each connect, by address. */
function recordConnectTimes(): Map<string, number[]> {
  const times = new Map<string, number[]>();
  const connect = net.connectTcp.bind(net);
  net.connectTcp = (addr, ms) => {
    const key = `${addr.hostname}:${addr.port}`;
    times.set(key, [...(times.get(key) ?? []), clock.now()]);
    return connect(addr, ms);
  };
  return times;
}

describe("HealthChecker: timing", () => {
  it("starts each target's checks at a random offset within its interval, then checks every interval", async () => {
    checker.stop();
    checker = makeChecker(sequence(0.5, 0.25));
    const times = recordConnectTimes();
    accept("10.0.0.1:80");
    accept("10.0.0.2:80");
    const start = clock.now();
    checker.start([entry("10.0.0.1:80"), entry("10.0.0.2:80")]);
    await clock.advance(5_000);
    expect(checksOf("10.0.0.1:80", times).map((t) => t - start)).toEqual([1_000, 3_000, 5_000]);
    expect(checksOf("10.0.0.2:80", times).map((t) => t - start)).toEqual([500, 2_500, 4_500]);
  });

  it("checks nothing before the first offset has passed", async () => {
    accept("10.0.0.1:80");
    checker.start([entry("10.0.0.1:80")]);
    await clock.advance(999);
    expect(net.connects).toEqual([]);
    await clock.advance(1);
    expect(net.connects).toEqual(["10.0.0.1:80"]);
  });

  it("skips targets whose check is none", async () => {
    accept("10.0.0.1:80");
    checker.start([entry("10.0.0.1:80", { ...TCP, check: "none" })]);
    await clock.advance(10_000);
    expect(net.connects).toEqual([]);
    expect(clock.pending).toBe(0);
  });

  it("counts the next interval from the end of a check that timed out", async () => {
    const times = recordConnectTimes();
    net.hang("10.0.0.1:80");
    const start = clock.now();
    const e = entry("10.0.0.1:80");
    checker.start([e]);
    await clock.advance(1_000 + 500 + 2_000);
    // First at 1000 (offset 0.5 of 2000); it times out at 1500; the next starts at 3500.
    expect(checksOf("10.0.0.1:80", times).map((t) => t - start)).toEqual([1_000, 3_500]);
    expect(e.lastError).toBe("connect to 10.0.0.1:80 timed out after 500ms");
  });

  it("stop() cancels every pending check", async () => {
    accept("10.0.0.1:80");
    checker.start([entry("10.0.0.1:80"), entry("10.0.0.2:80")]);
    expect(clock.pending).toBe(2);
    checker.stop();
    expect(clock.pending).toBe(0);
    await clock.advance(10_000);
    expect(net.connects).toEqual([]);
  });

  it("a check that ends after stop() records nothing and schedules nothing", async () => {
    net.hang("10.0.0.1:80");
    const e = entry("10.0.0.1:80");
    checker.start([e]);
    await clock.advance(1_000); // the check is under way, waiting for its connect
    checker.stop();
    await clock.advance(10_000); // its connect times out now
    expect(e.failures).toBe(0);
    expect(e.lastError).toBeNull();
    expect(clock.pending).toBe(0);
  });
});

describe("HealthChecker: rise and fall", () => {
  it("puts a down target up after `rise` passing checks in a row", async () => {
    accept("10.0.0.1:80");
    const e = entry("10.0.0.1:80");
    checker.start([e]);
    await clock.advance(1_000);
    expect(e.up).toBe(false);
    expect(e.successes).toBe(1);
    await clock.advance(2_000);
    expect(e.up).toBe(true);
    expect(lines.map((l) => [l.msg, l.reason])).toEqual([["target up", "2 checks passed"]]);
  });

  it("takes an up target down after `fall` failed checks in a row, with the last error", async () => {
    accept("10.0.0.1:80");
    const e = entry("10.0.0.1:80");
    registry.initial(e, { ok: true, latencyMs: 1 });
    lines.length = 0;
    net.unlisten("10.0.0.1:80");
    checker.start([e]);
    await clock.advance(1_000 + 2 * 2_000 - 1);
    expect(e.failures).toBe(2);
    expect(e.up).toBe(true);
    await clock.advance(1);
    expect(e.up).toBe(false);
    expect(e.lastError).toBe("ECONNREFUSED: Connection refused (os error 111): 10.0.0.1:80");
    expect(lines.map((l) => [l.level, l.msg, l.target, l.reason])).toEqual([
      ["warn", "target down", "10.0.0.1:80", "ECONNREFUSED: Connection refused (os error 111): 10.0.0.1:80"],
    ]);
  });

  it("a pass between failures starts the failure run over", async () => {
    const e = entry("10.0.0.1:80");
    registry.initial(e, { ok: true, latencyMs: 1 });
    checker.start([e]);
    await clock.advance(1_000); // refused
    await clock.advance(2_000); // refused
    expect(e.failures).toBe(2);
    accept("10.0.0.1:80");
    await clock.advance(2_000); // passes
    expect(e.failures).toBe(0);
    net.unlisten("10.0.0.1:80");
    await clock.advance(2 * 2_000); // refused twice: still short of fall (3)
    expect(e.failures).toBe(2);
    expect(e.up).toBe(true);
  });

  it("a connect failing for lack of descriptors here does not count against the target", async () => {
    const e = entry("10.0.0.1:80");
    registry.initial(e, { ok: true, latencyMs: 1 });
    lines.length = 0;
    net.connectTcp = () => Promise.reject(Object.assign(new Error("Too many open files"), { code: "EMFILE" }));
    checker.start([e]);
    await clock.advance(1_000 + 3 * 2_000);
    expect(e.up).toBe(true);
    expect(e.failures).toBe(0);
    expect(lines[0].msg).toBe("connect failed on this host, not counted against the target");
  });
});

describe("HealthChecker: the initial check", () => {
  it("checks every target once at once and decides its state directly", async () => {
    accept("10.0.0.1:80");
    const up = entry("10.0.0.1:80");
    const down = entry("10.0.0.2:80");
    const off = entry("10.0.0.3:80", { ...TCP, check: "none" });
    await checker.initial([up, down, off]);
    expect(up.up).toBe(true);
    expect(up.address).toBe("10.0.0.1:80");
    expect(down.up).toBe(false);
    expect(down.lastError).toContain("ECONNREFUSED");
    expect(off.up).toBe(true);
    expect(net.connects).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(clock.pending).toBe(0);
  });
});

/** An HTTP server on a fake connection: reads one request head, answers with `status`. */
function httpTarget(status: number, seen: string[]): (conn: FakeConn) => void {
  return async (conn) => {
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const chunk = await conn.read();
      if (chunk === null) return;
      text += new TextDecoder().decode(chunk);
    }
    seen.push(text);
    await conn.write(bytes(`HTTP/1.1 ${status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
    conn.close();
  };
}

describe("HealthChecker: HTTP checks", () => {
  const HTTP: HealthConfig = { ...TCP, check: "http", path: "/healthz", expect: [200, 399] };

  it("sends GET path with the target as Host, and passes on an expected status", async () => {
    const seen: string[] = [];
    net.listen("10.0.0.1:8080", httpTarget(204, seen));
    const e = entry("10.0.0.1:8080", HTTP);
    await checker.initial([e]);
    expect(e.up).toBe(true);
    expect(seen[0]).toBe(
      "GET /healthz HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUser-Agent: vane-health\r\n" +
        "Connection: close\r\nAccept: */*\r\n\r\n",
    );
  });

  it("fails on a status outside the expected range, saying which", async () => {
    net.listen("10.0.0.1:8080", httpTarget(503, []));
    const e = entry("10.0.0.1:8080", HTTP);
    await checker.initial([e]);
    expect(e.up).toBe(false);
    expect(e.lastError).toBe("HTTP 503");
  });
});

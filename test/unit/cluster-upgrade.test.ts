import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/model.ts";
import type { Runtime } from "../../src/runtime/types.ts";
import { parseCli } from "../../src/cli/args.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { takePredecessor, UPGRADE_ENV, Upgrader } from "../../src/cluster/upgrade.ts";
import { FakeNetwork } from "../helpers/fake-runtime.ts";

function configFor(listen: string): Config {
  const cli = parseCli(["--listen", listen, "--route", "*=127.0.0.1:9000"]);
  if (cli.kind !== "run" || !cli.config) throw new Error("no config");
  return cli.config;
}

/** A runtime whose "executable" is `command`: the upgrade starts that, for real. */
function runtimeStarting(command: string[], shares: { tcp: boolean; udp: boolean }): Runtime {
  return {
    ...new FakeNetwork().runtime(),
    pid: process.pid,
    selfCommand: () => command,
    tcpReusePort: shares.tcp,
    udpReusePort: shares.udp,
  };
}

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
});

const tcp = configFor("127.0.0.1:8080");
const udp = configFor("udp://127.0.0.1:5353");
const BOTH = { tcp: true, udp: true };

describe("Upgrader", () => {
  it("refuses where ports cannot be shared, and while stopping, without starting anything", async () => {
    const noShare = new Upgrader({
      rt: runtimeStarting(["/nonexistent"], { tcp: false, udp: false }),
      log: silentLogger,
      stopping: () => false,
    });
    expect(await noShare.begin(tcp)).toEqual({
      ok: false,
      reason: "refused",
      errors: ["vane upgrade needs ports that two processes can share (SO_REUSEPORT on Linux); restart vane instead"],
    });
    const noUdp = new Upgrader({
      rt: runtimeStarting(["/nonexistent"], { tcp: true, udp: false }),
      log: silentLogger,
      stopping: () => false,
    });
    expect(await noUdp.begin(tcp)).toMatchObject({ ok: false, reason: "failed" });
    const refusedUdp = await noUdp.begin(udp);
    expect(refusedUdp).toMatchObject({ ok: false, reason: "refused" });
    expect(refusedUdp.ok ? "" : refusedUdp.errors[0]).toMatch(/^bun cannot share a UDP port between processes/);
    const stopping = new Upgrader({
      rt: runtimeStarting(["/nonexistent"], BOTH),
      log: silentLogger,
      stopping: () => true,
    });
    expect(await stopping.begin(tcp)).toEqual({ ok: false, reason: "refused", errors: ["vane is stopping"] });
  });

  it("reports a new process that cannot be started, or exits before it serves", async () => {
    const missing = new Upgrader({
      rt: runtimeStarting(["/nonexistent/vane"], BOTH),
      log: silentLogger,
      stopping: () => false,
    });
    const outcome = await missing.begin(tcp);
    expect(outcome).toMatchObject({ ok: false, reason: "failed" });
    expect(outcome.ok ? "" : outcome.errors[0]).toMatch(/^cannot start \/nonexistent\/vane: /);
    const exits = new Upgrader({
      rt: runtimeStarting(["/bin/sh", "-c", "exit 3"], BOTH),
      log: silentLogger,
      stopping: () => false,
    });
    expect(await exits.begin(tcp)).toEqual({
      ok: false,
      reason: "failed",
      errors: ["the new vane exited (code 3) before it served"],
    });
    expect(exits.successor).toBe(null);
  });

  it("hands over when told, once; callers of an upgrade under way share its outcome", async () => {
    // The "new vane" tells this process (its predecessor, from the environment) that it serves.
    const script = `sleep 0.2; kill -0 "$${UPGRADE_ENV}" && exec sleep 30`;
    const upgrader = new Upgrader({
      rt: runtimeStarting(["/bin/sh", "-c", script], BOTH),
      log: silentLogger,
      stopping: () => false,
    });
    expect(upgrader.takeOver()).toBe(false);
    const first = upgrader.begin(tcp);
    const second = upgrader.begin(tcp);
    await new Promise((r) => setTimeout(r, 400));
    expect(upgrader.takeOver()).toBe(true);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toEqual(b);
    if (!a.ok) throw new Error(a.errors.join("; "));
    started.push(a.pid);
    expect(a.from).toBe(process.pid);
    expect(upgrader.successor).toBe(a.pid);
    // The process lives on: it was started to outlive this one.
    expect(() => process.kill(a.pid, 0)).not.toThrow();
    // Nothing more to hand over, and no second upgrade from a vane that handed over.
    expect(upgrader.takeOver()).toBe(false);
    expect(await upgrader.begin(tcp)).toEqual({ ok: false, reason: "refused", errors: ["vane is stopping"] });
  });
});

describe("takePredecessor", () => {
  it("reads the old process's pid once and removes it from the environment", () => {
    process.env[UPGRADE_ENV] = "4242";
    expect(takePredecessor()).toBe(4242);
    expect(process.env[UPGRADE_ENV]).toBeUndefined();
    expect(takePredecessor()).toBe(null);
    for (const bad of ["", "1", "abc", "-5", "3.5"]) {
      process.env[UPGRADE_ENV] = bad;
      expect(takePredecessor(), bad).toBe(null);
    }
  });
});

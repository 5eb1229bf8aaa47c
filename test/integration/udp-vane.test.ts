/**
 * vane --listen udp://...: datagrams from two clients at once reach an echo target
 * through their own sessions, and each client gets only its own replies.
 */
import { afterEach, describe, expect, it } from "vitest";
import { bindUdp, closeUdp } from "../helpers/udp.ts";
import { startConfig, startVane, status, stopAllVanes } from "../helpers/vane.ts";
import { parseCli } from "../../src/cli/args.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  await stopAllVanes();
  closeUdp();
});

describe("UDP listener", () => {
  it("gives each client its own replies, through the catch-all pool", async () => {
    // The echo target says which source port (vane's session socket) it saw.
    const echo = await bindUdp((m, r, s) => s.send(`${r.port}:${m}`, r.port, r.address));
    const v = await startVane([
      "--listen",
      "udp://127.0.0.1:0",
      "--route",
      `*=127.0.0.1:${echo.address().port}`,
      "--health",
      "none",
      "--udp-idle-timeout",
      "5s",
    ]);
    const udpPort = v.vane.listeners.find((l) => l.config.address.protocol === "udp")!.addr.port;
    const got: Record<string, string[]> = { a: [], b: [] };
    const a = await bindUdp((m) => got.a.push(m.toString()));
    const b = await bindUdp((m) => got.b.push(m.toString()));
    for (let i = 0; i < 3; i++) {
      a.send(`a${i}`, udpPort, "127.0.0.1");
      b.send(`b${i}`, udpPort, "127.0.0.1");
    }
    await waitFor("both clients have their three replies", () => got.a.length === 3 && got.b.length === 3);
    const payloads = (xs: string[]) => xs.map((x) => x.split(":")[1]).sort();
    expect(payloads(got.a)).toEqual(["a0", "a1", "a2"]);
    expect(payloads(got.b)).toEqual(["b0", "b1", "b2"]);
    // One session socket per client: one source port each, and two different ones.
    const portsOf = (xs: string[]) => new Set(xs.map((x) => x.split(":")[0]));
    expect(portsOf(got.a).size).toBe(1);
    expect(portsOf(got.b).size).toBe(1);
    expect([...portsOf(got.a)][0]).not.toBe([...portsOf(got.b)][0]);
    const s = await status(v);
    expect(s.listeners.map((l) => l.protocol)).toEqual(["tcp", "udp"]);
  });
});

/** vane from the one-liner's flags alone (no TCP listener), its status endpoint on a free port. */
async function oneLiner(flags: string[]) {
  const parsed = parseCli([...flags, "--status", "127.0.0.1:0"]);
  if (parsed.kind !== "run") throw new Error("flags did not describe a run");
  const v = await startConfig(parsed.config!);
  const udpPort = v.vane.listeners.find((l) => l.config.address.protocol === "udp")!.addr.port;
  return { v, udpPort };
}

describe("a UDP one-liner's pool", () => {
  it("runs no TCP check, so datagrams reach a target that serves only UDP, and says so at start", async () => {
    // Nothing listens on this port over TCP: a TCP check would mark the target down.
    const echo = await bindUdp((m, r, s) => s.send(`echo:${m}`, r.port, r.address));
    const { v, udpPort } = await oneLiner([
      "--listen",
      "udp://127.0.0.1:0",
      "--route",
      `*=127.0.0.1:${echo.address().port}`,
    ]);
    expect(v.vane.config.pools.default.health.check).toBe("none");
    const got: string[] = [];
    const client = await bindUdp((m) => got.push(m.toString()));
    client.send("ping", udpPort, "127.0.0.1");
    await waitFor("the echo's reply", () => got.length === 1);
    expect(got).toEqual(["echo:ping"]);
    expect(v.logs).toContainEqual(
      expect.objectContaining({
        level: "info",
        msg: "UDP pool: no active health check runs; its targets count as up",
        pool: "default",
      }),
    );
    expect((await status(v)).pools.default.targets[0].healthy).toBe(true);
  });

  it("keeps a check named with --health, and warns once that it judges a UDP pool by TCP", async () => {
    const echo = await bindUdp((m, r, s) => s.send(m, r.port, r.address));
    const { v } = await oneLiner([
      "--listen",
      "udp://127.0.0.1:0",
      "--route",
      `*=127.0.0.1:${echo.address().port}`,
      "--health",
      "tcp",
    ]);
    expect(v.vane.config.pools.default.health.check).toBe("tcp");
    const warned = v.logs.filter((l) => l.level === "warn" && String(l.msg).startsWith("UDP pool:"));
    expect(warned).toEqual([
      expect.objectContaining({
        msg: "UDP pool: the tcp check judges its targets by TCP, not by the UDP service it proxies",
        pool: "default",
        check: "tcp",
      }),
    ]);
    expect((await status(v)).pools.default.targets[0].healthy).toBe(false);
  });
});

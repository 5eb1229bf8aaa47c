/**
 * UDP on the runtime under test: the adapter's bindUdp, and the forwarder's sessions
 * (one upstream socket per client, replies to the right client, idle expiry, picks).
 * Targets and clients are node:dgram, so they share no code with the adapter.
 */
import { afterEach, describe, expect, it } from "vitest";
import dgram from "node:dgram";
import { runtime } from "../../src/runtime/mod.ts";
import type { UdpSocket } from "../../src/runtime/types.ts";
import { listenUdp, type UdpForwarder, type UdpForwarderOptions, type UdpTarget } from "../../src/forward/udp.ts";
import { createLogger, silentLogger } from "../../src/telemetry/logger.ts";
import { waitFor } from "../helpers/wait.ts";

const LOOPBACK = "127.0.0.1";
const cleanups: (() => void | Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Echo {
  port: number;
  /** Source ports datagrams came from, in arrival order. */
  sources: number[];
}

/** Replies `<sender port>:<payload>`, so each reply says whose datagram it answers. */
async function echoServer(): Promise<Echo> {
  const sock = dgram.createSocket("udp4");
  const echo: Echo = { port: 0, sources: [] };
  sock.on("message", (msg, rinfo) => {
    echo.sources.push(rinfo.port);
    sock.send(Buffer.concat([Buffer.from(`${rinfo.port}:`), msg]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, LOOPBACK, () => r()));
  echo.port = sock.address().port;
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return echo;
}

interface Client {
  port: number;
  received: string[];
  send(text: string, port: number): void;
}

async function client(): Promise<Client> {
  const sock = dgram.createSocket("udp4");
  const c: Client = {
    port: 0,
    received: [],
    send: (text, port) => sock.send(Buffer.from(text), port, LOOPBACK),
  };
  sock.on("message", (msg) => c.received.push(msg.toString()));
  await new Promise<void>((r) => sock.bind(0, LOOPBACK, () => r()));
  c.port = sock.address().port;
  cleanups.push(() => new Promise<void>((r) => sock.close(() => r())));
  return c;
}

async function forwarder(
  pick: () => UdpTarget | null,
  idleMs = 30_000,
  extra: Partial<UdpForwarderOptions> = {},
): Promise<{ port: number; fwd: UdpForwarder }> {
  const opts = { pick, udpIdleMs: idleMs, logger: silentLogger, ...extra };
  const { socket, forwarder: fwd } = await listenUdp({ hostname: LOOPBACK, port: 0 }, opts);
  cleanups.push(() => {
    fwd.close();
    socket.close();
  });
  return { port: socket.addr.port, fwd };
}

const target = (echo: Echo, key = "echo"): UdpTarget => ({ key, hostname: LOOPBACK, port: echo.port });

describe("runtime UDP adapter", () => {
  it("binds, receives a datagram with its sender, and sends one back", async () => {
    const got: { text: string; from: number }[] = [];
    let sock: UdpSocket | null = null;
    sock = await runtime().bindUdp({ hostname: LOOPBACK, port: 0 }, (data, from) => {
      got.push({ text: new TextDecoder().decode(data), from: from.port });
      sock!.send(new TextEncoder().encode("pong"), from);
    });
    cleanups.push(() => sock!.close());
    expect(sock.addr.port).toBeGreaterThan(0);
    const c = await client();
    c.send("ping", sock.addr.port);
    await waitFor("the reply", () => c.received.length === 1, 3000);
    expect(got).toEqual([{ text: "ping", from: c.port }]);
    expect(c.received).toEqual(["pong"]);
  });

  it("hands over data the caller may keep", async () => {
    const kept: Uint8Array[] = [];
    const sock = await runtime().bindUdp({ hostname: LOOPBACK, port: 0 }, (data) => kept.push(data));
    cleanups.push(() => sock.close());
    const c = await client();
    for (const t of ["first", "second", "third"]) c.send(t, sock.addr.port);
    await waitFor("three datagrams", () => kept.length === 3, 3000);
    expect(kept.map((d) => new TextDecoder().decode(d)).sort()).toEqual(["first", "second", "third"]);
  });

  it("reports a taken port as 'address already in use'", async () => {
    const first = await runtime().bindUdp({ hostname: LOOPBACK, port: 0 }, () => {});
    cleanups.push(() => first.close());
    await expect(runtime().bindUdp({ hostname: LOOPBACK, port: first.addr.port }, () => {}))
      .rejects.toThrow(`cannot listen on ${LOOPBACK}:${first.addr.port}: address already in use`);
  });
});

describe("UdpForwarder", () => {
  it("gives two clients at once each their own replies", async () => {
    const echo = await echoServer();
    const { port, fwd } = await forwarder(() => target(echo));
    const [a, b] = [await client(), await client()];
    for (let i = 0; i < 5; i++) {
      a.send(`a${i}`, port);
      b.send(`b${i}`, port);
    }
    await waitFor("all replies", () => a.received.length === 5 && b.received.length === 5, 5000);
    // The echo saw each client's session port; every reply a client got carries its own.
    const aPort = a.received[0].split(":")[0];
    const bPort = b.received[0].split(":")[0];
    expect(aPort).not.toBe(bPort);
    expect(a.received.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${aPort}:a${i}`));
    expect(b.received.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `${bPort}:b${i}`));
    expect(fwd.sessions).toBe(2);
    expect(fwd.bytesUpstream).toBe(20);
    expect(fwd.bytesDownstream).toBe(a.received.concat(b.received).join("").length);
  });

  it("uses one upstream socket per session for many datagrams", async () => {
    const echo = await echoServer();
    const { port, fwd } = await forwarder(() => target(echo));
    const c = await client();
    for (let i = 0; i < 20; i++) c.send(`m${i}`, port);
    await waitFor("20 replies", () => c.received.length === 20, 5000);
    expect(new Set(echo.sources).size).toBe(1);
    expect(echo.sources.length).toBe(20);
    expect(fwd.sessions).toBe(1);
  });

  it("closes idle sessions after the timeout", async () => {
    const echo = await echoServer();
    const { port, fwd } = await forwarder(() => target(echo), 200);
    const [a, b] = [await client(), await client()];
    a.send("x", port);
    b.send("y", port);
    await waitFor("replies", () => a.received.length === 1 && b.received.length === 1, 3000);
    expect(fwd.sessions).toBe(2);
    await waitFor("idle sessions closed", () => fwd.sessions === 0, 3000);
    // A new datagram after expiry opens a new session with a new upstream port.
    a.send("again", port);
    await waitFor("reply after expiry", () => a.received.length === 2, 3000);
    expect(fwd.sessions).toBe(1);
    expect(new Set(echo.sources).size).toBe(3);
  });

  it("spreads sessions over targets with a round-robin pick", async () => {
    const echoes = [await echoServer(), await echoServer()];
    let next = 0;
    const { port, fwd } = await forwarder(() => target(echoes[next++ % 2], `t${next}`));
    const [a, b] = [await client(), await client()];
    a.send("a", port);
    await waitFor("a's reply", () => a.received.length === 1, 3000);
    b.send("b", port);
    await waitFor("b's reply", () => b.received.length === 1, 3000);
    a.send("a2", port); // same session: stays on its target
    await waitFor("a's second reply", () => a.received.length === 2, 3000);
    expect(echoes[0].sources.length).toBe(2);
    expect(echoes[1].sources.length).toBe(1);
    expect(fwd.sessions).toBe(2);
  });

  it("drops datagrams when pick() has no target, without crashing", async () => {
    const echo = await echoServer();
    let available = false;
    const lines: string[] = [];
    const logger = createLogger("text", { sink: (l) => lines.push(l) });
    const { port, fwd } = await forwarder(() => (available ? target(echo) : null), 30_000, { logger });
    const c = await client();
    for (let i = 0; i < 5; i++) c.send(`lost${i}`, port);
    await waitFor("drops counted", () => fwd.datagramsDropped === 5, 3000);
    // Logged once, not once per datagram (then counted into one summary per window).
    expect(lines.filter((l) => l.includes("udp datagram dropped: no target")).length).toBe(1);
    expect(fwd.sessions).toBe(0);
    expect(echo.sources.length).toBe(0);
    available = true;
    c.send("kept", port);
    await waitFor("a reply once a target is back", () => c.received.length === 1, 3000);
    expect(c.received[0]).toMatch(/^\d+:kept$/);
  });

  it("refuses sessions beyond the bound", async () => {
    const echo = await echoServer();
    const { port, fwd } = await forwarder(() => target(echo), 30_000, { maxSessions: 1 });
    const [a, b] = [await client(), await client()];
    a.send("a", port);
    await waitFor("a's reply", () => a.received.length === 1, 3000);
    b.send("b", port);
    await waitFor("b's datagram dropped", () => fwd.datagramsDropped === 1, 3000);
    a.send("a2", port); // the existing session still works
    await waitFor("a's second reply", () => a.received.length === 2, 3000);
    expect(b.received).toEqual([]);
    expect(fwd.sessions).toBe(1);
  });
});

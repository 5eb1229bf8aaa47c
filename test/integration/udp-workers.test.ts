/**
 * `--workers 2` with a udp:// listener, as real processes. Where the runtime can share
 * a UDP port (Bun: SO_REUSEPORT), every worker binds the listener and the kernel keeps
 * each client on one socket, so a client's datagrams always reach one process and one
 * upstream session, and both processes serve clients. Where it cannot (Deno), UDP is
 * served by the primary alone, and the start log says so once.
 */
import { afterEach, describe, expect, it } from "vitest";
import type dgram from "node:dgram";
import { bindUdp, closeUdp } from "../helpers/udp.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";
import { runtime } from "../../src/runtime/mod.ts";

const CLIENTS = 24;
const PER_CLIENT = 5;

afterEach(() => {
  killAll();
  closeUdp();
});

/**
 * An echo target that notes, per client (named in the payload), the source ports it
 * saw: vane's upstream session sockets. Then CLIENTS clients, each on its own source
 * port, send PER_CLIENT datagrams each, a few at a time (a low rate: none may be lost).
 */
async function exchange(listenArgs: (echoPort: number) => string[], processes: number) {
  const seenBy = new Map<string, Set<number>>();
  const echo = await bindUdp((m, r, s) => {
    const client = m.toString().split("/")[0];
    seenBy.set(client, (seenBy.get(client) ?? new Set()).add(r.port));
    s.send(m, r.port, r.address);
  });
  const statusPort = await freePort();
  const vane = spawnVane([...listenArgs(echo.address().port), "--status", `127.0.0.1:${statusPort}`, "--workers", "2"]);
  const before = await serving(statusPort, processes);
  const udp = before.listeners.find((l) => l.protocol === "udp");
  const port = Number(udp?.address.split(":").pop());
  expect(port).toBeGreaterThan(0);

  const replies: string[][] = [];
  const clients: dgram.Socket[] = [];
  for (let c = 0; c < CLIENTS; c++) {
    replies.push([]);
    clients.push(await bindUdp((m) => replies[c].push(m.toString())));
  }
  for (let k = 0; k < PER_CLIENT; k++) {
    for (let c = 0; c < CLIENTS; c++) clients[c].send(`c${c}/${k}`, port, "127.0.0.1");
    await waitFor(`round ${k} answered`, () => replies.every((r) => r.length === k + 1));
  }
  return { vane, replies, seenBy, statusPort };
}

/** Where the runtime shares UDP ports (Bun): both workers serve, each client through one session. */
async function servedByBoth(): Promise<void> {
  const { vane, replies, seenBy, statusPort } = await exchange(
    (echo) => ["--listen", "udp://127.0.0.1:0", "--route", `*=127.0.0.1:${echo}`],
    2,
  );
  // Every client has every reply, its own and no other's.
  for (let c = 0; c < CLIENTS; c++) {
    expect(replies[c].sort()).toEqual(Array.from({ length: PER_CLIENT }, (_, k) => `c${c}/${k}`));
  }
  // The target saw one source port per client (one session, in one process), and
  // different ones for different clients.
  expect(seenBy.size).toBe(CLIENTS);
  for (const ports of seenBy.values()) expect(ports.size).toBe(1);
  expect(new Set([...seenBy.values()].map((p) => [...p][0])).size).toBe(CLIENTS);

  // The kernel hashed the clients over both sockets: both processes received some.
  const after = await statusOf(statusPort);
  const datagrams = after.workers.map((w) => w.datagrams ?? 0);
  expect(datagrams).toHaveLength(2);
  expect(datagrams.every((n: number) => n > 0)).toBe(true);
  expect(datagrams[0] + datagrams[1]).toBe(CLIENTS * PER_CLIENT);
  expect(new Set(after.workers.map((w) => w.pid)).size).toBe(2);
  const metrics = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
  expect(metrics).toContain(`vane_worker_datagrams_total{worker="1"} ${datagrams[1]}`);
  // Said once, by the primary.
  expect(vane.stderr().match(/INFO {2}listening/g)?.length).toBe(1);
  expect(vane.stderr()).not.toMatch(/served by the primary alone/);
}

/** Where it cannot (Deno): the primary alone serves UDP, and says so once. */
async function servedByThePrimary(): Promise<void> {
  const { vane, replies, seenBy, statusPort } = await exchange(
    (echo) => ["--listen", "udp://127.0.0.1:0", "--route", `*=127.0.0.1:${echo}`],
    1, // a UDP listener alone makes no worker worth starting
  );
  for (let c = 0; c < CLIENTS; c++) {
    expect(replies[c].sort()).toEqual(Array.from({ length: PER_CLIENT }, (_, k) => `c${c}/${k}`));
  }
  for (const ports of seenBy.values()) expect(ports.size).toBe(1);
  const after = await statusOf(statusPort);
  expect(after.workers).toHaveLength(1);
  expect(after.workers[0].datagrams).toBe(CLIENTS * PER_CLIENT);
  expect(vane.stderr().match(/UDP listeners are served by the primary alone/g)?.length).toBe(1);
}

// One test on each runtime, asserting what that runtime can do (none skipped).
const shares = runtime().udpReusePort;
describe("--workers 2 with a UDP listener", () => {
  it(
    shares
      ? "serves UDP from both workers, each client through one session, on the port the primary chose (SO_REUSEPORT)"
      : "serves UDP from the primary alone and says so once (the runtime cannot share a UDP port)",
    shares ? servedByBoth : servedByThePrimary,
  );
});

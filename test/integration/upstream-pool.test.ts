/**
 * The idle upstream pool with real connections: idle ones expire after the idle
 * timeout (one sweep for all, not a timer each), the newest is handed out first,
 * the bound per target closes the oldest, a server's close drops its connection, and
 * what a taken connection's watch read is its user's.
 */
import { afterEach, describe, expect, it } from "vitest";
import type net from "node:net";
import { runtime } from "../../src/runtime/mod.ts";
import { UpstreamPool } from "../../src/http/upstream-pool.ts";
import { asReplay } from "../../src/forward/replay-conn.ts";
import { closeAll, startServer } from "../helpers/net.ts";
import { waitFor } from "../helpers/wait.ts";

const rt = runtime();
afterEach(closeAll);

/** A server that keeps its sockets, so the test can see which ones the pool closed. */
async function server() {
  const sockets: net.Socket[] = [];
  const closed = new Set<net.Socket>();
  const s = await startServer((sock) => {
    sockets.push(sock);
    sock.on("end", () => {
      closed.add(sock);
      sock.end();
    });
    sock.on("close", () => closed.add(sock));
  });
  return { port: s.port, sockets, closed };
}

describe("UpstreamPool", () => {
  it("closes connections idle for longer than idleMs, and hands out the newest first", async () => {
    const srv = await server();
    const pool = new UpstreamPool({ maxIdlePerKey: 8, idleMs: 200 });
    const a = await rt.connectTcp({ hostname: "127.0.0.1", port: srv.port }, 1000);
    const b = await rt.connectTcp({ hostname: "127.0.0.1", port: srv.port }, 1000);
    pool.put("k", a);
    pool.put("k", b);
    expect(pool.idleCount("k")).toBe(2);
    const taken = pool.take("k")!;
    // The newest (warmest) one comes back first; it is the caller's now.
    expect(taken.local.port).toBe(b.local.port);
    expect(pool.idleCount("k")).toBe(1);
    await waitFor("the idle one expired", () => pool.idleCount("k") === 0, 5000);
    await waitFor("the server saw it close", () => srv.closed.size === 1, 5000);
    expect(srv.sockets.findIndex((s) => srv.closed.has(s))).toBe(0);
    taken.close();
    pool.closeAll();
  });

  it("closes the oldest when a target has maxIdlePerKey idle connections", async () => {
    const srv = await server();
    const pool = new UpstreamPool({ maxIdlePerKey: 2, idleMs: 60_000 });
    const conns = [];
    for (let i = 0; i < 3; i++) conns.push(await rt.connectTcp({ hostname: "127.0.0.1", port: srv.port }, 1000));
    for (const c of conns) pool.put("k", c);
    expect(pool.idleCount("k")).toBe(2);
    await waitFor("the oldest closed", () => srv.closed.size === 1, 5000);
    expect(srv.closed.has(srv.sockets[0])).toBe(true);
    pool.closeAll();
    await waitFor("all closed at closeAll", () => srv.closed.size === 3, 5000);
    expect(pool.idleCount("k")).toBe(0);
  });

  it("hands out a target's last idle connection, then keeps and expires one put back", async () => {
    const srv = await server();
    const pool = new UpstreamPool({ maxIdlePerKey: 8, idleMs: 200 });
    const c = await rt.connectTcp({ hostname: "127.0.0.1", port: srv.port }, 1000);
    pool.put("k", c);
    const taken = pool.take("k")!;
    expect(taken.local.port).toBe(c.local.port);
    expect(pool.idleCount("k")).toBe(0);
    expect(pool.take("k")).toBeNull();
    // Long enough for the sweeps to find nothing idle and stop.
    await new Promise((r) => setTimeout(r, 450));
    pool.put("k", taken);
    expect(pool.idleCount("k")).toBe(1);
    await waitFor("the one put back expired", () => pool.idleCount("k") === 0, 5000);
    await waitFor("the server saw it close", () => srv.closed.size === 1, 5000);
    pool.closeAll();
  });

  it("hands a taken connection's watched read to its user: bytes sent before and after the user reads", async () => {
    const srv = await server();
    const pool = new UpstreamPool({ maxIdlePerKey: 8, idleMs: 60_000 });
    const c = await rt.connectTcp({ hostname: "127.0.0.1", port: srv.port }, 1000);
    pool.put("k", c);
    await waitFor("server accepted", () => srv.sockets.length === 1);
    const taken = asReplay(pool.take("k")!);
    // Sent after the take, before anyone reads: the watch's read holds it.
    srv.sockets[0].write("first");
    await new Promise((r) => setTimeout(r, 50));
    expect(new TextDecoder().decode((await taken.read())!)).toBe("first");
    // Read first, sent after: the same way, by callback.
    const next = new Promise<Uint8Array | null | Error>((resolve) => taken.readNext(resolve));
    srv.sockets[0].write("second");
    expect(new TextDecoder().decode((await next) as Uint8Array)).toBe("second");
    expect(pool.idleCount("k")).toBe(0);
    taken.close();
    pool.closeAll();
  });

  it("drops a connection the server closes while it is idle", async () => {
    const srv = await server();
    const pool = new UpstreamPool({ maxIdlePerKey: 8, idleMs: 60_000 });
    const c = await rt.connectTcp({ hostname: "127.0.0.1", port: srv.port }, 1000);
    pool.put("k", c);
    await waitFor("server accepted", () => srv.sockets.length === 1);
    srv.sockets[0].end();
    await waitFor("dropped from the pool", () => pool.idleCount("k") === 0, 5000);
    expect(pool.take("k")).toBeNull();
    pool.closeAll();
  });
});

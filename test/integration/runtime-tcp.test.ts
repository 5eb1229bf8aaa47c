/**
 * The runtime adapter's TCP on the runtime under test: bytes arrive exact and in
 * order, FIN is passed as half-close, connect errors are errors.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runtime } from "../../src/runtime/mod.ts";
import { asReplay } from "../../src/forward/replay-conn.ts";
import { closeAll, echoServer, freePort } from "../helpers/net.ts";
import { randomBytes } from "node:crypto";
import { readAll } from "../helpers/tcp-conn.ts";
import { waitFor } from "../helpers/wait.ts";
import { startServer } from "../helpers/net.ts";
import { WRITTEN } from "../../src/runtime/written.ts";
import type { Socket } from "node:net";
import type { TcpConn } from "../../src/runtime/types.ts";

afterAll(closeAll);

describe("runtime TCP adapter", () => {
  it("connects, writes 1 MB, half-closes and reads the echo back exactly", async () => {
    const echo = await echoServer();
    const conn = await runtime().connectTcp({ hostname: "127.0.0.1", port: echo.port }, 2000);
    const payload = randomBytes(1 << 20);
    const reading = readAll(conn);
    await conn.write(payload);
    await conn.closeWrite();
    const back = await reading;
    conn.close();
    expect(back.length).toBe(payload.length);
    expect(back.equals(payload)).toBe(true);
  });

  it("reads by callback (readNext) the same bytes as by promise, then the end", async () => {
    const echo = await echoServer();
    // Both adapters have it: the HTTP engine's promise-free path runs on either runtime.
    const raw = await runtime().connectTcp({ hostname: "127.0.0.1", port: echo.port }, 2000);
    expect(typeof raw.readNext).toBe("function");
    // On Deno, straight from the read op, without Conn.read's wrapper (runtime/deno-ops.ts).
    expect((raw as { readsDirect?: boolean }).readsDirect === true).toBe("Deno" in globalThis);
    const conn = asReplay(raw);
    expect(conn.callbacks).toBe(true);
    const payload = randomBytes(1 << 20);
    const parts: Buffer[] = [];
    const reading = new Promise<Error | null>((resolve) => {
      const next = (r: Uint8Array | null | Error) => {
        if (r === null || r instanceof Error) return resolve(r);
        parts.push(Buffer.from(r));
        conn.readNext(next);
      };
      conn.readNext(next);
    });
    await conn.write(payload);
    await conn.closeWrite();
    expect(await reading).toBeNull();
    conn.close();
    expect(Buffer.concat(parts).equals(payload)).toBe(true);
  });

  it("closes the connection whose readNext callback throws, and reads on another one", async () => {
    const echo = await echoServer();
    const bad = await runtime().connectTcp({ hostname: "127.0.0.1", port: echo.port }, 2000);
    let called = 0;
    bad.readNext!(() => {
      called++;
      throw new Error("a bug in the reader");
    });
    let closed = false;
    void bad.closed.then(() => (closed = true));
    await bad.write(new TextEncoder().encode("x"));
    await waitFor("the callback ran", () => called === 1, 2000);
    // Closed by the adapter, not left open waiting for a read nobody will make.
    await waitFor("the connection closed", () => closed, 2000);
    const good = await runtime().connectTcp({ hostname: "127.0.0.1", port: echo.port }, 2000);
    const back = new Promise<Uint8Array | null | Error>((resolve) => good.readNext!(resolve));
    await good.write(new TextEncoder().encode("still here"));
    const chunk = await back;
    good.close();
    expect(chunk instanceof Uint8Array && Buffer.from(chunk).toString()).toBe("still here");
  });

  /**
   * A peer that reads nothing until told, then everything to the end; with `ack`, it
   * answers "ack" as soon as it is connected. 16 MiB is more than loopback's socket
   * buffers hold, so a write of it is taken only in part at first.
   */
  async function slowReader(ack: boolean) {
    let socket: Socket | null = null;
    const got: Buffer[] = [];
    let ended = false;
    const server = await startServer((s) => {
      socket = s;
      s.pause();
      s.on("data", (d: Buffer) => got.push(d));
      s.on("end", () => (ended = true));
      if (ack) s.write("ack");
    });
    return {
      port: server.port,
      resume: () => socket!.resume(),
      received: () => Buffer.concat(got),
      ended: () => ended,
    };
  }

  /**
   * A write of a head built for it: writeOwned where the adapter has it (Deno), where
   * the op took part of it at once and the write goes on unawaited (deno-writes.ts);
   * else a plain write, which the caller awaits (the engine does).
   */
  function writeOwned(conn: TcpConn, data: Uint8Array): Promise<void> {
    if (conn.writeOwned === undefined) return conn.write(data);
    const written = conn.writeOwned(data);
    expect(written).toBe(WRITTEN);
    return written;
  }

  it("sends the whole of an owned write taken in part before the close that follows it", async () => {
    const peer = await slowReader(false);
    const conn = await runtime().connectTcp({ hostname: "127.0.0.1", port: peer.port }, 2000);
    const big = randomBytes(16 << 20);
    const written = writeOwned(conn, big);
    let closed = false;
    if (written === WRITTEN) {
      conn.close();
      void conn.closed.then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 100));
      // The close waits for the rest, which waits for the peer.
      expect(closed).toBe(false);
    }
    peer.resume();
    if (written !== WRITTEN) {
      await written;
      conn.close();
      closed = true;
    }
    await waitFor("the peer read to the end", peer.ended, 10_000);
    expect(peer.received().equals(big)).toBe(true);
    await waitFor("the connection closed", () => closed, 2000);
  });

  it("sends the rest of an owned write taken in part when nothing comes after it", async () => {
    // The count is read by the op's own reaction here (deno-writes.ts #counted), not by a
    // later write, read or close asking for it.
    const peer = await slowReader(false);
    const conn = await runtime().connectTcp({ hostname: "127.0.0.1", port: peer.port }, 2000);
    const big = randomBytes(16 << 20);
    const written = writeOwned(conn, big);
    await new Promise((r) => setTimeout(r, 100));
    peer.resume();
    await written;
    await waitFor("the peer read all of it", () => peer.received().length === big.length, 10_000);
    expect(peer.received().equals(big)).toBe(true);
    conn.close();
  });

  it("writes, and delivers reads, after the rest of an owned write taken in part", async () => {
    const peer = await slowReader(true);
    const conn = await runtime().connectTcp({ hostname: "127.0.0.1", port: peer.port }, 2000);
    // The peer's "ack" is in before anything is written.
    await new Promise((r) => setTimeout(r, 50));
    const big = randomBytes(16 << 20);
    const written = writeOwned(conn, big);
    const marker = new TextEncoder().encode("marker");
    const after = conn.write(marker);
    let ack = "";
    let receivedAtAck = -1;
    const reading = () =>
      conn.readNext!((r) => {
        ack = r instanceof Uint8Array ? Buffer.from(r).toString() : String(r);
        receivedAtAck = peer.received().length;
      });
    // As the engine reads an answer: at once after an owned write, after the await of a plain one.
    if (written === WRITTEN) reading();
    await new Promise((r) => setTimeout(r, 100));
    expect(ack).toBe("");
    peer.resume();
    await written;
    await after;
    if (written !== WRITTEN) reading();
    await conn.closeWrite();
    await waitFor("the peer read to the end", peer.ended, 10_000);
    await waitFor("the ack was delivered", () => ack !== "", 2000);
    conn.close();
    expect(peer.received().equals(Buffer.concat([big, marker]))).toBe(true);
    expect(ack).toBe("ack");
    // Not while the peer read nothing (the rest could not go out then).
    expect(receivedAtAck).toBeGreaterThan(0);
  });

  it("sends owned writes made in one turn, in order, past a closed connection's, and again in the next turn", async () => {
    const echo = await echoServer();
    const connect = () => runtime().connectTcp({ hostname: "127.0.0.1", port: echo.port }, 2000);
    const [gone, a, b] = await Promise.all([connect(), connect(), connect()]);
    gone.close();
    const text = (s: string) => new TextEncoder().encode(s);
    const readingA = readAll(a);
    let backB = "";
    const readingB = (async () => {
      for (let c = await b.read(); c !== null; c = await b.read()) backB += Buffer.from(c).toString();
    })();
    // One synchronous turn, as the engine's reactions to the reads of one turn of the
    // event loop: on Deno each owned write is queued and the turn's flush starts them
    // (deno-writes.ts), the closed connection's first; its failure must stop none of
    // the others.
    try {
      void (gone.writeOwned ?? gone.write).call(gone, text("lost")).catch(() => {});
    } catch { /* a runtime may refuse a write on a closed connection at once */ }
    const sent = [writeOwned(a, text("one ")), writeOwned(b, text("first ")), writeOwned(a, text("two "))];
    // A plain write after owned ones goes out after them.
    sent.push(a.write(text("three")));
    await Promise.all(sent);
    await waitFor("the echo of b's first write", () => backB === "first ", 2000);
    // A later turn queues and flushes anew. b's next read was asked for before, so
    // nothing but the flush starts this write.
    await writeOwned(b, text("second"));
    await waitFor("the echo of both of b's writes", () => backB === "first second", 2000);
    await Promise.all([a.closeWrite(), b.closeWrite()]);
    const [backA] = await Promise.all([readingA, readingB]);
    a.close();
    b.close();
    expect(backA.toString()).toBe("one two three");
    expect(backB).toBe("first second");
  });

  it("accepts connections and reports the peer address", async () => {
    let remote = "";
    const listener = await runtime().listenTcp({ hostname: "127.0.0.1", port: 0 }, async (c) => {
      remote = c.remote.hostname;
      const data = await readAll(c);
      await c.write(new TextEncoder().encode(`got ${data.length}`));
      c.close();
    });
    const client = await runtime().connectTcp({ hostname: "127.0.0.1", port: listener.addr.port }, 2000);
    await client.write(new Uint8Array(1000));
    await client.closeWrite();
    const reply = await readAll(client);
    client.close();
    listener.close();
    expect(reply.toString()).toBe("got 1000");
    expect(remote).toBe("127.0.0.1");
  });

  it("rejects a connect to a closed port", async () => {
    const port = await freePort();
    await expect(runtime().connectTcp({ hostname: "127.0.0.1", port }, 2000)).rejects.toThrow();
  });

  it("says clearly when the address is in use", async () => {
    const echo = await echoServer();
    await expect(runtime().listenTcp({ hostname: "127.0.0.1", port: echo.port }, () => {}))
      .rejects.toThrow(`cannot listen on 127.0.0.1:${echo.port}: address already in use`);
  });
});

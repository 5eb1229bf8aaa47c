/**
 * What every `TcpConn` (src/runtime/types.ts) promises, as one suite to run over each
 * implementation: the runtime adapters' loopback connections (Bun's under `bun test`,
 * Deno's under vitest on Deno), the same wrapped in a ReplayConn, and any fake pair
 * that claims to behave like them. The cases are the interface's documented rules:
 * bytes arrive exact and in order; `read()` is null at the peer's FIN; `closeWrite()`
 * half-closes and leaves reading open; `write()` is the backpressure; `close()` may be
 * called twice and `closed` resolves; `readNext` and `pipeTo`, where an implementation
 * has them, do what read() and a relay would.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { PipeEnds, TcpConn } from "../../src/runtime/types.ts";
import { type ConnPair, type MakePair, readAll } from "../helpers/tcp-conn.ts";

const text = (s: string) => new TextEncoder().encode(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether `p` settles within `ms`; a promise that should stay pending is checked this way. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await sleep(ms);
  return done;
}

/** Writes `data` in pieces of `piece` bytes, each awaited, then half-closes. */
async function send(conn: TcpConn, data: Uint8Array, piece = 16 * 1024): Promise<void> {
  for (let off = 0; off < data.length; off += piece) await conn.write(data.subarray(off, off + piece));
  await conn.closeWrite();
}

/** Reads with readNext until the end; resolves with the bytes, or rejects with the error. */
function readAllNext(conn: TcpConn): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const next = (r: Uint8Array | null | Error) => {
      if (r instanceof Error) return reject(r);
      if (r === null) return resolve(Buffer.concat(parts));
      parts.push(Buffer.from(r));
      conn.readNext!(next);
    };
    conn.readNext!(next);
  });
}

/** PipeEnds that record what the relay reported. */
function recordEnds(halfClose: boolean) {
  let settle!: (err: Error | null) => void;
  const report = {
    bytes: 0,
    halfCloseAsked: 0,
    endedCalls: 0,
    ended: new Promise<Error | null>((resolve) => (settle = resolve)),
  };
  const ends: PipeEnds = {
    bytes: (n) => (report.bytes += n),
    halfClose: () => (report.halfCloseAsked++, halfClose),
    ended: (err) => {
      report.endedCalls++;
      settle(err);
    },
  };
  return { ends, report };
}

/**
 * Registers the contract's cases for the pairs `makePair` makes (a fresh pair, or two,
 * per case; every pair is closed after its case).
 */
export function tcpConnContract(name: string, makePair: MakePair): void {
  describe(`TcpConn contract: ${name}`, () => {
    const made: ConnPair[] = [];
    const pair = async () => {
      const p = await makePair();
      made.push(p);
      return p;
    };
    afterEach(async () => {
      await Promise.all(made.splice(0).map((p) => p.close()));
    });

    it("carries 1 MB each way exact and in order, the end of stream after it", async () => {
      const { a, b } = await pair();
      const there = randomBytes(1 << 20);
      const back = randomBytes(1 << 20);
      const [atB, atA] = await Promise.all([readAll(b), readAll(a), send(a, there), send(b, back)]);
      expect(atB.equals(there)).toBe(true);
      expect(atA.equals(back)).toBe(true);
    });

    it("hands a read that waits the bytes that arrive later", async () => {
      const { a, b } = await pair();
      const waiting = b.read();
      await sleep(20);
      await a.write(text("late"));
      expect(Buffer.from((await waiting)!).toString()).toBe("late");
    });

    it("passes closeWrite on as the end of stream and keeps the other direction open (half-close)", async () => {
      const { a, b } = await pair();
      await a.write(text("question"));
      await a.closeWrite();
      expect((await readAll(b)).toString()).toBe("question");
      expect(await b.read()).toBeNull();
      await b.write(text("answer after your FIN"));
      await b.closeWrite();
      expect((await readAll(a)).toString()).toBe("answer after your FIN");
    });

    it("loses nothing when the writer runs ahead of a reader that is late (write is the backpressure)", async () => {
      const { a, b } = await pair();
      const data = randomBytes(4 << 20);
      const writing = send(a, data, 64 * 1024);
      await sleep(200);
      const got = await readAll(b);
      await writing;
      expect(got.length).toBe(data.length);
      expect(got.equals(data)).toBe(true);
    });

    it("keeps no hold on a written buffer once write resolved (the caller may reuse it)", async () => {
      const { a, b } = await pair();
      const buf = new Uint8Array(1000).fill(1);
      await a.write(buf);
      buf.fill(2);
      await a.write(buf);
      await a.closeWrite();
      const got = await readAll(b);
      expect(got.length).toBe(2000);
      expect(got.subarray(0, 1000).every((x) => x === 1)).toBe(true);
      expect(got.subarray(1000).every((x) => x === 2)).toBe(true);
    });

    it("names each end's address as the other end's peer", async () => {
      const { a, b } = await pair();
      expect(a.local.port).toBe(b.remote.port);
      expect(a.remote.port).toBe(b.local.port);
      expect(a.local.hostname).toBe(b.remote.hostname);
      expect(a.remote.hostname).toBe(b.local.hostname);
    });

    it("ends a read that waits with null when the peer closes", async () => {
      const { a, b } = await pair();
      const waiting = b.read();
      a.close();
      expect(await waiting).toBeNull();
    });

    it("takes close() twice, resolves closed on both ends once both closed", async () => {
      const { a, b } = await pair();
      a.close();
      a.close();
      await a.closed;
      expect(await b.read()).toBeNull();
      b.close();
      await b.closed;
      b.close();
    });

    it("settles a read that waits when this end closes (it does not hang)", async () => {
      const { b } = await pair();
      const waiting = b.read();
      b.close();
      expect(await settlesWithin(waiting, 1000)).toBe(true);
    });

    it("reads by callback (readNext, where it has it) the same bytes as by promise, then the end", async () => {
      const { a, b } = await pair();
      if (b.readNext === undefined) return expect(a.readNext).toBeUndefined();
      const data = randomBytes(1 << 20);
      const [got] = await Promise.all([readAllNext(b), send(a, data)]);
      expect(got.equals(data)).toBe(true);
    });

    it("relays with pipeTo (where it has it) every byte in order, then passes the FIN on", async () => {
      const from = await pair();
      const to = await pair();
      if (from.b.pipeTo === undefined) return expect(from.a.pipeTo).toBeUndefined();
      const { ends, report } = recordEnds(true);
      from.b.pipeTo(to.a, ends);
      const data = randomBytes(2 << 20);
      const [got] = await Promise.all([readAll(to.b), send(from.a, data)]);
      expect(await report.ended).toBeNull();
      expect(got.equals(data)).toBe(true);
      expect(report.bytes).toBe(data.length);
      expect(report.halfCloseAsked).toBe(1);
      expect(report.endedCalls).toBe(1);
    });

    it("relays with pipeTo and keeps the destination open when halfClose says no", async () => {
      const from = await pair();
      const to = await pair();
      if (from.b.pipeTo === undefined) return expect(from.a.pipeTo).toBeUndefined();
      const { ends, report } = recordEnds(false);
      from.b.pipeTo(to.a, ends);
      await send(from.a, text("all of it"));
      expect(await report.ended).toBeNull();
      expect(Buffer.from((await to.b.read())!).toString()).toBe("all of it");
      expect(await settlesWithin(to.b.read(), 200)).toBe(false);
      await to.a.write(text(", and more"));
      await to.a.closeWrite();
      expect(report.endedCalls).toBe(1);
    });

    it("reports an error from pipeTo when the destination is closed", async () => {
      const from = await pair();
      const to = await pair();
      if (from.b.pipeTo === undefined) return expect(from.a.pipeTo).toBeUndefined();
      const { ends, report } = recordEnds(true);
      to.a.close();
      from.b.pipeTo(to.a, ends);
      await from.a.write(text("into a closed connection")).catch(() => {});
      await from.a.closeWrite().catch(() => {});
      expect(await report.ended).toBeInstanceOf(Error);
      expect(report.endedCalls).toBe(1);
    });
  });
}

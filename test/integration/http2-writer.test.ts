/**
 * The HTTP/2 frame writer over a real loopback connection of the runtime under test:
 * frames queued in one turn leave in one batch, in order, and a batch whose write the
 * socket could not take at once (the reader is not reading) is not overwritten by the
 * frames queued while it waits, which now go into the writer's reused buffer.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type ConnPair, loopbackPair, readAll } from "../helpers/tcp-conn.ts";
import { FrameWriter, PER_MICROTASK, PER_TURN } from "../../src/http2/writer.ts";

const pairs: ConnPair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) await p.close();
});

async function pair(): Promise<ConnPair> {
  const p = await loopbackPair();
  pairs.push(p);
  return p;
}

/** A frame whose every payload byte is `fill`, `n` bytes long, on stream `id`. */
function frame(id: number, n: number, fill: number): Uint8Array {
  const f = new Uint8Array(9 + n).fill(fill);
  f.set([n >>> 16, (n >>> 8) & 0xff, n & 0xff, 0, 0, id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff]);
  return f;
}

interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Uint8Array;
}

/** The frames in `bytes`, by their 9-byte headers alone (this test's frames, not a peer's). */
function readFrames(bytes: Uint8Array): RawFrame[] {
  const out: RawFrame[] = [];
  let at = 0;
  while (at < bytes.length) {
    const n = (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
    const stream = ((bytes[at + 5] << 24) | (bytes[at + 6] << 16) | (bytes[at + 7] << 8) | bytes[at + 8]) >>> 0;
    out.push({ type: bytes[at + 3], flags: bytes[at + 4], stream, payload: bytes.subarray(at + 9, at + 9 + n) });
    at += 9 + n;
  }
  expect(at).toBe(bytes.length);
  return out;
}

describe("FrameWriter", () => {
  for (const flush of [PER_TURN, PER_MICROTASK] as const) {
    it(`writes every frame whole and in order, DATA written in place among copied frames (${flush})`, async () => {
      const { a, b } = await pair();
      const w = new FrameWriter(a, { flush });
      const payload = new Uint8Array(300).map((_, i) => i & 0xff);
      for (let id = 1; id <= 99; id += 2) {
        w.push(frame(id, 5, id));
        w.pushData(id, true, payload, 7, 7 + id);
      }
      expect(await w.queue(frame(101, 0, 0))).toBe(true);
      a.close();
      const got = readFrames(await readAll(b));
      expect(got.map((f) => f.stream)).toEqual([
        ...Array.from({ length: 50 }, (_, i) => [2 * i + 1, 2 * i + 1]).flat(),
        101,
      ]);
      for (let i = 0; i < 50; i++) {
        const id = 2 * i + 1;
        expect([...got[2 * i].payload]).toEqual(new Array(5).fill(id));
        expect(got[2 * i + 1].type).toBe(0); // DATA
        expect(got[2 * i + 1].flags & 1).toBe(1); // END_STREAM
        expect([...got[2 * i + 1].payload]).toEqual([...payload.subarray(7, 7 + id)]);
      }
    });
  }

  it("keeps a batch the socket has not taken intact while later frames are queued, and says when all went out", async () => {
    const { a, b } = await pair();
    const w = new FrameWriter(a, { flush: PER_TURN });
    // Far more than loopback buffers hold while b does not read (Linux lets them grow to
    // a few MB each way): writes stop taking everything at once, and batches queue
    // behind them. 24 MB.
    const frames: Uint8Array[] = [];
    let id = 1;
    for (let batch = 0; batch < 64; batch++) {
      for (let k = 0; k < 8; k++, id += 2) {
        const f = frame(id, 48_000, id & 0xff);
        frames.push(f);
        w.push(f);
      }
      await new Promise((r) => setImmediate(r));
    }
    let drained = false;
    const done = w.drained().then((ok) => (drained = ok));
    await new Promise((r) => setTimeout(r, 50));
    expect(drained).toBe(false); // b has read nothing: the writer still holds bytes
    const reading = readAll(b);
    await done;
    expect(drained).toBe(true);
    a.close();
    const got = readFrames(await reading);
    expect(got.length).toBe(frames.length);
    for (let i = 0; i < frames.length; i++) {
      expect(got[i].stream).toBe(2 * i + 1);
      expect(got[i].payload.every((x) => x === ((2 * i + 1) & 0xff))).toBe(true);
    }
  });

  it("resolves queue() false once the connection is gone", async () => {
    const { a, b } = await pair();
    const w = new FrameWriter(a, { flush: PER_MICROTASK });
    b.close();
    a.close();
    expect(await w.queue(frame(1, 10, 1))).toBe(false);
    expect(w.failed).toBe(true);
    expect(w.push(frame(3, 10, 3))).toBe(false);
  });
});

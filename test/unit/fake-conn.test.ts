/**
 * The in-memory connection pair the engine, connection and checker tests run on
 * (test/helpers/fake-conn.ts): that it keeps TcpConn's contract (src/runtime/types.ts),
 * and that its test hooks do what they say.
 */
import { describe, expect, it } from "vitest";
import { WRITTEN } from "../../src/runtime/written.ts";
import { bytes, fakeConnPair, settle } from "../helpers/fake-conn.ts";

const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

describe("fakeConnPair: the TcpConn contract", () => {
  it("delivers what one end writes to the other, in order, each write taken at once", async () => {
    const { a, b } = fakeConnPair();
    expect(a.write(bytes("one"))).toBe(WRITTEN);
    await a.write(bytes("two"));
    expect(text(await b.read())).toBe("one");
    expect(text(await b.read())).toBe("two");
  });

  it("closeWrite() ends the peer's reads after what was sent, and leaves the other way open", async () => {
    const { a, b } = fakeConnPair();
    await a.write(bytes("last"));
    await a.closeWrite();
    expect(text(await b.read())).toBe("last");
    expect(await b.read()).toBeNull();
    await b.write(bytes("reply"));
    expect(text(await a.read())).toBe("reply");
    await expect(a.write(bytes("more"))).rejects.toThrow();
  });

  it("closed resolves once both ways have ended, or on close(); close() may be called twice", async () => {
    const { a, b, close } = fakeConnPair();
    await a.closeWrite();
    await b.closeWrite();
    await Promise.all([a.closed, b.closed]);
    const other = fakeConnPair();
    other.a.close();
    other.a.close();
    await other.a.closed;
    await close();
  });

  it("close() ends a read waiting on either end, and the peer's writes then fail", async () => {
    const { a, b } = fakeConnPair();
    const waitingHere = a.read();
    const waitingThere = b.read();
    a.close();
    expect(await waitingHere).toBeNull();
    expect(await waitingThere).toBeNull();
    await expect(b.write(bytes("x"))).rejects.toThrow("connection reset by peer");
  });

  it("readNext answers at once when a chunk is queued, else from the microtask queue when one comes", async () => {
    const { a, b } = fakeConnPair({ readNext: true });
    await a.write(bytes("queued"));
    const got: Array<string | null> = [];
    b.readNext!((r) => got.push(r instanceof Error ? "error" : text(r)));
    expect(got).toEqual(["queued"]);
    b.readNext!((r) => got.push(r instanceof Error ? "error" : text(r)));
    void a.write(bytes("later"));
    expect(got).toEqual(["queued"]); // not inside the writer's call
    await settle();
    expect(got).toEqual(["queued", "later"]);
  });
});

describe("fakeConnPair: test hooks", () => {
  it("records every write, cuts writes into maxChunk pieces, and coalesces reads when asked", async () => {
    const { a, b } = fakeConnPair({ maxChunk: 2 });
    await a.write(bytes("abcde"));
    expect(a.written.map(text)).toEqual(["abcde"]);
    expect([text(await b.read()), text(await b.read()), text(await b.read())]).toEqual(["ab", "cd", "e"]);
    b.coalesce = true;
    await a.writePieces("xyz", [1]);
    expect(text(await b.read())).toBe("xyz");
    expect(a.writtenText()).toBe("abcdexyz");
  });

  it("holds writes to an end that does not read (highWaterMark), until it reads", async () => {
    const { a, b } = fakeConnPair({ highWaterMark: 0 });
    let taken = false;
    const write = a.write(bytes("data")).then(() => (taken = true));
    await settle();
    expect(taken).toBe(false);
    expect(b.blockedWrites).toBe(1);
    expect(b.queued).toBe(4);
    expect(text(await b.read())).toBe("data");
    await write;
    expect(taken).toBe(true);
  });

  it("with reuseBuffer, a chunk kept past the next read is overwritten, as the adapters' are", async () => {
    const { a, b } = fakeConnPair({ reuseBuffer: true });
    await a.write(bytes("first"));
    await a.write(bytes("2nd"));
    const first = await b.read();
    await b.read();
    expect(text(first)).not.toBe("first");
  });
});

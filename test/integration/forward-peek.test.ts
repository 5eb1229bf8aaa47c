/**
 * Peeking at a real connection: detection reads the first bytes and gives them back,
 * so what is forwarded afterwards is byte-identical, whatever the outcome.
 */
import { afterAll, describe, expect, it } from "vitest";
import { runtime } from "../../src/runtime/mod.ts";
import type { TcpConn } from "../../src/runtime/types.ts";
import { ReplayConn } from "../../src/forward/replay-conn.ts";
import { peek } from "../../src/forward/peek.ts";
import { connect } from "../helpers/raw-client.ts";
import type net from "node:net";

const accepted: TcpConn[] = [];
let waiting: ((c: TcpConn) => void) | null = null;
const listener = await runtime().listenTcp({ hostname: "127.0.0.1", port: 0 }, (c) => {
  if (waiting) waiting(c);
  else accepted.push(c);
});
afterAll(() => listener.close());

async function pair(): Promise<{ client: net.Socket; server: ReplayConn }> {
  const got = new Promise<TcpConn>((resolve) => (waiting = resolve));
  const client = await connect(listener.addr.port);
  const server = new ReplayConn(await got);
  waiting = null;
  return { client, server };
}

async function readAll(conn: TcpConn): Promise<string> {
  const parts: string[] = [];
  for (let c = await conn.read(); c !== null; c = await conn.read()) parts.push(new TextDecoder().decode(c));
  return parts.join("");
}

/** Decides once a newline has arrived: the first line. */
const firstLine = (buf: Uint8Array) => {
  const i = buf.indexOf(10);
  return i < 0 ? undefined : new TextDecoder().decode(buf.subarray(0, i));
};

describe("peek", () => {
  it("decides across several segments and replays every byte", async () => {
    const { client, server } = await pair();
    client.write("HEL");
    setTimeout(() => client.write("LO\nrest of the stream"), 30);
    setTimeout(() => client.end(" and more"), 60);
    const out = await peek(server, firstLine, 1024, 2000);
    expect(out.kind).toBe("decided");
    expect(out.kind === "decided" && out.value).toBe("HELLO");
    expect(await readAll(server)).toBe("HELLO\nrest of the stream and more");
    server.close();
  });

  it("times out on a silent client, and the bytes that come later are not lost", async () => {
    const { client, server } = await pair();
    const out = await peek(server, firstLine, 1024, 100);
    expect(out).toEqual({ kind: "timeout", bytes: new Uint8Array(0) });
    client.end("late bytes");
    expect(await readAll(server)).toBe("late bytes");
    server.close();
  });

  it("stops at the size bound and replays what it read", async () => {
    const { client, server } = await pair();
    client.end("x".repeat(300));
    const out = await peek(server, firstLine, 100, 2000);
    expect(["too-big", "eof"]).toContain(out.kind);
    expect(await readAll(server)).toBe("x".repeat(300));
    server.close();
  });

  it("reports eof when the client closes before a decision, keeping its bytes", async () => {
    const { client, server } = await pair();
    client.end("no newline");
    const out = await peek(server, firstLine, 1024, 2000);
    expect(out.kind).toBe("eof");
    expect(new TextDecoder().decode(out.bytes)).toBe("no newline");
    expect(await readAll(server)).toBe("no newline");
    server.close();
  });
});

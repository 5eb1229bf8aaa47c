/**
 * The runtime adapter's own connections (`TcpConn`, src/runtime/types.ts) as fixtures:
 * a connected loopback pair from `listenTcp` and `connectTcp` of the runtime under test
 * (Bun's adapter under `bun test`, Deno's under vitest on Deno), and a reader that
 * drains one to its end. The TcpConn contract (test/contracts/tcp-conn.contract.ts)
 * runs over these pairs; a fake in-memory pair can be handed to it the same way.
 */
import { runtime } from "../../src/runtime/mod.ts";
import type { TcpConn } from "../../src/runtime/types.ts";

/** Two connected ends and how to let go of both (and of whatever made them). */
export interface ConnPair {
  /** The end that connected (the client). */
  a: TcpConn;
  /** The end that was accepted. */
  b: TcpConn;
  close(): Promise<void>;
}

/** Makes a fresh pair each call: what the TcpConn contract takes. */
export type MakePair = () => Promise<ConnPair>;

/** A connection from `connectTcp` and the one `listenTcp` accepted for it, on 127.0.0.1. */
export async function loopbackPair(): Promise<ConnPair> {
  const rt = runtime();
  let accepted!: (c: TcpConn) => void;
  const b = new Promise<TcpConn>((resolve) => (accepted = resolve));
  const listener = await rt.listenTcp({ hostname: "127.0.0.1", port: 0 }, (c) => accepted(c));
  try {
    const a = await rt.connectTcp({ hostname: "127.0.0.1", port: listener.addr.port }, 2000);
    const pair: ConnPair = {
      a,
      b: await b,
      close: async () => {
        pair.a.close();
        pair.b.close();
        await Promise.all([pair.a.closed, pair.b.closed]);
      },
    };
    return pair;
  } finally {
    listener.close(); // the pair stays open; no more connections are wanted
  }
}

/** Everything a connection reads until the end of stream, copied (read() may reuse its buffer). */
export async function readAll(conn: Pick<TcpConn, "read">): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let c = await conn.read(); c !== null; c = await conn.read()) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/**
 * relay() on the runtime under test, between two of its own TCP connections (the
 * runtime's pipe fast path) and through a ReplayConn (the generic read/write loop):
 * bytes that arrived before the relay began go first, a FIN follows every byte before
 * it even when the reader is slow, backpressure holds both ways, counts are exact, and
 * the idle timeout spares a connection that keeps talking.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createHash, randomBytes } from "node:crypto";
import type net from "node:net";
import { runtime } from "../../src/runtime/mod.ts";
import type { TcpConn, TcpListener } from "../../src/runtime/types.ts";
import { relay, type RelayResult } from "../../src/forward/tcp.ts";
import { ReplayConn } from "../../src/forward/replay-conn.ts";
import { closeAll, echoServer, startServer } from "../helpers/net.ts";
import { connect, readBytes } from "../helpers/raw-client.ts";
import { waitFor } from "../helpers/wait.ts";

const listeners: TcpListener[] = [];

afterEach(async () => {
  for (const l of listeners.splice(0)) l.close();
  await closeAll();
});

interface RelayProxy {
  port: number;
  /** Results of the relays, in the order the connections were accepted. */
  results: Promise<RelayResult>[];
}

/**
 * A minimal L4 proxy on the runtime adapter: each accepted connection is relayed to
 * `backendPort`. `before` runs first (to let bytes pile up, or to wrap the conn).
 */
async function relayProxy(
  backendPort: number,
  opts: { idleMs?: number; before?: (c: TcpConn) => Promise<TcpConn> } = {},
): Promise<RelayProxy> {
  const results: Promise<RelayResult>[] = [];
  const rt = runtime();
  const listener = await rt.listenTcp({ hostname: "127.0.0.1", port: 0 }, (accepted) => {
    results.push((async () => {
      const client = opts.before ? await opts.before(accepted) : accepted;
      const upstream = await rt.connectTcp({ hostname: "127.0.0.1", port: backendPort }, 2000);
      try {
        return await relay(client, upstream, opts.idleMs ?? 60_000, { upstream() {}, downstream() {} });
      } finally {
        client.close();
        upstream.close();
      }
    })());
  });
  listeners.push(listener);
  return { port: listener.addr.port, results };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Everything a socket receives until its peer's FIN. */
function readToEnd(s: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on("data", (d) => parts.push(d));
  return new Promise((resolve, reject) => {
    s.once("end", () => resolve(Buffer.concat(parts)));
    s.once("error", reject);
  });
}

describe("relay", () => {
  it("forwards the bytes a client sent before the relay began first, then the rest, then its FIN", async () => {
    let backendGot: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    const backend = await startServer((s) => {
      backendGot = readToEnd(s);
      s.on("end", () => s.end("bye"));
    });
    // The relay starts only after the client's first bytes (and FIN) have arrived.
    const proxy = await relayProxy(backend.port, { before: async (c) => (await sleep(150), c) });
    const client = await connect(proxy.port);
    const reply = readToEnd(client);
    client.write("first;");
    client.write("second;");
    client.end("third");
    expect((await reply).toString()).toBe("bye");
    expect((await backendGot).toString()).toBe("first;second;third");
    expect((await proxy.results[0]).reason).toBe("done");
  });

  it("replays bytes a peek gave back before anything new (generic loop)", async () => {
    let backendGot: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    const backend = await startServer((s) => {
      backendGot = readToEnd(s);
      s.on("end", () => s.end());
    });
    const proxy = await relayProxy(backend.port, {
      before: async (c) => {
        const replay = new ReplayConn(c);
        const first = await replay.read();
        replay.unread(Uint8Array.from(first!)); // a peek's copy, handed back
        return replay;
      },
    });
    const client = await connect(proxy.port);
    const reply = readToEnd(client);
    client.write("peeked;");
    await sleep(100);
    client.end("later");
    await reply;
    expect((await backendGot).toString()).toBe("peeked;later");
  });

  it("counts each direction exactly and reports done when both sides finished", async () => {
    const up = randomBytes(3 * 65536 + 17);
    const down = randomBytes(5 * 65536 + 1);
    const backend = await startServer((s) => {
      s.on("data", () => {});
      s.on("end", () => s.end(down));
    });
    const proxy = await relayProxy(backend.port);
    const client = await connect(proxy.port);
    const reply = readToEnd(client);
    client.end(up);
    expect((await reply).equals(down)).toBe(true);
    const result = await proxy.results[0];
    expect(result).toEqual({ upstreamBytes: up.length, downstreamBytes: down.length, reason: "done" });
  });

  it("carries messages of every size around the read buffer sizes byte-exact", async () => {
    const echo = await echoServer();
    const proxy = await relayProxy(echo.port);
    const client = await connect(proxy.port);
    for (const size of [1, 1023, 1024, 1025, 4096, 65535, 65536, 65537, 300_000, 7]) {
      const msg = randomBytes(size);
      client.write(msg);
      expect((await readBytes(client, size)).equals(msg)).toBe(true);
    }
    client.end();
    await proxy.results[0];
  }, 20000);

  it("stalls a backend whose client does not read, then delivers every byte before the backend's FIN", async () => {
    const sent = createHash("sha256");
    let written = 0;
    let stalled = false;
    const backend = await startServer((s) => {
      // Writes until the socket pushes back for a while, then ends: the FIN must wait
      // behind everything still on its way.
      const chunk = () => Buffer.alloc(1 << 20, written >> 20);
      const pump = () => {
        while (written < 512 << 20) {
          const c = chunk();
          sent.update(c);
          written += c.length;
          if (!s.write(c)) {
            const timer = setTimeout(() => {
              s.off("drain", pump);
              stalled = true;
              s.end();
            }, 700);
            s.once("drain", () => (clearTimeout(timer), pump()));
            return;
          }
        }
        s.end();
      };
      pump();
    });
    const proxy = await relayProxy(backend.port);
    const client = await connect(proxy.port);
    client.pause();
    await waitFor("the backend's writes stall", () => stalled, 15000);
    // Kernel buffers on loopback hold a few MB per socket: far less than was offered.
    expect(written).toBeLessThan(96 << 20);
    const got = createHash("sha256");
    let gotBytes = 0;
    const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
    client.on("data", (d) => {
      got.update(d);
      gotBytes += d.length;
    });
    client.resume();
    await ended;
    expect(gotBytes).toBe(written);
    expect(got.digest("hex")).toBe(sent.digest("hex"));
    client.end();
    expect((await proxy.results[0]).reason).toBe("done");
  }, 30000);

  it("keeps half-closed connections flowing the other way with a slow reader", async () => {
    // The client sends 8 MB and its FIN; the backend reads slowly and answers after the FIN.
    const payload = randomBytes(8 << 20);
    let backendGot = 0;
    const backend = await startServer((s) => {
      s.pause();
      const slowly = setInterval(() => {
        s.resume();
        setTimeout(() => s.pause(), 5);
      }, 20);
      s.on("data", (d) => (backendGot += d.length));
      s.on("end", () => {
        clearInterval(slowly);
        s.end(`got ${backendGot}`);
      });
    });
    const proxy = await relayProxy(backend.port);
    const client = await connect(proxy.port);
    const reply = readToEnd(client);
    client.end(payload);
    expect((await reply).toString()).toBe(`got ${payload.length}`);
    expect((await proxy.results[0]).upstreamBytes).toBe(payload.length);
  }, 30000);

  it("closes an idle relay, but not one whose bytes keep moving", async () => {
    const echo = await echoServer();
    const proxy = await relayProxy(echo.port, { idleMs: 300 });
    const client = await connect(proxy.port);
    let closed = false;
    client.on("end", () => (closed = true));
    // Talks for three idle periods, a byte every 100 ms: the relay stays.
    let quietSince = 0;
    for (let i = 0; i < 9; i++) {
      await sleep(100);
      client.write("x");
      await readBytes(client, 1);
      quietSince = Date.now();
    }
    expect(closed).toBe(false);
    const result = await proxy.results[0];
    expect(result.reason).toBe("idle");
    expect(Date.now() - quietSince).toBeGreaterThanOrEqual(290);
    await waitFor("the client sees the close", () => closed);
  });

  it("ends both sides when one side fails", async () => {
    const backend = await startServer((s) => {
      s.once("data", () => s.resetAndDestroy());
    });
    const proxy = await relayProxy(backend.port);
    const client = await connect(proxy.port);
    const end = new Promise<void>((resolve) => client.once("end", () => resolve()));
    client.on("error", () => {});
    client.on("data", () => {});
    client.write("hello");
    await end;
    expect((await proxy.results[0]).reason).not.toBe("done");
  });
});

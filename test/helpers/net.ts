/**
 * Real loopback TCP servers for integration tests (a handler of your own, an echo, one
 * that names itself) and a free port, on node:net so they run the same on Deno and Bun
 * and do not share code with the adapter under test. Every server is tracked and closed
 * by `closeAll()` (call it in afterEach/afterAll). The client side is in raw-client.ts.
 */
import net from "node:net";
import { readFileSync } from "node:fs";

const open = new Set<{ close(): Promise<void> }>();

export interface TestServer {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 (or another loopback `host`) with an ephemeral port (or `port`). */
export function startServer(onSocket: (s: net.Socket) => void, port = 0, host = "127.0.0.1"): Promise<TestServer> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      handle.accepted++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
      onSocket(s);
    });
    const handle: TestServer = {
      port: 0,
      accepted: 0,
      close: () =>
        new Promise<void>((done) => {
          open.delete(handle);
          for (const s of sockets) s.destroy();
          server.close(() => done());
        }),
    };
    server.once("error", reject);
    server.listen(port, host, () => {
      handle.port = (server.address() as net.AddressInfo).port;
      open.add(handle);
      resolve(handle);
    });
  });
}

/** Echoes every byte back; passes the client's FIN on after the echo. */
export function echoServer(port = 0): Promise<TestServer> {
  return startServer((s) => {
    s.on("data", (d) => s.write(d));
    s.on("end", () => s.end());
  }, port);
}

/** Answers each connection with its own name and closes: tells which backend was hit. */
export function nameServer(name: string, port = 0, host = "127.0.0.1"): Promise<TestServer> {
  return startServer(
    (s) => {
      s.on("data", () => {});
      s.end(name);
    },
    port,
    host,
  );
}

export async function closeAll(): Promise<void> {
  await Promise.all([...open].map((s) => s.close()));
}

/**
 * Where freePort looks: below the kernel's ephemeral range (Linux's
 * ip_local_port_range, 32768-60999 by default), the range it takes port 0's and every
 * outgoing connection's local port from. A port picked from that range and released can
 * be taken by some test's outgoing connection before the server meant for it binds it
 * (an etcd that then ends with "address already in use" failed a CI run so). Below it,
 * only another freePort can take it. null where the range leaves too little room below.
 */
const PICK_RANGE = ((): { low: number; high: number } | null => {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  } catch { /* not Linux: its default */ }
  return low >= 12_000 ? { low: Math.max(10_000, low - 12_768), high: low } : null;
})();

/**
 * The next port freePort tries: from a random start per process, one after another, so
 * a process never hands out the same port twice and two processes (vitest's workers)
 * rarely meet.
 */
let nextPick = PICK_RANGE === null
  ? 0
  : PICK_RANGE.low + Math.floor(Math.random() * (PICK_RANGE.high - PICK_RANGE.low));

/** A port that nothing listens on (bound once, then released), outside the ephemeral range where it can be. */
export async function freePort(): Promise<number> {
  if (PICK_RANGE !== null) {
    for (let tries = 0; tries < 100; tries++) {
      const port = nextPick;
      nextPick = port + 1 < PICK_RANGE.high ? port + 1 : PICK_RANGE.low;
      const s = await startServer(() => {}, port).catch(() => null);
      if (s === null) continue; // in use
      await s.close();
      return port;
    }
  }
  const s = await startServer(() => {});
  const port = s.port;
  await s.close();
  return port;
}

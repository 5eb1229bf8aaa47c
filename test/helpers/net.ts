/**
 * Real loopback TCP servers for integration tests (a handler of your own, an echo, one
 * that names itself) and a free port, on node:net so they run the same on Deno and Bun
 * and do not share code with the adapter under test. Every server is tracked and closed
 * by `closeAll()` (call it in afterEach/afterAll). The client side is in raw-client.ts.
 */
import net from "node:net";

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

/** A port that nothing listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const s = await startServer(() => {});
  const port = s.port;
  await s.close();
  return port;
}

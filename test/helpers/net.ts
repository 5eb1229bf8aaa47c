/**
 * Real loopback servers and clients for integration tests, on node:net so they run
 * the same on Deno and Bun and do not share code with the adapter under test.
 * Every server is tracked and closed by `closeAll()` (call it in afterEach/afterAll).
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

/** Connects, sends `data` (then FIN when `end`), and collects everything until the server closes. */
export function exchange(port: number, data: Uint8Array | string = "", opts: { end?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      if (data.length) s.write(data);
      if (opts.end ?? true) s.end();
    });
    s.on("data", (d) => chunks.push(d));
    s.on("end", () => {
      s.end();
      resolve(Buffer.concat(chunks));
    });
    s.on("error", reject);
  });
}

/** A bare client socket, connected. */
export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Reads from a socket until `n` bytes have arrived. */
export function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    // Listeners come off when done, so a long conversation does not pile them up.
    const cleanup = () => {
      s.off("data", onData);
      s.off("error", onError);
      s.off("end", onEnd);
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= n) {
        cleanup();
        resolve(Buffer.concat(chunks));
      }
    };
    const onError = (err: Error) => (cleanup(), reject(err));
    const onEnd = () => (cleanup(), reject(new Error(`stream ended after ${got} of ${n} bytes`)));
    s.on("data", onData);
    s.on("error", onError);
    s.on("end", onEnd);
  });
}

/** A port that nothing listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const s = await startServer(() => {});
  const port = s.port;
  await s.close();
  return port;
}

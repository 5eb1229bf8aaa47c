/**
 * The Deno implementation of the runtime adapter: Deno.listen/connect with a
 * read/write loop over one reused buffer per connection (DESIGN: readable.pipeTo is
 * 5x slower), node:dns for TTLs (Deno.resolveDns does not report them), Deno.serve
 * for the status endpoint.
 */
import { watchFile } from "./watch.ts";
import type {
  HttpServer,
  Runtime,
  SignalName,
  SocketAddress,
  TcpConn,
  TcpListener,
} from "./types.ts";
import { withTimeout } from "./timeout.ts";
import { acceptEach, addrOf, DenoTcpConn } from "./deno-conn.ts";
import { listenError, resolveWithTtl } from "./net-common.ts";
import { listenTlsDeno } from "./tls-deno.ts";
import type { UdpSocket } from "./types.ts";


const closeConn = (c: any) => c.close();
const connOf = (c: any): TcpConn => new DenoTcpConn(c);

export function createDenoRuntime(): Runtime {
  return {
    name: "deno",
    version: Deno.version.deno,
    args: [...Deno.args],
    pid: Deno.pid,
    cpuCount: () => navigator.hardwareConcurrency || 1,
    selfCommand: () =>
      Deno.build.standalone
        ? [Deno.execPath()]
        : [Deno.execPath(), "run", "--allow-all", "--unstable-net", decodeURIComponent(new URL(Deno.mainModule).pathname)],

    async listenTcp(addr, onConn, options): Promise<TcpListener> {
      let listener: any;
      try {
        listener = Deno.listen({
          hostname: addr.hostname,
          port: addr.port,
          transport: "tcp",
          ...(options?.reusePort ? { reusePort: true } : {}),
        });
      } catch (err) {
        throw listenError(addr, err);
      }
      acceptEach(listener, (c) => onConn(new DenoTcpConn(c)));
      return {
        addr: addrOf(listener.addr),
        close: () => {
          try {
            listener.close();
          } catch { /* already closed */ }
        },
      };
    },

    connectTcp(addr, timeoutMs): Promise<TcpConn> {
      const pending = Deno.connect({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
      return withTimeout(pending, timeoutMs, "connect", closeConn, connOf);
    },

    listenTls: listenTlsDeno,

    resolveDns: resolveWithTtl,

    async serveHttp(addr, handler): Promise<HttpServer> {
      let server: any;
      await new Promise<void>((resolve, reject) => {
        try {
          server = Deno.serve({
            hostname: addr.hostname,
            port: addr.port,
            onListen: () => resolve(),
            onError: () => new Response("internal error", { status: 500 }),
          }, (req: Request, info: { remoteAddr?: { hostname: string; port: number } }) =>
            handler(req, { remote: info.remoteAddr ? addrOf(info.remoteAddr) : null }));
        } catch (err) {
          reject(listenError(addr, err));
        }
      });
      return { addr: addrOf(server.addr), close: () => server.shutdown() };
    },

    bindUdp: async (addr, onMessage) => bindDenoUdp(addr, onMessage),

    onSignal(signal: SignalName, handler: () => void) {
      Deno.addSignalListener(signal, handler);
    },

    readTextFile: (path) => Deno.readTextFile(path),
    watchFile,

    exit(code: number): never {
      Deno.exit(code);
      throw new Error("unreachable");
    },
  };
}

// ---- UDP ----

// Room for the largest datagram (65507 bytes over IPv4, 65527 over IPv6). One buffer per
// socket, reused; each datagram is copied out at its own size, so a kept small datagram
// does not pin 64 KiB.
const UDP_BUFFER_BYTES = 64 * 1024;

/** Deno.listenDatagram needs --unstable-net (DESIGN, "Runtime facts"). */
function bindDenoUdp(addr: SocketAddress, onMessage: (data: Uint8Array, from: SocketAddress) => void): UdpSocket {
  let conn: any;
  try {
    conn = Deno.listenDatagram({ transport: "udp", hostname: addr.hostname, port: addr.port });
  } catch (err) {
    if (typeof Deno.listenDatagram !== "function") {
      throw new Error("UDP on Deno needs the --unstable-net flag (or \"unstable\": [\"net\"] in deno.json)");
    }
    throw listenError(addr, err);
  }
  let closed = false;
  (async () => {
    const buf = new Uint8Array(UDP_BUFFER_BYTES);
    while (!closed) {
      let got: [Uint8Array, { hostname: string; port: number }];
      try {
        got = await conn.receive(buf);
      } catch (err) {
        if (closed || err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
        // A transient error (e.g. ENOBUFS): back off a little rather than spin.
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      // The view points into `buf`, which the next receive overwrites: copy it.
      const data = got[0].slice();
      try {
        onMessage(data, addrOf(got[1]));
      } catch (err) {
        // A handler's bug must not stop the socket from receiving.
        console.error("udp handler failed:", err);
      }
    }
  })();
  return {
    addr: addrOf(conn.addr),
    send(data, to) {
      // Datagram send is best effort; a failed one is a lost datagram, as on the wire.
      conn.send(data, { transport: "udp", hostname: to.hostname, port: to.port }).catch(() => {});
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
}

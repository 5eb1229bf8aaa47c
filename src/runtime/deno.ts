/**
 * The Deno implementation of the runtime adapter: Deno.listen/connect with a
 * read/write loop over one reused buffer per connection (DESIGN: readable.pipeTo is
 * 5x slower), node:dns for TTLs (Deno.resolveDns does not report them), Deno.serve
 * for the status endpoint (deno-serve.ts).
 */
import { connectTlsNode } from "./tls-client.ts";
import { watchFile } from "./watch.ts";
import { closeSignalInspector } from "./deno-inspector.ts";
import type { ListenOptions, Runtime, SignalName, SocketAddress, TcpConn, TcpListener } from "./types.ts";
import { withTimeout } from "./timeout.ts";
import { acceptEach, addrOf, DenoTcpConn } from "./deno-conn.ts";
import { listenError, resolveWithTtl } from "./net-common.ts";
import { listenTlsDeno } from "./tls-deno.ts";
import { listenTlsNode } from "./tls-node.ts";
import { TLS_CIPHERS_UNSUPPORTED } from "./tls-server-options.ts";
import { listenTlsSource } from "./tls-node-source.ts";
import { serveDenoHttp } from "./deno-serve.ts";
import type { UdpSocket } from "./types.ts";
import { outOfFiles, raiseFileLimit, type RlimitCalls } from "./fd-limit.ts";
import { denoRunCommand } from "./deno-flags.ts";

const closeConn = (c: Deno.TcpConn) => c.close();

/** libc's getrlimit/setrlimit through Deno.dlopen (needs --allow-ffi), or null. */
function denoRlimit(): RlimitCalls | null {
  try {
    const darwin = Deno.build.os === "darwin";
    const lib = Deno.dlopen(
      darwin ? "libSystem.B.dylib" : "libc.so.6",
      {
        getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
        setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
      } as const,
    );
    const RLIMIT_NOFILE = darwin ? 8 : 7;
    const buf = new BigUint64Array(2);
    return {
      get: () => (lib.symbols.getrlimit(RLIMIT_NOFILE, buf) === 0 ? [Number(buf[0]), Number(buf[1])] : null),
      set(soft: number) {
        buf[0] = BigInt(soft);
        return lib.symbols.setrlimit(RLIMIT_NOFILE, buf) === 0;
      },
    };
  } catch {
    return null;
  }
}
const connOf = (c: Deno.TcpConn): TcpConn => new DenoTcpConn(c);

/**
 * How to start this same program again (a worker of `--workers N`, the new process of
 * `vane upgrade`): the binary, or deno running the main module. The executable's path
 * is read once, at start: once a new binary was renamed over it, the system names
 * the running one "PATH (deleted)", and the upgrade must start what is at PATH now.
 */
function denoSelfCommand(executable: string): string[] {
  const main = decodeURIComponent(new URL(Deno.mainModule).pathname);
  return denoRunCommand(executable, main, Deno.build.standalone === true);
}

export function createDenoRuntime(): Runtime {
  const executable = Deno.execPath();
  return {
    name: "deno",
    version: Deno.version.deno,
    args: [...Deno.args],
    pid: Deno.pid,
    cpuCount: () => navigator.hardwareConcurrency || 1,
    selfCommand: () => denoSelfCommand(executable),

    raiseFileLimit: () => raiseFileLimit(denoRlimit()),
    outOfFiles,

    listenTcp: (addr, onConn, options) => Promise.try(listenDenoTcp, addr, onConn, options),
    connectTls: connectTlsNode,

    connectTcp(addr, timeoutMs): Promise<TcpConn> {
      const pending = Deno.connect({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
      return withTimeout(pending, timeoutMs, "connect", closeConn, connOf);
    },

    // Deno's own TLS server cannot ask for client certificates, refuse TLS 1.2, nor take
    // a certificate per handshake (ACME, tls.source): node:tls can. Neither takes a
    // cipher list (tls-server-options.ts).
    listenTls: (addr, onConn, tls, options) =>
      tls.ciphers !== undefined
        ? Promise.reject(new Error(TLS_CIPHERS_UNSUPPORTED))
        : tls.source
        ? listenTlsSource(addr, onConn, tls, options)
        : tls.clientAuth || tls.minVersion === "1.3"
        ? listenTlsNode(addr, onConn, tls, options)
        : listenTlsDeno(addr, onConn, tls, options),

    resolveDns: resolveWithTtl,

    serveHttp: serveDenoHttp,

    bindUdp: (addr, onMessage, options) =>
      options?.reusePort ? Promise.reject(new Error(UDP_NO_REUSE_PORT)) : Promise.try(bindDenoUdp, addr, onMessage),
    tcpReusePort: Deno.build.os === "linux",
    udpReusePort: false,
    udpReceiveBuffer: false,
    tlsCiphers: false,
    acmeTlsAlpn: false,

    onSignal(signal: SignalName, handler: () => void) {
      if (signal !== "SIGUSR1") return Deno.addSignalListener(signal, handler);
      Deno.addSignalListener(signal, () => {
        closeSignalInspector();
        handler();
      });
    },

    readTextFile: (path) => Deno.readTextFile(path),
    watchFile,

    exit(code: number): never {
      Deno.exit(code);
      throw new Error("unreachable");
    },
  };
}

function listenDenoTcp(
  addr: SocketAddress,
  onConn: (conn: TcpConn) => void,
  options?: ListenOptions,
): TcpListener {
  let listener: Deno.TcpListener;
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
  acceptEach(listener, (c) => onConn(new DenoTcpConn(c)), options?.gate);
  return {
    addr: addrOf(listener.addr),
    close: () => {
      try {
        listener.close();
      } catch { /* already closed */ }
    },
  };
}

// ---- UDP ----

// Room for the largest datagram (65507 bytes over IPv4, 65527 over IPv6). One buffer per
// socket, reused; each datagram is copied out at its own size, so a kept small datagram
// does not pin 64 KiB.
const UDP_BUFFER_BYTES = 64 * 1024;

/**
 * Why Deno's UDP cannot be shared or tuned (Deno 2.9, Linux; see docs/benchmarks.md):
 * Deno.listenDatagram's only sharing option, `reuseAddress`, sets SO_REUSEADDR, with
 * which the socket bound last takes every datagram (it steals the port, as Deno's own
 * docs say); node:dgram on Deno ignores `reusePort` (a second bind gets EADDRINUSE)
 * and its setRecvBufferSize only records the number (no setsockopt; `ss` shows the
 * system default). Neither exposes the descriptor for anything else.
 */
const UDP_NO_REUSE_PORT = "Deno cannot share a UDP port between processes (no SO_REUSEPORT for datagram sockets)";

/** Deno.listenDatagram needs --unstable-net (DESIGN, "Runtime facts"). */
function bindDenoUdp(addr: SocketAddress, onMessage: (data: Uint8Array, from: SocketAddress) => void): UdpSocket {
  let conn: Deno.DatagramConn;
  try {
    conn = Deno.listenDatagram({ transport: "udp", hostname: addr.hostname, port: addr.port });
  } catch (err) {
    if (typeof Deno.listenDatagram !== "function") {
      throw new Error('UDP on Deno needs the --unstable-net flag (or "unstable": ["net"] in deno.json)');
    }
    throw listenError(addr, err);
  }
  let closed = false;
  (async () => {
    const buf = new Uint8Array(UDP_BUFFER_BYTES);
    while (!closed) {
      let got: [Uint8Array, Deno.Addr];
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
        onMessage(data, addrOf(got[1] as Deno.NetAddr));
      } catch (err) {
        // A handler's bug must not stop the socket from receiving.
        console.error("udp handler failed:", err);
      }
    }
  })();
  return {
    addr: addrOf(conn.addr as Deno.NetAddr),
    receiveBufferBytes: null,
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

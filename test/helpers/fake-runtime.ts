/**
 * A Runtime whose network is in memory: `connectTcp` reaches "servers" a test
 * registered by address (`listen`), over fake connection pairs (fake-conn.ts). An
 * address with no server refuses; one marked `hang` never answers, and its connect
 * times out on the given clock. What vane code under test does not need (listening,
 * TLS, DNS, files, signals) throws, so a test that strays finds out at once.
 */
import type { Runtime, SocketAddress } from "../../src/runtime/types.ts";
import type { Clock } from "../../src/runtime/clock.ts";
import { type FakeConn, type FakeConnOptions, fakeConnPair } from "./fake-conn.ts";

/** What a fake server does with a connection: its end of the pair. */
export type FakeServer = (conn: FakeConn) => void;

export class FakeNetwork {
  /** Every connect asked for, as "host:port", in order. */
  readonly connects: string[] = [];
  /** The client ends of every connection made (vane's side). */
  readonly opened: FakeConn[] = [];
  readonly #servers = new Map<string, FakeServer>();
  readonly #hanging = new Set<string>();

  /**
   * `clock`: what a connect to a hanging address times out on (none: it never settles).
   * `conns`: options for every pair made.
   */
  constructor(private readonly clock: Clock | null = null, private readonly conns: FakeConnOptions = {}) {}

  /** Connections to `address` ("host:port") reach `server`. */
  listen(address: string, server: FakeServer): void {
    this.#hanging.delete(address);
    this.#servers.set(address, server);
  }

  /** Connections to `address` are refused again. */
  unlisten(address: string): void {
    this.#servers.delete(address);
    this.#hanging.delete(address);
  }

  /** Connects to `address` get no answer: they time out (a black-holed target). */
  hang(address: string): void {
    this.#servers.delete(address);
    this.#hanging.add(address);
  }

  connectTcp(addr: SocketAddress, timeoutMs: number): Promise<FakeConn> {
    const key = `${addr.hostname}:${addr.port}`;
    this.connects.push(key);
    const server = this.#servers.get(key);
    if (server) {
      const { a, b } = fakeConnPair({ ...this.conns, bAddress: { hostname: addr.hostname, port: addr.port } });
      this.opened.push(a);
      server(b);
      return Promise.resolve(a);
    }
    if (this.#hanging.has(key)) {
      return new Promise((_, reject) => {
        this.clock?.setTimeout(() => reject(new Error(`connect to ${key} timed out after ${timeoutMs}ms`)), timeoutMs);
      });
    }
    const refused = Object.assign(new Error(`Connection refused (os error 111): ${key}`), { code: "ECONNREFUSED" });
    return Promise.reject(refused);
  }

  /** A Runtime with this network behind `connectTcp`. */
  runtime(): Runtime {
    const absent = (what: string) => () => {
      throw new Error(`${what} is not in the fake runtime`);
    };
    return {
      name: "bun",
      version: "fake",
      args: [],
      pid: 1,
      cpuCount: () => 1,
      raiseFileLimit: () => null,
      outOfFiles: () => null,
      selfCommand: absent("selfCommand"),
      listenTcp: absent("listenTcp"),
      connectTcp: (addr, timeoutMs) => this.connectTcp(addr, timeoutMs),
      connectTls: absent("connectTls"),
      listenTls: absent("listenTls"),
      resolveDns: absent("resolveDns"),
      serveHttp: absent("serveHttp"),
      bindUdp: absent("bindUdp"),
      tcpReusePort: false,
      udpReusePort: false,
      udpReceiveBuffer: false,
      tlsCiphers: false,
      acmeTlsAlpn: false,
      onSignal: () => {},
      readTextFile: absent("readTextFile"),
      watchFile: () => () => {},
      exit: absent("exit"),
    };
  }
}

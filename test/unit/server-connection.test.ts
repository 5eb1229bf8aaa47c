/**
 * The life of one accepted connection (handleConnection) in memory: the client is a
 * fake connection, the targets fake servers reached through a fake runtime, time a
 * FakeClock. Covers reading the first bytes and what they decide (HTTP to the engine,
 * TLS and the rest relayed by the flow, malformed ones closed), PROXY headers from
 * trusted peers, the L4 relay, and the flow's abort. The socket tests beside these are
 * test/integration/forward-peek.test.ts, forward.test.ts and proxy-protocol.test.ts.
 */
import { ClientCounts } from "../../src/server/client-counts.ts";
import { H2Upstreams } from "../../src/http2/upstreams.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfigText } from "../../src/config/yaml-load.ts";
import { Members } from "../../src/forward/members.ts";
import { HealthRegistry } from "../../src/health/registry.ts";
import { PartialHeads } from "../../src/http/partial-heads.ts";
import { UpstreamPool } from "../../src/http/upstream-pool.ts";
import { SrvCache } from "../../src/resolve/srv-cache.ts";
import { DnsCache } from "../../src/resolve/dns-cache.ts";
import { parseHosts } from "../../src/resolve/hosts.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import {
  type ConnectionDeps,
  handleConnection,
  type HttpKeepAlive,
  type OpenClient,
} from "../../src/server/connection.ts";
import { Generation, type ListenerPlan } from "../../src/server/generation.ts";
import { TrafficCounters } from "../../src/telemetry/counters.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { FakeClock } from "../helpers/fake-clock.ts";
import { bytes, type FakeConn, fakeConnPair, settle } from "../helpers/fake-conn.ts";
import { ok, type SeenRequest, serveFakeHttp } from "../helpers/fake-http.ts";
import { FakeNetwork } from "../helpers/fake-runtime.ts";

// A TLS 1.3 ClientHello from OpenSSL 3.0.19 asking for SNI example.test (ALPN h2,
// http/1.1), as captured in test/unit/tls-client-hello.test.ts.
const CLIENT_HELLO = fromHex(
  "160301014b010001470303b3ca708abc31eef82ba1787242ff943b4c130d2dfe463b7bba3ab92b341e341920163bc3e0af7b02dbab" +
    "ca354d98c33f93850c814ec9b96ce98f47a3a332a779a4003e130213031301c02cc030009fcca9cca8ccaac02bc02f009ec024c028" +
    "006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000c000000011000f00000c6578616d706c" +
    "652e74657374000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000010000e000c026832" +
    "08687474702f312e310016000000170000000d002a0028040305030603080708080809080a080b080408050806040105010601030303" +
    "010302040205020602002b0009080304030303020301002d00020101003300260024001d0020dd3856de84827027a737f0c572b52141" +
    "7fec1800656fce58fc76920b9da2f86a",
);

function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Reads the first bytes (the flow asks about protocol and SNI); PROXY headers from 10.9.0.0/16. */
const DETECTING = `
listeners:
  - listen: tcp://127.0.0.1:9000
    accept-proxy: [10.9.0.0/16]
    flow:
      - when: { tls.sni: example.test }
        proxy: tls
      - when: { protocol: http }
        proxy: web
      - when: { protocol: other }
        proxy: raw
      - abort: true
pools:
  tls: { targets: ["10.0.0.1:443"], health: { check: none } }
  web: { targets: ["10.0.0.2:80"], health: { check: none } }
  raw: { targets: ["10.0.0.3:22"], health: { check: none } }
`;

/** Pure L4: the flow asks about the client address only, so no byte is read. */
const L4 = `
listeners:
  - listen: tcp://127.0.0.1:9000
    flow:
      - when: { conn.ip: { cidr: 192.0.2.0/24 } }
        abort: true
      - proxy: raw
pools:
  raw: { targets: ["10.0.0.3:22"], health: { check: none } }
`;

/** Pure L4, one connection per client address, a PROXY header ahead of the client's bytes. */
const L4_COUNTED = `
listeners:
  - listen: tcp://127.0.0.1:9000
    max-conns-per-client: 1
    flow:
      - proxy: raw
pools:
  raw: { targets: ["10.0.0.3:22"], health: { check: none }, proxy-protocol: v1 }
`;

interface Line {
  level: string;
  msg: string;
  reason?: string;
  for?: string;
}

let clock: FakeClock;
let net: FakeNetwork;
let lines: Line[];
let upstreams: UpstreamPool;
let counters: TrafficCounters;

beforeEach(() => {
  clock = new FakeClock();
  net = new FakeNetwork(clock);
  lines = [];
  upstreams = new UpstreamPool({ maxIdlePerKey: 8, idleMs: 5_000 });
  counters = new TrafficCounters();
});

afterEach(() => {
  upstreams.closeAll();
  for (const c of net.opened) c.close();
});

/** The first listener's plan of a generation built from `yaml`, and the deps of its connections. */
async function listener(yaml: string): Promise<{ plan: ListenerPlan; deps: ConnectionDeps }> {
  const loaded = loadConfigText(yaml);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const log = createLogger("json", { sink: (l) => lines.push(JSON.parse(l)), level: "debug" });
  const registry = new HealthRegistry(log, () => clock.now());
  const resolver = new TargetResolver(
    new DnsCache(() => Promise.reject(new Error("no DNS in this test")), parseHosts("")),
    new StaticNodeRegistry({}),
  );
  const gen = await Generation.build(1, loaded.config, {
    rt: net.runtime(),
    log,
    registry,
    resolver,
    srv: new SrvCache(() => Promise.reject(new Error("no DNS in this test"))),
    upstreams,
    functions: new Map(),
  });
  const deps: ConnectionDeps = {
    rt: net.runtime(),
    log,
    registry,
    counters,
    clients: new Members<OpenClient>(),
    perClient: new ClientCounts(),
    draining: () => false,
    current: () => gen,
    httpConns: new Members<HttpKeepAlive>(),
    h2Upstreams: new H2Upstreams(net.runtime(), registry, () => 1000),
    hopsOf: () => {
      throw new Error("no terminate step in this test");
    },
    partialHeads: new PartialHeads(log),
    clock,
  };
  return { plan: gen.listeners[0], deps };
}

/**
 * A client connection from `ip` handed to handleConnection; `client` is the client's
 * end, `done` handleConnection's promise.
 */
function accept(plan: ListenerPlan, deps: ConnectionDeps, ip = "198.51.100.4") {
  const { a: client, b: server } = fakeConnPair({
    aAddress: { hostname: ip, port: 50000 },
    bAddress: { hostname: "127.0.0.1", port: 9000 },
  });
  const done = handleConnection(plan, server, deps);
  return { client, server, done };
}

/** A target that keeps what it receives and answers `reply` (if any) once the client's FIN came, then closes. */
function echoAfterEnd(address: string, reply: string | null): { received: () => Uint8Array } {
  let got: Uint8Array = new Uint8Array(0);
  net.listen(address, async (conn) => {
    got = await conn.readAll();
    if (reply !== null) await conn.write(bytes(reply));
    conn.close();
  });
  return { received: () => got };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

const msgs = () => lines.map((l) => l.msg);

describe("handleConnection: first bytes", () => {
  it("serves HTTP in the engine on the same connection, the flow choosing a pool per request", async () => {
    const { plan, deps } = await listener(DETECTING);
    const seen: SeenRequest[] = [];
    net.listen("10.0.0.2:80", (conn) => serveFakeHttp(conn, () => ok("from web"), seen));
    const { client, server } = accept(plan, deps);
    await client.write(bytes("GET /x HTTP/1.1\r\nHost: example.test\r\n\r\n"));
    await settle();
    expect(seen.map((r) => r.head.split("\r\n")[0])).toEqual(["GET /x HTTP/1.1"]);
    expect(server.writtenText()).toBe(ok("from web"));
    expect(deps.httpConns.size).toBe(1);
    expect(counters.accepted).toBe(1);
  });

  it("passes a TLS connection through by its SNI, ClientHello first and untouched", async () => {
    const { plan, deps } = await listener(DETECTING);
    const target = echoAfterEnd("10.0.0.1:443", "server hello");
    const { client, done } = accept(plan, deps);
    await client.writePieces(CLIENT_HELLO, [5, 100]); // it arrives in three reads
    await client.write(bytes("more"));
    await client.closeWrite();
    expect(await client.readText()).toBe("server hello");
    await done;
    const received = target.received();
    expect(received.subarray(0, CLIENT_HELLO.length)).toEqual(CLIENT_HELLO);
    expect(text(received.subarray(CLIENT_HELLO.length))).toBe("more");
    expect(counters.detections).toEqual({ tls: 1 });
    expect(net.connects).toEqual(["10.0.0.1:443"]);
  });

  it("routes bytes that are neither TLS nor HTTP as protocol other", async () => {
    const { plan, deps } = await listener(DETECTING);
    const target = echoAfterEnd("10.0.0.3:22", "SSH-2.0-target\r\n");
    const { client, done } = accept(plan, deps);
    await client.write(bytes("SSH-2.0-client\r\n"));
    await client.closeWrite();
    expect(await client.readText()).toBe("SSH-2.0-target\r\n");
    await done;
    expect(text(target.received())).toBe("SSH-2.0-client\r\n");
    expect(counters.detections).toEqual({ other: 1 });
  });

  it("routes a client silent for the detection timeout as protocol other (a server-speaks-first protocol)", async () => {
    const { plan, deps } = await listener(DETECTING);
    let greeted: FakeConn | null = null;
    net.listen("10.0.0.3:22", (conn) => {
      greeted = conn;
      conn.write(bytes("220 smtp ready\r\n"));
    });
    const { client } = accept(plan, deps);
    await clock.advance(2_999);
    expect(net.connects).toEqual([]);
    await clock.advance(1);
    expect(net.connects).toEqual(["10.0.0.3:22"]);
    expect(greeted).not.toBeNull();
    expect(text((await client.read())!)).toBe("220 smtp ready\r\n");
  });

  it("closes a connection whose first bytes are malformed TLS, and says why", async () => {
    const { plan, deps } = await listener(DETECTING);
    const { client, server, done } = accept(plan, deps);
    await client.write(Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0));
    await done;
    expect(server.isClosed).toBe(true);
    expect(server.written).toEqual([]);
    expect(counters.detections).toEqual({ invalid: 1 });
    expect(msgs()).toContain("connection closed: malformed first bytes");
    expect(net.connects).toEqual([]);
  });
});

describe("handleConnection: PROXY headers", () => {
  it("takes the client's address from a trusted peer's PROXY header and forwards what follows it", async () => {
    const { plan, deps } = await listener(DETECTING);
    const seen: SeenRequest[] = [];
    net.listen("10.0.0.2:80", (conn) => serveFakeHttp(conn, () => ok("hi"), seen));
    const { client, server } = accept(plan, deps, "10.9.0.1");
    await client.write(bytes("PROXY TCP4 203.0.113.9 127.0.0.1 40000 9000\r\nGET /x HTTP/1.1\r\nHost: a.test\r\n\r\n"));
    await settle();
    expect(seen).toHaveLength(1);
    expect(seen[0].head).toMatch(/^GET \/x HTTP\/1\.1\r\n/);
    expect(seen[0].head).toContain("\r\nX-Forwarded-For: 203.0.113.9\r\n");
    expect(server.writtenText()).toBe(ok("hi"));
  });

  it("closes a trusted peer's connection that does not open with a PROXY header", async () => {
    const { plan, deps } = await listener(DETECTING);
    const { client, server, done } = accept(plan, deps, "10.9.0.1");
    await client.write(bytes("GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"));
    await done;
    expect(server.isClosed).toBe(true);
    expect(msgs()).toContain("connection closed: PROXY header required from this peer");
    expect(net.connects).toEqual([]);
  });
});

describe("handleConnection: L4", () => {
  it("relays both ways to a target without reading first, passing the half-close on", async () => {
    const { plan, deps } = await listener(L4);
    const target = echoAfterEnd("10.0.0.3:22", "bye");
    const { client, done } = accept(plan, deps);
    await client.writePieces("hello there", [5]);
    await client.closeWrite();
    expect(await client.readText()).toBe("bye");
    await done;
    expect(text(target.received())).toBe("hello there");
    expect(counters.upstreamBytes).toBe(11);
    expect(counters.downstreamBytes).toBe(3);
    expect(counters.detections).toEqual({});
    expect(deps.clients.size).toBe(0);
    const last = lines.find((l) => l.msg === "connection done") as Line & { up?: number; down?: number };
    expect([last.up, last.down, last.reason]).toEqual([11, 3, "done"]);
  });

  it("closes the client with a line when no target of the pool will connect", async () => {
    const { plan, deps } = await listener(L4);
    const { server, done } = accept(plan, deps);
    await done;
    expect(server.isClosed).toBe(true);
    expect(msgs()).toContain("connection closed: no target available");
    expect(net.connects).toEqual(["10.0.0.3:22"]);
  });

  it("closes without a byte a connection the flow aborts", async () => {
    const { plan, deps } = await listener(L4);
    const { client, server, done } = accept(plan, deps, "192.0.2.8");
    await done;
    expect(server.isClosed).toBe(true);
    expect(server.written).toEqual([]);
    expect(await client.readText()).toBe("");
    expect(net.connects).toEqual([]);
    expect(lines.find((l) => l.msg === "connection aborted by the flow")?.for).toBe("raw tcp");
  });

  it("keeps the client open, counted and its target's slot taken while the relay runs, and gives all back at its end", async () => {
    const { plan, deps } = await listener(L4_COUNTED);
    let upstream: FakeConn | null = null;
    net.listen("10.0.0.3:22", (conn) => (upstream = conn));
    const { client, server, done } = accept(plan, deps);
    await client.write(bytes("hi"));
    for (let i = 0; i < 20 && upstream === null; i++) await settle();
    const target = deps.registry.all()[0];
    // The relay runs with no frame of handleConnection waiting on it: the hold is the session's.
    expect([deps.clients.size, deps.perClient.size, target.activeConnections, server.isClosed]).toEqual([
      1,
      1,
      1,
      false,
    ]);
    let finished = false;
    void done.then(() => (finished = true));
    await settle();
    expect(finished).toBe(false);
    upstream!.close();
    await client.closeWrite();
    await done;
    expect([deps.clients.size, deps.perClient.size, target.activeConnections, server.isClosed]).toEqual([
      0,
      0,
      0,
      true,
    ]);
    const sent = net.opened[0].written.map(text).join("");
    expect(sent).toMatch(/^PROXY TCP4 198\.51\.100\.4 127\.0\.0\.1 50000 9000\r\nhi$/);
  });

  it("releases the client, the upstream and the slot, with a line, when the PROXY header cannot be written", async () => {
    const { plan, deps } = await listener(L4_COUNTED);
    net.listen("10.0.0.3:22", (conn) => conn.close());
    const { server, done } = accept(plan, deps);
    await done;
    const target = deps.registry.all()[0];
    expect([deps.clients.size, deps.perClient.size, target.activeConnections, server.isClosed]).toEqual([
      0,
      0,
      0,
      true,
    ]);
    expect(net.opened.every((c) => c.isClosed)).toBe(true);
    expect(msgs()).toContain("connection failed");
  });
});

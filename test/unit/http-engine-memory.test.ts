/**
 * The HTTP engine (serveHttp1) in memory: the client and every upstream are fake
 * connections (test/helpers/fake-conn.ts), the upstream a scripted backend, and time a
 * FakeClock, so deadlines (408, 504) are reached by advancing it, not by waiting.
 * Every case runs twice: with reads by promise (as on Deno) and by callback (readNext,
 * as on Bun), each read a view into a buffer the next read overwrites (as the adapters
 * hand them out). The socket tests beside these are test/integration/http-engine.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_HTTP } from "../../src/config/model.ts";
import { serveHttp1 } from "../../src/http/engine.ts";
import { CLOSE, STAY_OPEN, vaneResponse } from "../../src/http/headers.ts";
import { PartialHeads } from "../../src/http/partial-heads.ts";
import type { HttpContext, HttpRoute, UpstreamLease } from "../../src/http/types.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { FakeClock } from "../helpers/fake-clock.ts";
import { bytes, type FakeConn, type FakeConnOptions, fakeConnPair, settle } from "../helpers/fake-conn.ts";
import { type FakeHandler, ok, type SeenRequest, serveFakeHttp } from "../helpers/fake-http.ts";

type ResponseInfo = Parameters<HttpContext["onResponse"]>[0];

interface Harness {
  clock: FakeClock;
  /** The test's end of the client connection. */
  client: FakeConn;
  /** The engine's end of it: `written` is what the engine answered. */
  server: FakeConn;
  /** serveHttp1's promise: settled once the engine is done with the connection. */
  done: Promise<void>;
  /** What the backend received, request by request. */
  seen: SeenRequest[];
  responses: ResponseInfo[];
  /** Upstream connections opened (not reused). */
  dials: number;
  /** The backend's ends of the upstream connections, in order of opening. */
  backends: FakeConn[];
}

interface Setup {
  /** The backend's answer to each request. @default ok("hello") */
  handler?: FakeHandler;
  /** Replaces the route's acquire (a failing or scripted upstream). */
  acquire?: HttpRoute["acquire"];
  /** Overrides of the engine's context. */
  ctx?: Partial<HttpContext>;
  /** Options of the client connection (the mode's are added). */
  conn?: FakeConnOptions;
}

const MODES: Array<{ name: string; conn: FakeConnOptions }> = [
  { name: "reads by promise", conn: { readNext: false, reuseBuffer: true } },
  { name: "reads by callback", conn: { readNext: true, reuseBuffer: true } },
];

const open: Array<() => void> = [];

afterEach(() => {
  for (const close of open.splice(0)) close();
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The engine on a fresh client connection, proxying every request to one scripted backend. */
function startEngine(mode: FakeConnOptions, setup: Setup = {}): Harness {
  const clock = new FakeClock();
  const { a: server, b: client } = fakeConnPair({ ...mode, ...setup.conn });
  const h: Harness = {
    clock,
    client,
    server,
    done: Promise.resolve(),
    seen: [],
    responses: [],
    dials: 0,
    backends: [],
  };
  let idle: UpstreamLease | null = null;
  const route: HttpRoute = {
    name: "backend",
    pool: "web",
    acquire: setup.acquire ?? (() => {
      if (idle) {
        const lease = { ...idle, reused: true };
        idle = null;
        return lease;
      }
      const pair = fakeConnPair(mode);
      h.dials++;
      h.backends.push(pair.b);
      open.push(() => pair.close());
      serveFakeHttp(pair.b, setup.handler ?? (() => ok("hello")), h.seen);
      return { conn: pair.a, key: "web", reused: false, authority: "backend.test" };
    }),
    release(lease, reusable) {
      if (reusable) idle = lease;
      else lease.conn.close();
    },
  };
  const ctx: HttpContext = {
    client: { hostname: "192.0.2.7", port: 50000 },
    local: { hostname: "127.0.0.1", port: 8080 },
    proto: "http",
    decide: () => ({ kind: "proxy", route, request: [], response: [], allow: [] }),
    upstreamMs: 2_000,
    http: DEFAULT_HTTP,
    idleMs: 5_000,
    requestHeadMs: 10_000,
    keepAliveMs: 5_000,
    bodyMs: 3_000,
    partialHeads: new PartialHeads(silentLogger),
    log: silentLogger,
    clock,
    onResponse: (info) => h.responses.push(info),
    ...setup.ctx,
  };
  h.done = serveHttp1(server, ctx).finally(() => server.close());
  open.push(() => {
    client.close();
    server.close();
  });
  return h;
}

/** Whether `p` has settled by now (after everything in flight has). */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await settle();
  return done;
}

const GET = "GET /a HTTP/1.1\r\nHost: example.test\r\n\r\n";

for (const { name, conn: mode } of MODES) {
  describe(`serveHttp1 in memory (${name})`, () => {
    it("forwards a request upstream and the answer back", async () => {
      const h = startEngine(mode);
      await h.client.write(bytes(GET));
      await settle();
      expect(h.seen).toHaveLength(1);
      expect(h.seen[0].head).toMatch(/^GET \/a HTTP\/1\.1\r\nHost: example\.test\r\n/);
      expect(h.seen[0].head).toContain("X-Forwarded-For: 192.0.2.7\r\n");
      expect(h.server.writtenText()).toBe(ok("hello"));
      expect(h.responses).toEqual([
        { route: "backend", pool: "web", code: 200, method: "GET", bytesIn: GET.length, bytesOut: ok("hello").length },
      ]);
      expect(await settled(h.done)).toBe(false); // keep-alive: waiting for the next request
    });

    it("serves two requests in turn on one client connection over one reused upstream connection", async () => {
      let n = 0;
      const h = startEngine(mode, { handler: () => ok(`answer ${++n}`) });
      await h.client.write(bytes(GET));
      await settle();
      await h.client.write(bytes("GET /b HTTP/1.1\r\nHost: example.test\r\n\r\n"));
      await settle();
      expect(h.seen.map((r) => r.head.split("\r\n")[0])).toEqual(["GET /a HTTP/1.1", "GET /b HTTP/1.1"]);
      expect(h.server.writtenText()).toBe(ok("answer 1") + ok("answer 2"));
      expect(h.dials).toBe(1);
    });

    it("serves pipelined requests that came in one read, in order", async () => {
      let n = 0;
      const h = startEngine(mode, { handler: () => ok(`answer ${++n}`) });
      await h.client.write(bytes(GET + "GET /b HTTP/1.1\r\nHost: example.test\r\n\r\n"));
      await settle();
      expect(h.server.writtenText()).toBe(ok("answer 1") + ok("answer 2"));
    });

    it("reads a head that trickles in byte by byte", async () => {
      const h = startEngine(mode, { conn: { maxChunk: 1 } });
      h.client.maxChunk = 1;
      await h.client.write(bytes(GET));
      await settle();
      expect(h.seen[0].head).toMatch(/^GET \/a HTTP\/1\.1\r\n/);
      expect(h.server.writtenText()).toBe(ok("hello"));
    });

    it("streams a chunked request body through as framed, and the next request after it", async () => {
      const h = startEngine(mode, { handler: (r) => ok(`got ${r.body.length}`) });
      const body = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
      await h.client.writePieces(
        "POST /up HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n\r\n" + body + GET,
        [70, 3, 9, 1, 12],
      );
      await settle();
      expect(h.seen.map((r) => r.head.split("\r\n")[0])).toEqual(["POST /up HTTP/1.1", "GET /a HTTP/1.1"]);
      expect(h.seen[0].head).toMatch(/\r\nTransfer-Encoding: chunked\r\n/i);
      expect(h.seen[0].body).toBe(body);
      expect(h.server.writtenText()).toBe(ok(`got ${body.length}`) + ok("got 0"));
    });

    it("answers 400 to a malformed head and closes", async () => {
      const h = startEngine(mode);
      await h.client.write(bytes("GET /a HTTP/1.1\nHost: example.test\r\n\r\n"));
      expect(await settled(h.done)).toBe(true);
      expect(h.server.writtenText()).toBe(text(vaneResponse(400, "bare LF line ending", CLOSE)));
      expect(h.seen).toEqual([]);
      expect(h.responses.map((r) => [r.route, r.code, r.method])).toEqual([[null, 400, "-"]]);
      expect(h.server.isClosed).toBe(true);
    });

    it("answers 408 to a head not whole by the head deadline, without waiting in real time", async () => {
      const h = startEngine(mode);
      await h.client.write(bytes("GET /a HTTP/1.1\r\nHo"));
      await h.clock.advance(9_999);
      expect(h.server.written).toEqual([]);
      await h.clock.advance(1);
      expect(await settled(h.done)).toBe(true);
      expect(h.server.writtenText()).toBe(text(vaneResponse(408, "request head timeout", CLOSE)));
      expect(h.responses.map((r) => r.code)).toEqual([408]);
    });

    it("closes without a word a connection that sends nothing by the head deadline", async () => {
      const h = startEngine(mode);
      await h.clock.advance(10_000);
      expect(await settled(h.done)).toBe(true);
      expect(h.server.written).toEqual([]);
    });

    it("closes a keep-alive connection quiet for the keep-alive wait", async () => {
      const h = startEngine(mode);
      await h.client.write(bytes(GET));
      await h.clock.advance(4_999);
      expect(await settled(h.done)).toBe(false);
      await h.clock.advance(1);
      expect(await settled(h.done)).toBe(true);
      expect(h.server.writtenText()).toBe(ok("hello"));
    });

    it("answers 502 when no upstream connection can be had", async () => {
      const h = startEngine(mode, { acquire: () => ({ ok: false as const, reason: "connect refused" }) });
      await h.client.write(bytes(GET));
      await settle();
      expect(h.server.writtenText()).toBe(text(vaneResponse(502, "upstream unavailable", STAY_OPEN)));
      expect(await settled(h.done)).toBe(false); // no body to the request: the connection goes on
    });

    it("answers 502 when the upstream closes before responding", async () => {
      const h = startEngine(mode, { handler: () => null });
      await h.client.write(bytes(GET));
      await settle();
      expect(h.server.writtenText()).toBe(text(vaneResponse(502, "bad gateway", STAY_OPEN)));
    });

    it("answers 504 when the upstream says nothing within the upstream timeout", async () => {
      const h = startEngine(mode, { handler: () => "" });
      await h.client.write(bytes(GET));
      await h.clock.advance(1_999);
      expect(h.server.written).toEqual([]);
      await h.clock.advance(1);
      expect(h.server.writtenText()).toBe(text(vaneResponse(504, "upstream timeout", STAY_OPEN)));
      expect(h.backends[0].peer.isClosed).toBe(true); // the timed-out upstream connection was closed
    });

    it("answers 408 to a request body that stalls for the body deadline", async () => {
      const h = startEngine(mode);
      await h.client.write(bytes("POST /up HTTP/1.1\r\nHost: example.test\r\nContent-Length: 10\r\n\r\nabc"));
      await h.clock.advance(3_000);
      expect(await settled(h.done)).toBe(true);
      expect(h.server.writtenText()).toBe(text(vaneResponse(408, "request body timeout", CLOSE)));
    });

    it("honours Connection: close from the client: the answer says so and the connection ends", async () => {
      const h = startEngine(mode);
      await h.client.write(bytes("GET /a HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n"));
      expect(await settled(h.done)).toBe(true);
      const answer = h.server.writtenText();
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toMatch(/\r\nConnection: close\r\n/i);
      expect(answer.endsWith("\r\n\r\nhello")).toBe(true);
      expect(await h.client.readText()).toBe(answer);
    });

    it("stops reading the upstream while the client does not read (backpressure)", async () => {
      const body = "x".repeat(30);
      const h = startEngine(mode, { handler: () => "", conn: { highWaterMark: 0 } });
      await h.client.write(bytes(GET));
      await settle();
      const backend = h.backends[0];
      await backend.writePieces(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, []);
      const rest = backend.writePieces(body, [10, 10, 10]);
      await settle();
      // The head went to the client and waits there unread: no body byte was taken from the upstream.
      expect(h.client.blockedWrites).toBe(1);
      expect(h.server.written).toHaveLength(1);
      expect(backend.peer.queued).toBe(30);
      let got = "";
      while (!got.endsWith(body)) got += text((await h.client.read())!);
      await rest;
      expect(got).toBe(`HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n${body}`);
      expect(backend.peer.queued).toBe(0);
    });
  });
}

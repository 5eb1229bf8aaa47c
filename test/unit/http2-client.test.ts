/**
 * vane's HTTP/2 client (src/http2/client.ts, client-stream.ts, client-pool.ts) against
 * a scripted target over in-memory connections: what it sends first, what it answers,
 * the response checks of RFC 9113 §8 (each malformed response fails its stream only),
 * flow control both ways, GOAWAY and RST_STREAM, the idle close, and the pool's
 * waiting for a new connection's SETTINGS, its bound and its failures.
 */
import { describe, expect, it } from "vitest";
import { fakeConnPair, settle } from "../helpers/fake-conn.ts";
import { FakeClock } from "../helpers/fake-clock.ts";
import { FakeTarget, status } from "../helpers/h2-fake-target.ts";
import { H2ClientConnection, type H2ClientOptions } from "../../src/http2/client.ts";
import { H2ClientPool } from "../../src/http2/client-pool.ts";
import { ErrorCode, SettingId } from "../../src/http2/constants.ts";
import {
  dataFrame,
  encodeFrame,
  END_STREAM,
  goawayFrame,
  MORE_TO_COME,
  PING_REQUEST,
  pingFrame,
  rstStreamFrame,
  windowUpdateFrame,
} from "../../src/http2/frames.ts";
import { FrameType } from "../../src/http2/constants.ts";
import type { HeaderField } from "../../src/http2/hpack.ts";
import { failure } from "../../src/errors/mod.ts";

const GET: HeaderField[] = [
  { name: ":method", value: "GET" },
  { name: ":scheme", value: "http" },
  { name: ":authority", value: "t" },
  { name: ":path", value: "/" },
];
const POST: HeaderField[] = [{ name: ":method", value: "POST" }, ...GET.slice(1)];
const text = (s: string) => new TextEncoder().encode(s);

async function setup(options: H2ClientOptions = {}, settings: Array<[number, number]> = []) {
  const pair = fakeConnPair();
  const target = new FakeTarget(pair.b);
  const client = H2ClientConnection.start(pair.a, options);
  await target.settings(settings);
  return { client, target };
}

describe("H2ClientConnection: start and connection frames", () => {
  it("sends the preface, SETTINGS (no push, our window) and the raised connection window; acks and answers", async () => {
    const { client, target } = await setup({ streamWindow: 100_000, connectionWindow: 1 << 20 });
    expect(target.prefaceOk).toBe(true);
    expect(target.frames[0]).toMatchObject({ type: "settings", ack: false });
    const params = target.of("settings")[0].params;
    expect(params).toContainEqual([SettingId.ENABLE_PUSH, 0]);
    expect(params).toContainEqual([SettingId.INITIAL_WINDOW_SIZE, 100_000]);
    expect(target.of("window_update")[0]).toMatchObject({ stream: 0, increment: (1 << 20) - 65_535 });
    expect(await client.ready).toBe(true);
    expect(target.of("settings").some((f) => f.ack)).toBe(true);
    await target.send(pingFrame(text("12345678"), PING_REQUEST));
    expect(target.of("ping")).toMatchObject([{ ack: true, data: text("12345678") }]);
    client.close();
  });

  it("a first frame that is not SETTINGS, or a PUSH_PROMISE, ends the connection with GOAWAY PROTOCOL_ERROR", async () => {
    const pair = fakeConnPair();
    const target = new FakeTarget(pair.b);
    const client = H2ClientConnection.start(pair.a);
    const s = client.request(GET, END_STREAM);
    await target.send(pingFrame(text("12345678"), PING_REQUEST));
    expect(await s.response).toMatchObject({ ok: false, reason: expect.stringMatching(/connection lost.*SETTINGS/) });
    expect(target.of("goaway")[0]).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    expect(await client.ready).toBe(false);

    const second = await setup();
    const t = second.client.request(GET, END_STREAM);
    const promise = new Uint8Array([0, 0, 0, 2]);
    await second.target.send(encodeFrame(FrameType.PUSH_PROMISE, 0x4, 1, promise));
    expect(await t.response).toMatchObject({ ok: false, reason: expect.stringMatching(/PUSH_PROMISE/) });
    expect(second.client.isClosed).toBe(true);
  });

  it("a connection idle for idleMs closes; a stream keeps it open", async () => {
    const clock = new FakeClock();
    const { client, target } = await setup({ idleMs: 1_000, clock });
    await clock.advance(900);
    const s = client.request(GET, END_STREAM);
    await clock.advance(5_000);
    expect(client.isClosed).toBe(false);
    await target.headers(1, status(204), END_STREAM);
    expect((await s.response).ok).toBe(true);
    await clock.advance(999);
    expect(client.isClosed).toBe(false);
    await clock.advance(1);
    expect(client.isClosed).toBe(true);
    expect(client.closeReason).toBe("idle");
  });
});

describe("H2ClientConnection: responses", () => {
  it("interim 1xx to onInterim, then the head, body pieces and trailers", async () => {
    const { client, target } = await setup();
    const s = client.request(GET, END_STREAM);
    const interim: Array<[number, HeaderField[]]> = [];
    s.onInterim = (code, fields) => interim.push([code, fields]);
    await target.headers(1, status(103, ["link", "</a>"]), MORE_TO_COME);
    await target.headers(1, status(200, ["content-type", "text/plain"]), MORE_TO_COME);
    expect(await s.response).toEqual({
      ok: true,
      status: 200,
      fields: [{ name: "content-type", value: "text/plain" }],
    });
    expect(interim).toEqual([[103, [{ name: "link", value: "</a>" }]]]);
    await target.send(dataFrame(1, text("ab"), MORE_TO_COME), dataFrame(1, text("c"), MORE_TO_COME));
    await target.headers(1, [{ name: "grpc-status", value: "0" }], END_STREAM);
    expect(new TextDecoder().decode((await s.read())!)).toBe("ab");
    expect(new TextDecoder().decode((await s.read())!)).toBe("c");
    expect(await s.read()).toBe(null);
    expect(s.trailers).toEqual([{ name: "grpc-status", value: "0" }]);
    expect(client.openStreams).toBe(0);
  });

  const malformed: Array<[string, HeaderField[], boolean]> = [
    ["an upper-case name", status(200, ["X-Up", "1"]), MORE_TO_COME],
    ["a connection-specific field", status(200, ["connection", "close"]), MORE_TO_COME],
    ["transfer-encoding", status(200, ["transfer-encoding", "chunked"]), MORE_TO_COME],
    ["CR in a value", status(200, ["x", "a\rb"]), MORE_TO_COME],
    ["LF in a value", status(200, ["x", "a\nb"]), MORE_TO_COME],
    ["NUL in a value", status(200, ["x", "a\0b"]), MORE_TO_COME],
    ["no :status", [{ name: "x", value: "1" }], MORE_TO_COME],
    ["a request pseudo-header", [...status(200), { name: ":path", value: "/" }], MORE_TO_COME],
    [
      "a pseudo-header after a regular field",
      [...status(200, ["x", "1"]), { name: ":status", value: "200" }],
      END_STREAM,
    ],
    [":status not three digits", status(2000), END_STREAM],
    ["101 in HTTP/2", status(101), MORE_TO_COME],
    ["an interim answer with END_STREAM", status(100), END_STREAM],
  ];
  for (const [what, fields, end] of malformed) {
    it(`${what}: the stream fails (RST_STREAM PROTOCOL_ERROR), the connection goes on`, async () => {
      const { client, target } = await setup();
      const bad = client.request(GET, END_STREAM);
      const good = client.request(GET, END_STREAM);
      await target.headers(1, fields, end);
      const r = await bad.response;
      expect(r).toMatchObject({ ok: false, retryable: false, reason: expect.stringMatching(/^malformed response/) });
      expect(target.of("rst_stream")).toMatchObject([{ stream: 1, code: ErrorCode.PROTOCOL_ERROR }]);
      await target.headers(3, status(200), END_STREAM);
      expect((await good.response).ok).toBe(true);
      expect(client.isClosed).toBe(false);
    });
  }

  it("a body longer or shorter than content-length, DATA before HEADERS and pseudo-headers in trailers are malformed", async () => {
    const { client, target } = await setup();
    const [long, short, early, trailers] = [0, 1, 2, 3].map(() => client.request(GET, END_STREAM));
    await target.headers(1, status(200, ["content-length", "2"]), MORE_TO_COME);
    await target.send(dataFrame(1, text("abc"), END_STREAM));
    await target.headers(3, status(200, ["content-length", "5"]), MORE_TO_COME);
    await target.send(dataFrame(3, text("abc"), END_STREAM));
    await target.send(dataFrame(5, text("abc"), END_STREAM));
    await target.headers(7, status(200), MORE_TO_COME);
    await target.headers(7, status(200), END_STREAM);
    await expect(long.read()).rejects.toThrow(/longer than content-length 2/);
    await expect(short.read()).rejects.toThrow(/body of 3 bytes, content-length 5/);
    expect(await early.response).toMatchObject({ ok: false, reason: expect.stringMatching(/DATA before/) });
    await expect(trailers.read()).rejects.toThrow(/pseudo-header :status in trailers/);
    expect(target.of("rst_stream").map((f) => f.stream)).toEqual([1, 3, 5, 7]);
    expect(client.isClosed).toBe(false);
  });

  it("RST_STREAM REFUSED_STREAM may be retried; another code may not", async () => {
    const { client, target } = await setup();
    const refused = client.request(GET, END_STREAM);
    const cancelled = client.request(GET, END_STREAM);
    await target.send(rstStreamFrame(1, ErrorCode.REFUSED_STREAM), rstStreamFrame(3, ErrorCode.CANCEL));
    expect(await refused.response).toMatchObject({ ok: false, retryable: true });
    expect(await cancelled.response).toMatchObject({
      ok: false,
      retryable: false,
      reason: expect.stringMatching(/CANCEL/),
    });
  });

  it("GOAWAY: streams above its last stream fail as retryable, the rest finish, then the connection closes", async () => {
    const { client, target } = await setup();
    const [kept, above, further] = [0, 1, 2].map(() => client.request(GET, END_STREAM));
    await target.send(goawayFrame(1, ErrorCode.NO_ERROR));
    expect(await above.response).toMatchObject({ ok: false, retryable: true, reason: expect.stringMatching(/GOAWAY/) });
    expect(await further.response).toMatchObject({ ok: false, retryable: true });
    expect(client.available).toBe(false);
    expect(client.request(GET, END_STREAM).failed).toMatch(/not sent/);
    await target.headers(1, status(200), END_STREAM);
    expect((await kept.response).ok).toBe(true);
    expect(await kept.read()).toBe(null);
    await client.closed;
    expect(client.closeReason).toMatch(/GOAWAY/);
  });
});

describe("H2ClientConnection: flow control", () => {
  it("window comes back only as the reader reads: a target past the stream window is reset", async () => {
    const { client, target } = await setup({ streamWindow: 1_000, connectionWindow: 100_000 });
    const s = client.request(GET, END_STREAM);
    await target.headers(1, status(200), MORE_TO_COME);
    await target.send(dataFrame(1, new Uint8Array(600), MORE_TO_COME));
    expect(s.buffered).toBe(600);
    expect(target.of("window_update").filter((f) => f.stream === 1)).toEqual([]);
    await s.read();
    await settle();
    expect(target.of("window_update").filter((f) => f.stream === 1)).toMatchObject([{ increment: 600 }]);
    await target.send(dataFrame(1, new Uint8Array(1_001), MORE_TO_COME));
    expect(target.of("rst_stream")).toMatchObject([{ stream: 1, code: ErrorCode.FLOW_CONTROL_ERROR }]);
    await expect(s.read()).rejects.toThrow(/stream window/);
  });

  it("write() waits for the target's window and resolves once the DATA went; end() with trailers", async () => {
    const { client, target } = await setup({}, [[SettingId.INITIAL_WINDOW_SIZE, 10]]);
    const s = client.request(POST, MORE_TO_COME);
    let done = false;
    const wrote = s.write(new Uint8Array(25)).then((ok) => (done = ok));
    await settle();
    expect(target.of("data").map((f) => f.data.length)).toEqual([10]);
    expect(done).toBe(false);
    await target.send(windowUpdateFrame(1, 10));
    expect(target.of("data").map((f) => f.data.length)).toEqual([10, 10]);
    await target.send(windowUpdateFrame(1, 100));
    expect(await wrote).toBe(true);
    expect(await s.end([{ name: "x-trailer", value: "1" }])).toBe(true);
    await settle();
    expect(target.of("data").map((f) => f.data.length)).toEqual([10, 10, 5]);
    const last = target.of("headers").at(-1)!;
    expect(last).toMatchObject({ stream: 1, endStream: true, fields: [{ name: "x-trailer", value: "1" }] });
    expect(await s.write(text("more"))).toBe(false);
  });
});

describe("H2ClientPool", () => {
  function fakePool(options: ConstructorParameters<typeof H2ClientPool>[1] = {}) {
    const targets: FakeTarget[] = [];
    const pool = new H2ClientPool(() => {
      const pair = fakeConnPair();
      targets.push(new FakeTarget(pair.b));
      return Promise.resolve(pair.a);
    }, options);
    return { pool, targets };
  }

  it("one stream on a new connection until its SETTINGS come; then its limit, then a second connection", async () => {
    const { pool, targets } = fakePool({ maxConnections: 2 });
    const first = await pool.request(GET, END_STREAM);
    expect("ok" in first).toBe(false);
    let second: unknown = null;
    void pool.request(GET, END_STREAM).then((s) => (second = s));
    await settle();
    expect(second).toBe(null);
    expect(targets.length).toBe(1); // it waits for the SETTINGS rather than opening another
    await targets[0].settings([[SettingId.MAX_CONCURRENT_STREAMS, 2]]);
    await settle();
    expect(second).not.toBe(null);
    expect(pool.connections[0].openStreams).toBe(2);
    const third = pool.request(GET, END_STREAM);
    await settle();
    expect(targets.length).toBe(2);
    await targets[1].settings();
    expect("ok" in await third).toBe(false);
    pool.close();
  });

  it("past maxConnections a request waits for room, then fails after acquireTimeoutMs", async () => {
    const clock = new FakeClock();
    const { pool, targets } = fakePool({ maxConnections: 1, acquireTimeoutMs: 5_000, clock });
    const first = await pool.request(GET, END_STREAM);
    await targets[0].settings([[SettingId.MAX_CONCURRENT_STREAMS, 1]]);
    let waited: unknown = null;
    void pool.request(GET, END_STREAM).then((s) => (waited = s));
    await clock.advance(4_000);
    expect(waited).toBe(null);
    await targets[0].headers(1, status(204), END_STREAM); // the stream ends: room
    await settle();
    expect(waited).not.toBe(null);
    expect("ok" in (waited as object)).toBe(false);
    expect("ok" in first).toBe(false);
    const late = pool.request(GET, END_STREAM);
    await clock.advance(5_000);
    expect(await late).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no room for a stream on 1 HTTP\/2 connections/),
    });
    pool.close();
  });

  it("a target that cannot be reached: acquire fails with the connect failure; close() fails what comes after", async () => {
    const pool = new H2ClientPool(() => Promise.resolve(failure("connection refused")));
    expect(await pool.acquire()).toEqual({ ok: false, reason: "connection refused" });
    pool.close();
    expect(await pool.acquire()).toEqual({ ok: false, reason: "the pool is closed" });
  });
});

/**
 * vane's HTTP/2 client (src/http2/client.ts, client-pool.ts) against a second
 * implementation: Node's node:http2 server as a child process
 * (test/fixtures/http2/h2c-server.mjs), over the runtime adapter's own TCP connections.
 * Many streams on one connection; the target's SETTINGS_MAX_CONCURRENT_STREAMS kept by
 * the pool; 4 MiB both ways with a slow reader, the client holding no more than its
 * windows; trailers both ways; GOAWAY, RST_STREAM and a target that dies.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { runtime } from "../../src/runtime/mod.ts";
import type { TcpConn } from "../../src/runtime/types.ts";
import { errorText, type Failure, failure } from "../../src/errors/mod.ts";
import { H2ClientConnection } from "../../src/http2/client.ts";
import { H2ClientPool } from "../../src/http2/client-pool.ts";
import type { H2ClientStream, H2Response } from "../../src/http2/client-stream.ts";
import type { HeaderField } from "../../src/http2/hpack.ts";
import { END_STREAM, MORE_TO_COME } from "../../src/http2/frames.ts";

const SERVER = fileURLToPath(new URL("../fixtures/http2/h2c-server.mjs", import.meta.url));
const MiB = 1024 * 1024;

const children: ChildProcess[] = [];
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  for (const c of children.splice(0)) c.kill("SIGKILL");
});

/** Starts the Node target; resolves with its port once it listens. */
function startServer(maxConcurrentStreams = 100): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn("node", [SERVER, String(maxConcurrentStreams)], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n")) resolve({ port: JSON.parse(line).port, child });
    });
    child.on("exit", (code) => reject(new Error(`h2c server exited ${code}`)));
  });
}

function connector(port: number): () => Promise<TcpConn | Failure> {
  return async () => {
    try {
      return await runtime().connectTcp({ hostname: "127.0.0.1", port }, 2_000);
    } catch (err) {
      return failure(errorText(err));
    }
  };
}

async function connect(port: number, options = {}): Promise<H2ClientConnection> {
  const conn = H2ClientConnection.start(await runtime().connectTcp({ hostname: "127.0.0.1", port }, 2_000), options);
  cleanups.push(() => conn.close());
  return conn;
}

function pool(port: number, options = {}): H2ClientPool {
  const p = new H2ClientPool(connector(port), options);
  cleanups.push(() => p.close());
  return p;
}

function get(path: string, method = "GET"): HeaderField[] {
  return [
    { name: ":method", value: method },
    { name: ":scheme", value: "http" },
    { name: ":authority", value: "target.test" },
    { name: ":path", value: path },
  ];
}

function field(r: H2Response, name: string): string | undefined {
  return r.ok ? r.fields.find((f) => f.name === name)?.value : undefined;
}

async function body(stream: H2ClientStream): Promise<string> {
  let text = "";
  for (let piece = await stream.read(); piece !== null; piece = await stream.read()) {
    text += new TextDecoder().decode(piece);
  }
  return text;
}

async function stats(port: number): Promise<{ maxActive: number; sessions: number; bigWritten: number }> {
  const conn = await connect(port);
  const s = conn.request(get("/stats"), END_STREAM);
  expect((await s.response).ok).toBe(true);
  const json = JSON.parse(await body(s));
  conn.close();
  return json;
}

function streamOf(got: H2ClientStream | Failure): H2ClientStream {
  if ("ok" in got) throw new Error(got.reason);
  return got;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The /big pattern's bytes from `offset`. */
function pattern(size: number, offset: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = ((offset + i) * 31 + 7) & 0xff;
  return out;
}

describe("HTTP/2 client against node:http2", () => {
  it("one connection carries 20 concurrent streams", async () => {
    const { port } = await startServer();
    const conn = await connect(port);
    const streams = Array.from({ length: 20 }, (_, i) => conn.request(get(`/slow?ms=${200 + i}`), END_STREAM));
    expect(conn.openStreams).toBe(20);
    const responses = await Promise.all(streams.map((s) => s.response));
    for (const r of responses) {
      expect(r.ok && r.status).toBe(200);
      expect(field(r, "x-session")).toBe("1");
    }
    const bodies = await Promise.all(streams.map(body));
    expect(bodies.every((b) => b === "hello 1")).toBe(true);
    expect(Math.max(...responses.map((r) => Number(field(r, "x-active"))))).toBe(20);
    expect((await stats(port)).maxActive).toBe(20);
    expect(conn.openStreams).toBe(0);
  });

  it("the target's SETTINGS_MAX_CONCURRENT_STREAMS=2: the pool opens more connections and waits, never 3 streams on one", async () => {
    const { port } = await startServer(2);
    const p = pool(port, { maxConnections: 3 });
    let most = 0;
    const watch = setInterval(() => {
      for (const c of p.connections) most = Math.max(most, c.openStreams);
    }, 1);
    const streams = await Promise.all(
      Array.from({ length: 12 }, () => p.request(get("/slow?ms=150"), END_STREAM).then(streamOf)),
    );
    const responses = await Promise.all(streams.map((s) => s.response));
    clearInterval(watch);
    for (const r of responses) expect(r.ok && r.status).toBe(200);
    const sessions = new Set(responses.map((r) => field(r, "x-session")));
    expect(sessions.size).toBe(3);
    expect(most).toBeLessThanOrEqual(2);
    const seen = await stats(port);
    expect(seen.maxActive).toBe(2);
    expect(seen.sessions).toBe(4); // three of the pool's and the one asking for stats
  });

  it("4 MiB response to a slow reader: the client holds no more than its stream window", async () => {
    const { port } = await startServer();
    const window = 64 * 1024;
    const conn = await connect(port, { streamWindow: window, connectionWindow: MiB });
    const s = conn.request(get(`/big?size=${4 * MiB}`), END_STREAM);
    expect((await s.response).ok).toBe(true);
    let got = 0;
    let most = 0;
    let matches = true;
    for (let piece = await s.read(); piece !== null; piece = await s.read()) {
      if (got === 0) {
        await sleep(300); // the reader stalls: the target may send one window, no more
        const written = (await stats(port)).bigWritten;
        expect(written).toBeLessThan(window + 16 * 1024);
        most = Math.max(most, s.buffered);
      }
      matches &&= Buffer.from(piece).equals(Buffer.from(pattern(piece.length, got)));
      got += piece.length;
      most = Math.max(most, s.buffered);
      if (got % (256 * 1024) < piece.length) await sleep(5);
    }
    expect(got).toBe(4 * MiB);
    expect(matches).toBe(true);
    expect(most).toBeLessThanOrEqual(window);
  });

  it("4 MiB request echoed back byte for byte, interim 103, trailers both ways", async () => {
    const { port } = await startServer();
    const conn = await connect(port, { streamWindow: 128 * 1024 });
    const s = conn.request([...get("/echo", "POST"), { name: "te", value: "trailers" }], MORE_TO_COME);
    const interim: number[] = [];
    s.onInterim = (status) => interim.push(status);
    const sent = createHash("sha256");
    const writing = (async () => {
      for (let at = 0; at < 4 * MiB; at += 100_000) {
        const piece = pattern(Math.min(100_000, 4 * MiB - at), at);
        sent.update(piece);
        expect(await s.write(piece)).toBe(true);
      }
      expect(await s.end([{ name: "x-request-trailer", value: "from-vane" }])).toBe(true);
    })();
    const r = await s.response;
    expect(r.ok && r.status).toBe(200);
    expect(interim).toEqual([103]);
    const echoed = createHash("sha256");
    let got = 0;
    for (let piece = await s.read(); piece !== null; piece = await s.read()) {
      echoed.update(piece);
      got += piece.length;
      expect(s.buffered).toBeLessThanOrEqual(128 * 1024);
      if (got % MiB < piece.length) await sleep(20);
    }
    await writing;
    expect(got).toBe(4 * MiB);
    expect(echoed.digest("hex")).toBe(sent.digest("hex"));
    expect(s.trailers).toEqual([
      { name: "grpc-status", value: "0" },
      { name: "x-got-trailer", value: "from-vane" },
    ]);
  });

  it("a GOAWAY from the target: new requests go to a new connection while the open stream finishes", async () => {
    const { port } = await startServer();
    const p = pool(port);
    const first = streamOf(await p.request(get("/goaway"), END_STREAM));
    const r1 = await first.response;
    expect(field(r1, "x-session")).toBe("1");
    expect(new TextDecoder().decode((await first.read())!)).toBe("part1,");
    const goneAway = p.connections[0];
    for (let i = 0; i < 100 && !goneAway.goingAway; i++) await sleep(10);
    expect(goneAway.goingAway).toBe(true);
    const second = streamOf(await p.request(get("/hello"), END_STREAM));
    const r2 = await second.response;
    expect(field(r2, "x-session")).toBe("2");
    expect(await body(second)).toBe("hello 2");
    expect(await body(first)).toBe("part2");
    await goneAway.closed;
    expect(p.connections.length).toBe(1);
  });

  it("a RST_STREAM from the target fails that stream only", async () => {
    const { port } = await startServer();
    const conn = await connect(port);
    const cut = conn.request(get("/reset"), END_STREAM);
    const other = conn.request(get("/slow?ms=150"), END_STREAM);
    expect((await cut.response).ok).toBe(true);
    await expect(body(cut)).rejects.toThrow(/reset by the target \(INTERNAL_ERROR\)/);
    expect(cut.failed).toMatch(/INTERNAL_ERROR/);
    expect(await body(other)).toBe("hello 1");
    expect(conn.isClosed).toBe(false);
    expect(conn.available).toBe(true);
  });

  it("a target that dies fails the open streams with a reason", async () => {
    const { port, child } = await startServer();
    const conn = await connect(port);
    const hung = conn.request(get("/hang"), END_STREAM);
    expect((await hung.response).ok).toBe(true);
    expect(new TextDecoder().decode((await hung.read())!)).toBe("waiting");
    const waiting = conn.request(get("/slow?ms=5000"), END_STREAM);
    await sleep(50);
    child.kill("SIGKILL");
    await expect(hung.read()).rejects.toThrow(/connection lost: the target closed the connection/);
    const r = await waiting.response;
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/connection lost/);
    await conn.closed;
    expect(conn.available).toBe(false);
    expect(conn.request(get("/hello"), END_STREAM).failed).toMatch(/not sent/);
  });
});

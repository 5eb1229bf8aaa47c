/**
 * The L7 engine end to end: node:http backends, the engine on the runtime under
 * test, and fetch / curl / raw sockets as clients.
 */
import { afterEach, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { closeAll, freePort, startServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import {
  curl,
  echoBackend,
  infoBackend,
  startBackend,
  startEngine,
  stopAllHttp,
  wsEchoBackend,
} from "../helpers/http-engine.ts";
import { runtime } from "../../src/runtime/mod.ts";

afterEach(async () => {
  await stopAllHttp();
  await closeAll();
});

const url = (port: number, path = "/") => `http://127.0.0.1:${port}${path}`;

describe("HTTP engine: routing and headers", () => {
  it("routes by host and path to two backends", async () => {
    const a = await infoBackend("A");
    const b = await infoBackend("B");
    const e = await startEngine([
      { host: "a.test", port: a.port },
      { host: "a.test", prefix: "/v2", port: b.port },
      { host: "b.test", port: b.port },
    ]);
    const hit = async (host: string, path: string) =>
      JSON.parse((await curl(["-H", `Host: ${host}`, url(e.port, path)])).stdout.toString()).name;
    expect(await hit("a.test", "/x?q=1")).toBe("A");
    expect(await hit("a.test", "/v2/thing?q=1")).toBe("B");
    expect(await hit("B.TEST:8080", "/")).toBe("B");
  });

  it("answers 404 with a text body when no route matches", async () => {
    const e = await startEngine([]);
    const res = await fetch(url(e.port, "/nothing"));
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect((await res.text()).length).toBeGreaterThan(0);
  });

  it("sets X-Forwarded-* and drops hop-by-hop headers both ways", async () => {
    const a = await infoBackend("A");
    const e = await startEngine([{ host: "a.test", port: a.port }]);
    const r = await curl([
      "-i",
      "-H",
      "Host: a.test",
      "-H",
      "X-Forwarded-For: 10.0.0.1",
      "-H",
      "X-Forwarded-Proto: https",
      "-H",
      "Connection: keep-alive, X-Secret",
      "-H",
      "X-Secret: s",
      "-H",
      "Keep-Alive: timeout=5",
      "-H",
      "TE: trailers",
      "-H",
      "Proxy-Connection: keep-alive",
      "-H",
      "X-Kept: yes",
      url(e.port, "/h"),
    ]);
    const text = r.stdout.toString();
    const [head, body] = text.split("\r\n\r\n");
    const seen = JSON.parse(body).headers;
    expect(seen["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-host"]).toBe("a.test");
    expect(seen["x-kept"]).toBe("yes");
    for (const h of ["x-secret", "keep-alive", "te", "proxy-connection"]) expect(seen[h]).toBeUndefined();
    // node:http adds "Connection: keep-alive" itself, so only check nothing else came through.
    expect(seen.connection ?? "keep-alive").toBe("keep-alive");
    // The backend's "Connection: x-hop" named X-Hop as hop-by-hop.
    expect(head.toLowerCase()).not.toContain("x-hop");
  });
});

describe("HTTP engine: bodies and keep-alive", () => {
  it("echoes a 1 MB body byte-exact, framed by Content-Length and chunked", async () => {
    const echo = await echoBackend();
    const e = await startEngine([{ host: "127.0.0.1", port: echo.port }, { host: "e.test", port: echo.port }]);
    const payload = randomBytes(1 << 20);
    const res = await fetch(url(e.port, "/echo"), { method: "POST", body: payload });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(payload)).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), "vane-http-"));
    try {
      const file = join(dir, "body.bin");
      writeFileSync(file, payload);
      const r = await curl([
        "-H",
        "Host: e.test",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        `@${file}`,
        url(e.port, "/echo"),
      ]);
      expect(r.stderr).toBe("");
      expect(r.stdout.equals(payload)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 15000);

  it("carries several requests on one client connection over one upstream connection", async () => {
    const a = await infoBackend("A");
    const e = await startEngine([{ host: "a.test", port: a.port }]);
    const r = await curl(["-H", "Host: a.test", url(e.port, "/1"), url(e.port, "/2"), url(e.port, "/3")]);
    expect(r.stdout.toString().match(/"name":"A"/g)?.length).toBe(3);
    expect(e.accepted).toBe(1);
    expect(a.requests).toBe(3);
    expect(a.connections).toBe(1);
    expect(e.dials).toBe(1);
  });

  it("serves pipelined requests in order", async () => {
    const a = await infoBackend("A");
    const e = await startEngine([{ host: "a.test", port: a.port }]);
    const req = (p: string, close = false) =>
      `GET ${p} HTTP/1.1\r\nHost: a.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
    const out = (await exchange(e.port, req("/p1") + req("/p2") + req("/p3", true), { end: false })).toString();
    expect(out.match(/HTTP\/1\.1 200/g)?.length).toBe(3);
    expect(out.indexOf('"/p1"')).toBeLessThan(out.indexOf('"/p2"'));
    expect(out.indexOf('"/p2"')).toBeLessThan(out.indexOf('"/p3"'));
  });

  it("answers 50 pipelined requests it answers itself, each in turn", async () => {
    // vane's own answers (404 here) need no upstream: each next request is served at once.
    const e = await startEngine([]);
    const req = (i: number, close = false) =>
      `GET /n${i} HTTP/1.1\r\nHost: none.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
    let all = "";
    for (let i = 0; i < 49; i++) all += req(i);
    const out = (await exchange(e.port, all + req(49, true), { end: false })).toString();
    expect(out.match(/HTTP\/1\.1 404/g)?.length).toBe(50);
  });

  it("gives HEAD responses no body", async () => {
    const a = await infoBackend("A");
    const e = await startEngine([{ host: "a.test", port: a.port }]);
    const out = (await exchange(
      e.port,
      "HEAD / HTTP/1.1\r\nHost: a.test\r\n\r\nGET /after HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
      { end: false },
    )).toString();
    expect(out.match(/HTTP\/1\.1 200/g)?.length).toBe(2);
    expect(out).toContain('"/after"');
  });
  it("reads heads that come in pieces, on both sides, and keeps the connection going", async () => {
    const pause = () => new Promise((r) => setTimeout(r, 30));
    // The backend takes the request head whole, then answers its head in three writes.
    let seen = "";
    const pieced = await startServer((s) => {
      let got = "";
      s.on("data", async (d: Buffer) => {
        got += d.toString("latin1");
        if (!got.includes("\r\n\r\n")) return;
        seen = got;
        got = "";
        for (const piece of ["HTTP/1.1 200 OK\r\nContent-", "Length: 5\r\nX-Piece", "s: 3\r\n\r\nhello"]) {
          s.write(piece);
          await pause();
        }
      });
    });
    const e = await startEngine([{ host: "a.test", port: pieced.port }]);
    const client = net.createConnection({ host: "127.0.0.1", port: e.port });
    await new Promise<void>((r) => client.once("connect", () => r()));
    let reply = "";
    client.on("data", (d: Buffer) => (reply += d.toString("latin1")));
    const answered = async (n: number) => {
      for (let i = 0; i < 100 && reply.split("hello").length - 1 < n; i++) await pause();
    };
    for (let round = 1; round <= 2; round++) {
      for (const piece of ["GET /in-pieces HT", "TP/1.1\r\nHo", "st: a.test\r\n", "\r\n"]) {
        client.write(piece);
        await pause();
      }
      await answered(round);
    }
    client.destroy();
    const answers = reply.split(/(?=HTTP\/1\.1 )/);
    expect(answers.length).toBe(2);
    for (const answer of answers) {
      expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(answer).toContain("X-Pieces: 3\r\n");
      expect(answer.endsWith("\r\n\r\nhello")).toBe(true);
    }
    expect(seen).toMatch(/^GET \/in-pieces HTTP\/1\.1\r\nHost: a\.test\r\n/);
    expect(seen).toContain("X-Forwarded-For: 127.0.0.1\r\n");
    // Both requests went over one upstream connection: the pieced response was read whole.
    expect(pieced.accepted).toBe(1);
  });
});

describe("HTTP engine: upstream pool", () => {
  it("drops an idle upstream connection the server closed, and dials anew", async () => {
    // Answers one request with a keep-alive response, then closes the idle connection.
    const a = await startServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        setTimeout(() => s.end(), 50);
      });
    });
    const e = await startEngine([{ host: "127.0.0.1", port: a.port }]);
    const first = await fetch(url(e.port, "/1"));
    expect(await first.text()).toBe("ok");
    await new Promise((r) => setTimeout(r, 200));
    expect(e.pool.idleCount(`127.0.0.1:${a.port}`)).toBe(0);
    const res = await fetch(url(e.port, "/2"));
    expect(res.status).toBe(200);
    await res.text();
    expect(e.dials).toBe(2);
  });

  it("decodes a chunked response for an HTTP/1.0 client and closes", async () => {
    const b = await startBackend((_req, res) => {
      res.write("hello ");
      res.end("world");
    });
    const e = await startEngine([{ host: "a.test", port: b.port }]);
    const out = (await exchange(e.port, "GET / HTTP/1.0\r\nHost: a.test\r\n\r\n", { end: false })).toString();
    expect(out).toMatch(/^HTTP\/1\.1 200 /);
    expect(out.toLowerCase()).not.toContain("transfer-encoding");
    expect(out).toContain("Connection: close");
    expect(out.endsWith("\r\n\r\nhello world")).toBe(true);
  });
});

describe("HTTP engine: errors", () => {
  it("refuses a Content-Length + Transfer-Encoding request with 400, never reaching the backend", async () => {
    const a = await infoBackend("A");
    const e = await startEngine([{ host: "a.test", port: a.port }]);
    const out = await exchange(
      e.port,
      "POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a.test\r\n\r\n",
      { end: false },
    );
    expect(out.toString()).toMatch(/^HTTP\/1\.1 400 /);
    expect(out.toString()).toContain("Connection: close");
    expect(a.connections).toBe(0);
  });

  it("answers a malformed request head with its code and closes", async () => {
    const e = await startEngine([]);
    const out = await exchange(e.port, "GET / HTTP/1.1\r\n\r\n", { end: false });
    expect(out.toString()).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("answers 502 when the upstream sends garbage", async () => {
    const bad = await startServer((s) => {
      s.on("data", () => {});
      s.end("garbage\r\n\r\n");
    });
    const e = await startEngine([{ host: "127.0.0.1", port: bad.port }]);
    const res = await fetch(url(e.port));
    expect(res.status).toBe(502);
    await res.text();
  });

  it("answers 504 when the upstream never answers", async () => {
    const silent = await startServer((s) => s.on("data", () => {}));
    const e = await startEngine([{ host: "127.0.0.1", port: silent.port }], { upstreamMs: 200 });
    const t0 = performance.now();
    const res = await fetch(url(e.port));
    expect(res.status).toBe(504);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    await res.text();
  });

  it("closes a keep-alive client silent past the keep-alive timeout, and answers 408 to a head that never completes", async () => {
    const a = await infoBackend("A");
    const e = await startEngine([{ host: "127.0.0.1", port: a.port }], { keepAliveMs: 300, requestHeadMs: 300 });
    // One request answered, then silence: vane ends the connection, not before its time.
    const t0 = performance.now();
    const got = await exchange(e.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", { end: false });
    expect(got.toString()).toMatch(/^HTTP\/1\.1 200 /);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    // A head that never ends (a slowloris client) is told 408 at its deadline, then closed.
    const partial = await exchange(e.port, "GET / HTTP/1.1\r\nHost: 127.0", { end: false });
    expect(partial.toString()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it("answers 502 when the upstream is down", async () => {
    const port = await freePort();
    const e = await startEngine([{ host: "127.0.0.1", port }]);
    const res = await fetch(url(e.port));
    expect(res.status).toBe(502);
    expect(res.headers.get("content-length")).not.toBeNull();
    await res.text();
  });

  it("retries an idempotent request once when a reused upstream connection is stale", async () => {
    const a = await infoBackend("A");
    // A "reused" connection the server has already dropped: accepted, then closed at once.
    const dead = await startServer((s) => s.destroy());
    let first = true;
    const rt = runtime();
    const e = await startEngine([{
      host: "127.0.0.1",
      port: a.port,
      acquire: async () => {
        const stale = first;
        first = false;
        const conn = await rt.connectTcp({ hostname: "127.0.0.1", port: stale ? dead.port : a.port }, 1000);
        // Let the server's close arrive first, as it would on an idle pooled connection.
        if (stale) await new Promise((r) => setTimeout(r, 50));
        return { conn, key: "k", reused: stale, authority: "k" };
      },
    }]);
    const res = await fetch(url(e.port, "/retry"));
    expect(res.status).toBe(200);
    expect((await res.json()).url).toBe("/retry");
  });

  it("does not retry a request whose body was already sent", async () => {
    const dead = await startServer((s) => {
      s.on("data", () => s.destroy());
    });
    let calls = 0;
    const rt = runtime();
    const e = await startEngine([{
      host: "127.0.0.1",
      port: dead.port,
      acquire: async () => {
        calls++;
        const conn = await rt.connectTcp({ hostname: "127.0.0.1", port: dead.port }, 1000);
        return { conn, key: "k", reused: true, authority: "k" };
      },
    }]);
    const res = await fetch(url(e.port, "/"), { method: "POST", body: "data" });
    expect(res.status).toBe(502);
    await res.text();
    expect(calls).toBe(1);
  });
});

describe("HTTP engine: WebSocket", () => {
  it("tunnels a WebSocket after the 101", async () => {
    const b = await wsEchoBackend();
    const e = await startEngine([{ host: "127.0.0.1", port: b.port }]);
    const ws = new WebSocket(`ws://127.0.0.1:${e.port}/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("hello through vane");
      ws.onmessage = (m) => resolve(String(m.data));
      ws.onerror = () => reject(new Error("websocket error"));
    });
    expect(reply).toBe("hello through vane");
    ws.close();
    expect(e.responses.some((r) => r.code === 101)).toBe(true);
  });
});

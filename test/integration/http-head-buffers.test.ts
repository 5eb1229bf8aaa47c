/**
 * The buffers heads are built in. Response heads: on Bun each (with the body bytes that
 * came with it) is built in one buffer that every connection shares (ReplayConn.outBuffer)
 * and written with writeRange, which copies what the socket does not take at once. Two
 * clients pipeline many requests and do not read for a while, so their sockets fill and
 * writes wait while the other client's heads go through the same buffer: every answer
 * must still reach its client whole, in order, with its own head and body. Request
 * heads: each waits in a buffer of head-buffers.ts until its final answer's head comes,
 * and is sent again from there when a reused upstream connection turns out closed; many
 * clients at once, with the backend closing connections, must each see their own request
 * arrive.
 */
import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { closeAll } from "../helpers/net.ts";
import { startBackend, startEngine, stopAllHttp } from "../helpers/http-engine.ts";

afterEach(async () => {
  await stopAllHttp();
  await closeAll();
});

const REQUESTS = 240;
const BODY = 32 * 1024;

/** The body the backend sends for `path`: the path repeated, so a mixed-up answer shows. */
function bodyFor(path: string): Buffer {
  return Buffer.alloc(BODY, `${path};`);
}

interface Answer {
  status: number;
  id: string | null;
  body: Buffer;
}

/** Splits `buf` into answers framed by Content-Length; stops at the first incomplete one. */
function parseAnswers(buf: Buffer): Answer[] {
  const out: Answer[] = [];
  let at = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", at);
    if (end < 0) return out;
    const head = buf.subarray(at, end).toString("latin1").split("\r\n");
    const field = (name: string) =>
      head.find((l) => l.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim() ?? null;
    const length = Number(field("content-length") ?? "0");
    if (buf.length < end + 4 + length) return out;
    out.push({
      status: Number(head[0].split(" ")[1]),
      id: field("x-id"),
      body: buf.subarray(end + 4, end + 4 + length),
    });
    at = end + 4 + length;
  }
}

/** Sends every request at once, reads nothing for `pauseMs`, then everything. */
function pipelined(port: number, prefix: string, pauseMs: number): Promise<Answer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1");
    s.pause();
    s.on("error", reject);
    s.on("data", (d) => {
      chunks.push(d);
      const answers = parseAnswers(Buffer.concat(chunks));
      if (answers.length === REQUESTS) {
        s.destroy();
        resolve(answers);
      }
    });
    s.on("close", () => resolve(parseAnswers(Buffer.concat(chunks))));
    let requests = "";
    for (let i = 0; i < REQUESTS; i++) requests += `GET /${prefix}${i} HTTP/1.1\r\nHost: t.test\r\n\r\n`;
    s.write(requests);
    setTimeout(() => s.resume(), pauseMs);
  });
}

describe("response heads under backpressure", () => {
  it("reach two pipelining clients whole and in order while their sockets are full", async () => {
    const backend = await startBackend((req, res) => {
      res.setHeader("X-Id", req.url ?? "");
      res.setHeader("Content-Length", String(BODY));
      res.end(bodyFor(req.url ?? ""));
    });
    const e = await startEngine([{ host: "t.test", port: backend.port }]);
    const [a, b] = await Promise.all([pipelined(e.port, "a", 800), pipelined(e.port, "b", 400)]);
    for (const [prefix, answers] of [["a", a], ["b", b]] as const) {
      expect(answers.length).toBe(REQUESTS);
      answers.forEach((answer, i) => {
        const path = `/${prefix}${i}`;
        expect({ i, status: answer.status, id: answer.id }).toEqual({ i, status: 200, id: path });
        expect(answer.body.equals(bodyFor(path))).toBe(true);
      });
    }
  });

  it("sends every request's own head, retries included, with many clients at once", async () => {
    let served = 0;
    const backend = await startBackend((req, res) => {
      // Every third connection is dropped right after its answer, unannounced: a request
      // vane sends on it before it sees the close is sent again on a new connection.
      res.end(`${req.url} ${req.headers["x-tag"]}`);
      if (++served % 3 === 0) setTimeout(() => req.socket.destroy(), 1);
    });
    const e = await startEngine([{ host: "t.test", port: backend.port }]);
    // node:http with a kept-alive connection per client (fetch may not set Host).
    const get = (agent: http.Agent, path: string, tag: string) =>
      new Promise<string>((resolve, reject) => {
        const req = http.get({
          host: "127.0.0.1",
          port: e.port,
          path,
          agent,
          headers: { Host: "t.test", "X-Tag": tag },
        });
        req.on("error", reject);
        req.on("response", (res) => {
          let body = "";
          res.setEncoding("latin1");
          res.on("data", (d) => (body += d));
          res.on("end", () => resolve(body));
        });
      });
    const client = async (c: number) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const seen: string[] = [];
      for (let r = 0; r < 40; r++) {
        seen.push(await get(agent, `/c${c}/r${r}`, `tag-${c}-${r}-${"x".repeat((c * 7 + r) % 90)}`));
      }
      agent.destroy();
      return seen;
    };
    const all = await Promise.all(Array.from({ length: 16 }, (_, c) => client(c)));
    // A request whose one retry found a stale connection again is answered 502; no
    // answer may carry another request's head.
    let own = 0;
    const wrong: string[] = [];
    all.forEach((seen, c) =>
      seen.forEach((body, r) => {
        if (body === `/c${c}/r${r} tag-${c}-${r}-${"x".repeat((c * 7 + r) % 90)}`) own++;
        else if (body !== "bad gateway\n") wrong.push(`/c${c}/r${r}: ${body}`);
      })
    );
    expect(wrong).toEqual([]);
    expect(own).toBeGreaterThan(16 * 40 * 0.8);
    expect(e.dials).toBeGreaterThan(16);
  });
});

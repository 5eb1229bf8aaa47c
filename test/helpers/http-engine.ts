/**
 * The L7 engine on a loopback listener, with routes to test backends through an
 * UpstreamPool, plus small node:http backends and a curl runner. Everything opened
 * is closed by `stopAllHttp()`.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { spawn } from "node:child_process";
import { type HttpContext, type HttpRoute, serveHttp1, type UpstreamLease } from "../../src/http/engine.ts";
import { UpstreamPool } from "../../src/http/upstream-pool.ts";
import { runtime } from "../../src/runtime/mod.ts";
import type { TcpConn } from "../../src/runtime/types.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";
import { DEFAULT_HTTP, DEFAULT_TIMEOUTS } from "../../src/config/model.ts";
import { PartialHeads } from "../../src/http/partial-heads.ts";

const cleanups = new Set<() => Promise<void> | void>();

export async function stopAllHttp(): Promise<void> {
  const all = [...cleanups];
  cleanups.clear();
  await Promise.all(all.map((f) => f()));
}

export interface RouteSpec {
  host: string;
  /** Path prefix; the longest matching one wins. */
  prefix?: string;
  port: number;
  name?: string;
  /** Replaces the pool-backed acquire (to hand the engine a special connection). */
  acquire?: HttpRoute["acquire"];
}

export interface EngineHandle {
  port: number;
  pool: UpstreamPool;
  /** Client connections accepted by the engine's listener. */
  accepted: number;
  /** Upstream connections opened (not reused). */
  dials: number;
  responses: Array<{ route: string | null; code: number; method: string }>;
}

export async function startEngine(
  routes: RouteSpec[],
  opts:
    & Partial<Pick<HttpContext, "upstreamMs" | "idleMs" | "requestHeadMs" | "keepAliveMs" | "bodyMs" | "http">>
    & { noRouteStatus?: 404 | 421 } = {},
): Promise<EngineHandle> {
  const rt = runtime();
  const pool = new UpstreamPool({ maxIdlePerKey: 8, idleMs: 5000 });
  const conns = new Set<TcpConn>();
  const partialHeads = new PartialHeads(silentLogger);
  const handle: EngineHandle = { port: 0, pool, accepted: 0, dials: 0, responses: [] };

  const makeRoute = (spec: RouteSpec): HttpRoute => {
    const key = `127.0.0.1:${spec.port}`;
    return {
      name: spec.name ?? `${spec.host}${spec.prefix ?? ""}`,
      pool: key,
      acquire: spec.acquire ?? (async () => {
        const idle = pool.take(key);
        if (idle) return { conn: idle, key, reused: true, authority: key };
        try {
          const conn = await rt.connectTcp({ hostname: "127.0.0.1", port: spec.port }, 1000);
          handle.dials++;
          conns.add(conn);
          return { conn, key, reused: false, authority: key };
        } catch (err) {
          return { ok: false as const, reason: String(err) };
        }
      }),
      release(lease: UpstreamLease, reusable: boolean) {
        if (reusable) pool.put(lease.key, lease.conn);
        else lease.conn.close();
      },
    };
  };
  const table = routes.map((r) => ({ spec: r, route: makeRoute(r) }));

  const listener = await rt.listenTcp({ hostname: "127.0.0.1", port: 0 }, (c) => {
    handle.accepted++;
    conns.add(c);
    const ctx: HttpContext = {
      client: { hostname: c.remote.hostname, port: c.remote.port },
      local: { hostname: c.local.hostname, port: c.local.port },
      proto: "http",
      // The longest matching prefix of the request's host, as a flow of the CLI's routes would choose.
      async decide(_head, { host, path }) {
        let best: (typeof table)[number] | null = null;
        for (const t of table) {
          const prefix = t.spec.prefix ?? "";
          if (t.spec.host !== host || !path.startsWith(prefix)) continue;
          if (!best || prefix.length > (best.spec.prefix ?? "").length) best = t;
        }
        if (best) return { kind: "proxy", route: best.route, request: [], response: [], allow: [] };
        const code = opts.noRouteStatus ?? 404;
        return {
          kind: "respond",
          status: code,
          headers: [["content-type", "text/plain; charset=utf-8"]],
          body: code === 404 ? "no route for this request\n" : "misdirected request\n",
          response: [],
        };
      },
      upstreamMs: opts.upstreamMs ?? 2000,
      http: opts.http ?? DEFAULT_HTTP,
      idleMs: opts.idleMs ?? 5000,
      requestHeadMs: opts.requestHeadMs ?? DEFAULT_TIMEOUTS.requestHeadMs,
      keepAliveMs: opts.keepAliveMs ?? 5000,
      bodyMs: opts.bodyMs ?? DEFAULT_TIMEOUTS.bodyMs,
      partialHeads,
      log: silentLogger,
      onResponse: (info) => handle.responses.push(info),
    };
    serveHttp1(c, ctx).finally(() => {
      c.close();
      conns.delete(c);
    });
  });
  handle.port = listener.addr.port;
  cleanups.add(() => {
    listener.close();
    pool.closeAll();
    for (const c of conns) c.close();
  });
  return handle;
}

export interface Backend {
  port: number;
  /** TCP connections accepted. */
  connections: number;
  requests: number;
  server: http.Server;
}

/** A node:http backend; tracks connections so tests can see keep-alive reuse. */
export function startBackend(handler: http.RequestListener): Promise<Backend> {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    const sockets = new Set<net.Socket>();
    const b: Backend = { port: 0, connections: 0, requests: 0, server };
    server.on("request", () => b.requests++);
    server.on("connection", (s) => {
      b.connections++;
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    server.listen(0, "127.0.0.1", () => {
      b.port = (server.address() as net.AddressInfo).port;
      cleanups.add(
        () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      );
      resolve(b);
    });
  });
}

/** Answers with JSON of what it received (method, url, headers) and its own name. */
export function infoBackend(name: string): Promise<Backend> {
  return startBackend((req, res) => {
    req.resume();
    req.on("end", () => {
      const body = JSON.stringify({ name, method: req.method, url: req.url, headers: req.headers });
      res.writeHead(200, { "content-type": "application/json", "x-hop": "drop-me", connection: "x-hop" });
      res.end(body);
    });
  });
}

/** Streams the request body back as it arrives. */
export function echoBackend(): Promise<Backend> {
  return startBackend((req, res) => {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    req.pipe(res);
  });
}

/** Runs curl asynchronously (the servers live in this process). */
export function curl(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("curl", ["-sS", "--max-time", "5", ...args]);
    const out: Buffer[] = [];
    let err = "";
    p.stdout.on("data", (d) => out.push(d));
    p.stderr.on("data", (d) => (err += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

/** The status of one request curl makes with `args` (the body is dropped): "000" when no answer came. */
export async function curlStatus(args: string[]): Promise<string> {
  return (await curl(["-o", "/dev/null", "-w", "%{http_code}", ...args])).stdout.toString();
}

/** A WebSocket echo backend: the RFC 6455 handshake by hand, each frame echoed unmasked. */
export async function wsEchoBackend(): Promise<Backend> {
  const b = await startBackend((_req, res) => res.end("not ws"));
  b.server.on("upgrade", (req, socket: net.Socket) => {
    const accept = createHash("sha1")
      .update(String(req.headers["sec-websocket-key"]) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
      .digest("base64");
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    let buf = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      // Client frames are masked; echo each one back unmasked with the same opcode.
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        }
        if (buf.length < off + 4 + len) return;
        const mask = buf.subarray(off, off + 4);
        const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
        for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
        const opcode = buf[0] & 0x0f;
        buf = buf.subarray(off + 4 + len);
        const hdr = len < 126
          ? Buffer.from([0x80 | opcode, len])
          : Buffer.from([0x80 | opcode, 126, len >> 8, len & 255]);
        socket.write(Buffer.concat([hdr, payload]));
        if (opcode === 8) socket.end();
      }
    });
    socket.on("error", () => {});
  });
  return b;
}

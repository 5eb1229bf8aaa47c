/**
 * HTTP through vane, per request, on the same port as TLS passthrough and raw TCP:
 * curl with --resolve for host and path routing, X-Forwarded-For with the real client,
 * a WebSocket, the http:// listener, and vane_requests_total.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { closeAll, echoServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { curl, curlStatus, infoBackend, stopAllHttp, wsEchoBackend } from "../helpers/http-engine.ts";
import { makeCert, removeCerts, sClient, tlsNameServer } from "../helpers/tls.ts";
import { metrics, startVane, startYaml, stopAllVanes } from "../helpers/vane.ts";

const tlsServers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await stopAllVanes();
  await stopAllHttp();
  await closeAll();
  await Promise.all(tlsServers.splice(0).map((s) => s.close()));
});
afterAll(removeCerts);

const get = async (port: number, host: string, path: string, extra: string[] = []) => {
  const r = await curl(["--resolve", `${host}:${port}:127.0.0.1`, ...extra, `http://${host}:${port}${path}`]);
  return r.stdout.toString();
};

/** The payload of a chunked body (enough for a test: sizes and data, no extensions). */
function dechunk(text: string): string {
  let out = "";
  for (let i = 0;;) {
    const eol = text.indexOf("\r\n", i);
    const size = parseInt(text.slice(i, eol), 16);
    if (!size) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    i = eol + 2 + size + 2;
  }
}

describe("HTTP routing through vane", () => {
  it("routes each request by host and path, next to TLS passthrough and raw TCP on one port", async () => {
    const api = await infoBackend("api");
    const v1 = await infoBackend("api-v1");
    const web = await infoBackend("web");
    const alpha = await tlsNameServer("alpha", makeCert("alpha.test"));
    tlsServers.push(alpha);
    const echo = await echoServer();
    const v = await startVane([
      "--route",
      `api.test=127.0.0.1:${api.port}`,
      "--route",
      `api.test/v1=127.0.0.1:${v1.port}`,
      "--route",
      `*.web.test=127.0.0.1:${web.port}`,
      "--route",
      `alpha.test=127.0.0.1:${alpha.port}`,
      "--route",
      `*=127.0.0.1:${echo.port}`,
    ]);
    // HTTP, TLS and raw TCP on the same port, all at once.
    const [x, users, www, tls, raw] = await Promise.all([
      get(v.port, "api.test", "/x"),
      get(v.port, "api.test", "/v1/users"),
      get(v.port, "www.web.test", "/"),
      sClient(v.port, "alpha.test"),
      exchange(v.port, "raw bytes"),
    ]);
    expect(JSON.parse(x).name).toBe("api");
    expect(JSON.parse(users).name).toBe("api-v1");
    expect(JSON.parse(www).name).toBe("web");
    expect(tls.greeting).toBe("alpha");
    expect(tls.peerCN).toBe("alpha.test");
    expect(raw.toString()).toBe("raw bytes");
    const text = await metrics(v);
    expect(text).toContain(`vane_requests_total{route="api.test",pool="api.test",code="200"} 1`);
    expect(text).toContain(`vane_requests_total{route="api.test/v1",pool="api.test/v1",code="200"} 1`);
    expect(text).toContain('vane_detect_total{protocol="http"} 3');
  }, 30000);

  it("answers 404 when no route matches and there is no catch-all", async () => {
    const api = await infoBackend("api");
    const v = await startVane(["--route", `api.test=127.0.0.1:${api.port}`]);
    expect(await curlStatus(["--resolve", `nope.test:${v.port}:127.0.0.1`, `http://nope.test:${v.port}/`])).toBe("404");
    expect(await metrics(v)).toContain('vane_requests_total{route="",pool="",code="404"} 1');
  });

  it("adds X-Forwarded-For with the client from a trusted PROXY header", async () => {
    const api = await infoBackend("api");
    const v = await startVane(["--route", `api.test=127.0.0.1:${api.port}`, "--accept-proxy", "127.0.0.1"]);
    const reply = await exchange(
      v.port,
      "PROXY TCP4 127.9.8.7 127.0.0.1 5555 80\r\nGET /who HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n",
    );
    const [head, rest] = reply.toString().split("\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    const body = JSON.parse(/transfer-encoding: chunked/i.test(head) ? dechunk(rest) : rest);
    expect(body.headers["x-forwarded-for"]).toBe("127.9.8.7");
    expect(body.headers["x-forwarded-host"]).toBe("api.test");
    expect(body.headers["x-forwarded-proto"]).toBe("http");
  });

  it("proxies a WebSocket routed by host", async () => {
    const b = await wsEchoBackend();
    const v = await startVane(["--listen", "http://127.0.0.1:0", "--route", `*=127.0.0.1:${b.port}`]);
    const httpPort = v.vane.listeners[1].addr.port;
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.onopen = () => ws.send("hello through vane");
      ws.onmessage = (m) => resolve(String(m.data));
      ws.onerror = () => reject(new Error("websocket error"));
    });
    ws.close();
    expect(reply).toBe("hello through vane");
  });

  it("serves HTTP/1.1 only on an http:// listener, refusing what is not HTTP with 400", async () => {
    const api = await infoBackend("api");
    const v = await startVane(["--listen", "http://127.0.0.1:0", "--route", `*=127.0.0.1:${api.port}`]);
    const httpPort = v.vane.listeners[1].addr.port;
    expect(JSON.parse(await get(httpPort, "any.test", "/")).name).toBe("api");
    const reply = (await exchange(httpPort, "not http at all\r\n\r\n")).toString();
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
  });

  it("gives an HTTP/1.0 request without Host the target's name as Host, as nginx does", async () => {
    const api = await infoBackend("api");
    const v = await startVane(["--listen", "http://127.0.0.1:0", "--route", `*=127.0.0.1:${api.port}`]);
    const httpPort = v.vane.listeners[1].addr.port;
    // What the backend saw, from the answer to an HTTP/1.0 request (which ends with the close).
    const seen = async (request: string) => {
      const reply = (await exchange(httpPort, request, { end: false })).toString();
      expect(reply).toMatch(/^HTTP\/1\.1 200 /);
      return JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4));
    };
    const plain = await seen("GET /legacy HTTP/1.0\r\nUser-Agent: old\r\n\r\n");
    expect(plain.headers.host).toBe(`127.0.0.1:${api.port}`);
    expect(plain.url).toBe("/legacy");
    expect(plain.headers["user-agent"]).toBe("old");
    expect(plain.headers["x-forwarded-for"]).toBe("127.0.0.1");
    // An absolute target names the host itself, and goes on in origin form. (Userinfo
    // in it is refused: see http-hardening.test.ts.)
    const absolute = await seen("GET http://legacy.test:8080/y HTTP/1.0\r\n\r\n");
    expect(absolute.headers.host).toBe("legacy.test:8080");
    expect(absolute.url).toBe("/y");
    // With a Host, nothing changes.
    expect((await seen("GET / HTTP/1.0\r\nHost: given.test\r\n\r\n")).headers.host).toBe("given.test");
  });

  it("keeps the Host a flow sets on an HTTP/1.0 request that came without one", async () => {
    const api = await infoBackend("api");
    const v = await startYaml(`control: { listen: 127.0.0.1:0 }
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - set-headers: { request: { Host: set.test } }
      - proxy: [127.0.0.1:${api.port}]
`);
    const reply = (await exchange(v.port, "GET / HTTP/1.0\r\n\r\n", { end: false })).toString();
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    const seen = JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4));
    expect(seen.headers.host).toBe("set.test");
  });
});

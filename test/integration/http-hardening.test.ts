/**
 * vane as an attacker meets it: raw bytes sent to vane in front of a backend that
 * records what it received, asserting what the target saw (how many requests, their
 * start lines, framing and Host), not only the status the client got.
 */
import { afterEach, describe, expect, it } from "vitest";
import { stopAll } from "../helpers/cleanup.ts";
import { exchange, statuses } from "../helpers/raw-client.ts";
import { type Recorded, recordingBackend } from "../helpers/recording-backend.ts";
import { CONTROL, proxyVane, startYaml } from "../helpers/vane.ts";
import { websocketAccept } from "../../src/http/upgrade.ts";
import { startHaproxy } from "../helpers/haproxy.ts";

afterEach(stopAll);

/** vane in front of a recording backend, and the raw exchange helper. */
async function behind() {
  const backend = await recordingBackend();
  const v = await proxyVane(backend.port);
  return { backend, v, send: (raw: string) => exchange(v.port, raw) };
}

describe("Connection cannot name framing fields, Host or the client's address", () => {
  it("keeps Content-Length named in Connection, so the body stays one request's body", async () => {
    const { backend, send } = await behind();
    const smuggled = "GET /admin HTTP/1.1\r\nHost: a.test\r\n\r\n";
    const reply = await send(
      "POST /form HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, Content-Length\r\n" +
        `Content-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
    );
    expect(statuses(reply)).toEqual([200]);
    expect(backend.requests.map((r) => r.line)).toEqual(["POST /form HTTP/1.1"]);
    expect(backend.field(0, "content-length")).toEqual([String(smuggled.length)]);
    expect(backend.requests[0].body).toBe(smuggled);
    expect(backend.field(0, "connection")).toEqual([]);
  });

  it("keeps Transfer-Encoding named in Connection, with the chunked body framed by it", async () => {
    const { backend, send } = await behind();
    const smuggled = "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
    const reply = await send(
      "POST /up HTTP/1.1\r\nHost: a.test\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
    );
    expect(statuses(reply)).toEqual([200]);
    expect(backend.requests.map((r) => r.line)).toEqual(["POST /up HTTP/1.1"]);
    expect(backend.field(0, "transfer-encoding")).toEqual(["chunked"]);
    expect(backend.requests[0].body).toBe(smuggled);
  });

  it("keeps Host, X-Forwarded-For and Forwarded named in Connection", async () => {
    const { backend, send } = await behind();
    await send(
      "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: Host, X-Forwarded-For, Forwarded, X-Drop\r\n" +
        "X-Forwarded-For: 10.9.9.9\r\nForwarded: for=10.9.9.9\r\nX-Drop: 1\r\nX-Keep: 1\r\n\r\n",
    );
    expect(backend.requests).toHaveLength(1);
    expect(backend.field(0, "host")).toEqual(["a.test"]);
    expect(backend.field(0, "x-forwarded-for")).toEqual(["10.9.9.9, 127.0.0.1"]);
    expect(backend.field(0, "forwarded")).toEqual(["for=10.9.9.9"]);
    // Other fields Connection names still stop here (RFC 9110 §7.6.1).
    expect(backend.field(0, "x-drop")).toEqual([]);
    expect(backend.field(0, "x-keep")).toEqual(["1"]);
  });

  it("keeps a response's Content-Length named in its Connection, so the next answer is not poisoned", async () => {
    const backend = await recordingBackend((req) =>
      req.target === "/first"
        ? "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello"
        : "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"
    );
    const v = await proxyVane(backend.port);
    const reply = (await exchange(
      v.port,
      "GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n",
    )).toString("latin1");
    expect(statuses(Buffer.from(reply, "latin1"))).toEqual([200, 200]);
    expect(reply.startsWith("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")).toBe(true);
    expect(reply.endsWith("second")).toBe(true);
  });
});

describe("duplicate Content-Length", () => {
  it("folds identical Content-Length fields and lists to one field before forwarding", async () => {
    const { backend, send } = await behind();
    const reply = await send(
      "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello" +
        "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc",
    );
    expect(statuses(reply)).toEqual([200, 200]);
    expect(backend.requests.map((r) => [r.target, r.body])).toEqual([["/a", "hello"], ["/b", "abc"]]);
    expect(backend.field(0, "content-length")).toEqual(["5"]);
    expect(backend.field(1, "content-length")).toEqual(["3"]);
  });

  it("refuses differing Content-Length values with 400, and nothing reaches the target", async () => {
    const { backend, send } = await behind();
    const reply = await send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!");
    expect(statuses(reply)).toEqual([400]);
    expect(backend.requests).toHaveLength(0);
  });
});

describe("header line limit", () => {
  it("answers 431 to a header line over 8 KiB, and takes one of 8 KiB", async () => {
    const { backend, send } = await behind();
    const name = "X-Big: ";
    const over = await send(`GET / HTTP/1.1\r\nHost: a\r\n${name}${"a".repeat(8192 - name.length + 1)}\r\n\r\n`);
    expect(statuses(over)).toEqual([431]);
    expect(backend.requests).toHaveLength(0);
    const fits = await send(`GET / HTTP/1.1\r\nHost: a\r\n${name}${"a".repeat(8192 - name.length)}\r\n\r\n`);
    expect(statuses(fits)).toEqual([200]);
    expect(backend.requests).toHaveLength(1);
  });

  it("answers 431 as soon as a line is over the limit, before its end arrives", async () => {
    const { backend, v } = await behind();
    const net = await import("node:net");
    const reply = await new Promise<string>((resolve) => {
      let got = "";
      const s = net.connect(
        v.port,
        "127.0.0.1",
        () => s.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"a".repeat(9000)}`),
      );
      s.setEncoding("latin1");
      s.on("data", (d: string) => (got += d));
      s.on("close", () => resolve(got));
      s.on("error", () => resolve(got));
    });
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(backend.requests).toHaveLength(0);
  });
});

/** A flow that denies /admin and /private/, then proxies everything else to the backend. */
async function denyAdmin(extra = "") {
  const backend = await recordingBackend();
  const v = await startYaml(`${CONTROL}
${extra}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - when: { req.path: { prefix: /admin } }
        respond: { status: 403, body: denied }
      - when: { req.path: { prefix: /private/ } }
        respond: { status: 403, body: denied }
      - when: { req.host: b.test }
        proxy: { targets: [127.0.0.1:${backend.port}], health: { check: none } }
      - proxy: { targets: [127.0.0.1:${backend.port}], health: { check: none } }
`);
  const send = async (target: string, head = "Host: a.test\r\n") =>
    statuses(await exchange(v.port, `GET ${target} HTTP/1.1\r\n${head}\r\n`))[0];
  return { backend, v, send };
}

describe("path rules see the path the target serves", () => {
  it("matches /admin however it is spelled: dot segments, duplicate slashes, encoded unreserved bytes", async () => {
    const { backend, send } = await denyAdmin();
    for (
      const target of [
        "/admin",
        "//admin",
        "/./admin",
        "/x/../admin",
        "/x/%2e%2e/admin",
        "/%2E/admin",
        "/%61dmin",
        "/adm%69n/",
        "/private/../private/x",
        "/x/..//private/y",
        "/../../admin",
      ]
    ) {
      expect([target, await send(target)]).toEqual([target, 403]);
    }
    expect(backend.requests).toHaveLength(0);
  });

  it("forwards the normalised path, so the target serves what was matched", async () => {
    const { backend, send } = await denyAdmin();
    expect(await send("/a//b/./c/../d?q=/../x")).toBe(200);
    expect(await send("/%7Euser/%41%2a")).toBe(200);
    expect(await send("/plain/path?x=1")).toBe(200);
    expect(await send("/dir/")).toBe(200);
    expect(backend.requests.map((r) => r.target)).toEqual([
      "/a/b/d?q=/../x",
      "/~user/A%2A",
      "/plain/path?x=1",
      "/dir/",
    ]);
  });

  it("refuses encoded slashes, backslashes, dot segments with parameters and bad escapes with 400", async () => {
    const { backend, send } = await denyAdmin();
    for (
      const target of [
        "/x%2Fadmin",
        "/x%2f..%2fadmin",
        "/x%5cadmin",
        "/x\\admin",
        "/..;/admin",
        "/x/.;/admin",
        "/%zz",
        "/a%0",
      ]
    ) {
      expect([target, await send(target)]).toEqual([target, 400]);
    }
    expect(backend.requests).toHaveLength(0);
  });

  it("keeps encoded slashes as data with encoded-slash: keep, where they match no rule by accident", async () => {
    const { backend, send } = await denyAdmin("http: { encoded-slash: keep }");
    expect(await send("/x%2Fadmin")).toBe(200);
    expect(backend.requests.map((r) => r.target)).toEqual(["/x%2Fadmin"]);
  });

  it("refuses an origin-form target that does not begin with /", async () => {
    const { backend, send } = await denyAdmin();
    for (const target of ["admin", "%2Fadmin", "?x", "*"]) {
      expect([target, await send(target)]).toEqual([target, 400]);
    }
    expect(backend.requests).toHaveLength(0);
  });

  it("routes an absolute-form target by its authority, and the target receives that host", async () => {
    const { backend, send } = await denyAdmin();
    // The scheme is case-insensitive; the authority wins over Host for routing and upstream.
    expect(await send("HTTP://B.test:8080/x/../y?z", "Host: a.test\r\n")).toBe(200);
    expect(backend.requests).toHaveLength(1);
    expect(backend.requests[0].target).toBe("/y?z");
    expect(backend.field(0, "host")).toEqual(["B.test:8080"]);
    expect(await send("http://b.test/admin", "Host: a.test\r\n")).toBe(403);
    expect(await send("http://b.test", "Host: a.test\r\n")).toBe(200);
    expect(backend.requests[1].target).toBe("/");
  });

  it("refuses userinfo and other schemes in an absolute-form target", async () => {
    const { backend, send } = await denyAdmin();
    expect(await send("http://user@b.test/", "Host: b.test\r\n")).toBe(400);
    expect(await send("http://user:pw@b.test/", "Host: b.test\r\n")).toBe(400);
    expect(await send("ftp://b.test/", "Host: b.test\r\n")).toBe(400);
    expect(backend.requests).toHaveLength(0);
  });
});

describe("upgrades and tunnels", () => {
  const H2C = "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n";

  it("strips an h2c upgrade: the target sees a plain request", async () => {
    const { backend, send } = await behind();
    const reply = await send(`GET / HTTP/1.1\r\nHost: a\r\n${H2C}\r\n`);
    expect(statuses(reply)).toEqual([200]);
    expect(backend.requests).toHaveLength(1);
    expect(backend.field(0, "upgrade")).toEqual([]);
    expect(backend.field(0, "http2-settings")).toEqual([]);
    expect(backend.field(0, "connection")).toEqual([]);
  });

  it("strips h2c offered beside another protocol, and HTTP2-Settings without an upgrade", async () => {
    const { backend, send } = await behind();
    await send("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket, h2c\r\n\r\n");
    await send("GET / HTTP/1.1\r\nHost: a\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");
    expect(backend.requests).toHaveLength(2);
    expect(backend.field(0, "upgrade")).toEqual([]);
    expect(backend.field(1, "http2-settings")).toEqual([]);
  });

  it("forwards h2c when the rule allows it", async () => {
    const backend = await recordingBackend();
    const v = await proxyVane(backend.port, { allow: "h2c" });
    await exchange(v.port, `GET / HTTP/1.1\r\nHost: a\r\n${H2C}\r\n`);
    expect(backend.field(0, "upgrade")).toEqual(["h2c"]);
    expect(backend.field(0, "http2-settings")).toEqual(["AAMAAABkAARAAAAAAAIAAAAA"]);
  });

  const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
  const wsRequest = `GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  /** vane in front of a backend that answers an upgrade with `head`, then echoes. */
  async function switching(head: (req: Recorded) => string) {
    const backend = await recordingBackend((req, socket) => {
      socket.write(head(req), "latin1");
      socket.on("data", (d) => socket.write(d));
      return null;
    });
    const v = await proxyVane(backend.port);
    return { backend, v };
  }

  it("tunnels a WebSocket whose 101 carries the right Sec-WebSocket-Accept", async () => {
    expect(websocketAccept([WS_KEY])).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const { v } = await switching(() =>
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    );
    const reply = (await exchange(v.port, wsRequest + "ping")).toString("latin1");
    expect(reply).toMatch(/^HTTP\/1\.1 101 /);
    expect(reply.endsWith("ping")).toBe(true);
  });

  it("answers 502 to a 101 with a wrong Sec-WebSocket-Accept, or for a protocol not asked for", async () => {
    for (
      const head of [
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: AAAA\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
      ]
    ) {
      const { v } = await switching(() => head);
      const reply = (await exchange(v.port, wsRequest + "ping")).toString("latin1");
      expect(statuses(Buffer.from(reply, "latin1"))).toEqual([502]);
      expect(reply).not.toContain("ping");
    }
  });

  it("answers 502 to a 101 for a request that asked for no upgrade", async () => {
    const { v } = await switching(() =>
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    );
    const reply = await exchange(v.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\nping");
    expect(statuses(reply)).toEqual([502]);
  });

  it("refuses CONNECT and TRACE with 405 unless a rule allows them; nothing reaches the target", async () => {
    const { backend, send } = await behind();
    expect(statuses(await send("CONNECT b.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n"))).toEqual([405]);
    expect(statuses(await send("TRACE / HTTP/1.1\r\nHost: a\r\nCookie: secret\r\n\r\n"))).toEqual([405]);
    expect(backend.requests).toHaveLength(0);
  });

  it("forwards TRACE when the rule allows it", async () => {
    const backend = await recordingBackend();
    const v = await proxyVane(backend.port, { allow: "trace" });
    expect(statuses(await exchange(v.port, "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"))).toEqual([200]);
    expect(backend.requests.map((r) => r.line)).toEqual(["TRACE / HTTP/1.1"]);
  });

  it("tunnels an allowed CONNECT and never pools its upstream connection", async () => {
    const backend = await recordingBackend((req, socket) => {
      if (req.method !== "CONNECT") return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      socket.on("data", (d) => socket.write(d));
      return null;
    });
    const v = await proxyVane(backend.port, { allow: "connect" });
    const reply = (await exchange(v.port, "CONNECT b.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\ntunnelled"))
      .toString();
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.endsWith("tunnelled")).toBe(true);
    expect(backend.requests[0].line).toBe("CONNECT b.test:443 HTTP/1.1");
    // The next request gets a connection of its own, not the tunnel's.
    expect(statuses(await exchange(v.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))).toEqual([200]);
    expect(backend.requests.map((r) => r.conn)).toEqual([0, 1]);
  });

  it("does not pool a connection that answered CONNECT with an error", async () => {
    const backend = await recordingBackend((req) =>
      req.method === "CONNECT"
        ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
        : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    );
    const v = await proxyVane(backend.port, { allow: "connect" });
    expect(statuses(await exchange(v.port, "CONNECT b.test:443 HTTP/1.1\r\nHost: b.test:443\r\n\r\n"))).toEqual([403]);
    expect(statuses(await exchange(v.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"))).toEqual([200]);
    expect(backend.requests.map((r) => r.conn)).toEqual([0, 1]);
  });
});

describe("beside HAProxy 2.6, on the same bytes", () => {
  const smuggle = "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n";
  const payloads: Record<string, string> = {
    "Connection names Content-Length":
      `POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: ${smuggle.length}\r\n\r\n${smuggle}`,
    "Connection names Transfer-Encoding": "POST / HTTP/1.1\r\nHost: a\r\nConnection: Transfer-Encoding\r\n" +
      `Transfer-Encoding: chunked\r\n\r\n${smuggle.length.toString(16)}\r\n${smuggle}\r\n0\r\n\r\n`,
    "Content-Length twice": `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${smuggle.length}\r\n` +
      `Content-Length: ${smuggle.length}\r\n\r\n${smuggle}`,
    "Content-Length and Transfer-Encoding": `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggle}`,
    "h2c upgrade": "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n" +
      "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
  };

  it("lets no more requests reach the target than HAProxy does, and never the smuggled one", async () => {
    const viaVane = await recordingBackend();
    const viaHaproxy = await recordingBackend();
    const v = await proxyVane(viaVane.port);
    const h = await startHaproxy(viaHaproxy.port);
    for (const [name, raw] of Object.entries(payloads)) {
      const before = [viaVane.requests.length, viaHaproxy.requests.length];
      await exchange(v.port, raw);
      await exchange(h.port, raw);
      const vane = viaVane.requests.slice(before[0]);
      const haproxy = viaHaproxy.requests.slice(before[1]);
      expect([name, vane.length <= haproxy.length]).toEqual([name, true]);
      expect([name, vane.filter((r) => r.target === "/admin")]).toEqual([name, []]);
    }
    // Neither passes an h2c switch on.
    expect(viaVane.requests.every((r) => !r.fields.some(([n]) => n === "upgrade"))).toBe(true);
  });
});

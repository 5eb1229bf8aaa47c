/**
 * The flow, end to end: YAML configs with matchers and actions, real curl and TLS
 * clients against vane on loopback, real backends behind it.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { curl, infoBackend, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { closeAll, echoServer } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { makeCert, removeCerts, sClient, tlsNameServer } from "../helpers/tls.ts";
import { metrics, startYaml, stopAllVanes } from "../helpers/vane.ts";

afterEach(async () => {
  await stopAllVanes();
  await stopAllHttp();
  await closeAll();
});
afterAll(removeCerts);

/** curl to vane with Host `host`; the last line of stdout is the status code. */
async function get(port: number, path: string, opts: { host?: string; args?: string[] } = {}) {
  const host = opts.host ?? "app.test";
  const r = await curl([
    "-i",
    "--resolve",
    `${host}:${port}:127.0.0.1`,
    ...(opts.args ?? []),
    `http://${host}:${port}${path}`,
  ]);
  const text = r.stdout.toString("latin1");
  const split = text.indexOf("\r\n\r\n");
  const head = split < 0 ? text : text.slice(0, split);
  const lines = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(":");
    if (c > 0) headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  return {
    exit: r.code,
    status: Number(lines[0]?.split(" ")[1] ?? 0),
    headers,
    body: split < 0 ? "" : text.slice(split + 4),
  };
}

const CONTROL = "control: { listen: 127.0.0.1:0 }\n";

describe("L7 actions", () => {
  it("responds, redirects with templates, aborts, and proxies what is left", async () => {
    const app = await infoBackend("app");
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - when: { req.path: /healthz }
        respond: { status: 200, headers: { X-Served-By: vane }, body: "ok {{req.host}} {{req.query}}\\n" }
      - when: { req.path: { prefix: /old/ } }
        redirect: { status: 301, location: "https://{{req.host}}/new{{req.path}}" }
      - when: { req.method: DELETE }
        abort: true
      - when: { req.header.x-debug: { regex: "^(1|yes)$" } }
        respond: { status: 418, body: "debug {{req.header.x-debug}}" }
      - proxy: [127.0.0.1:${app.port}]
`);
    const ok = await get(v.port, "/healthz?a=1");
    expect(ok.status).toBe(200);
    expect(ok.headers["x-served-by"]).toBe("vane");
    expect(ok.body).toBe("ok app.test a=1\n");

    const moved = await get(v.port, "/old/page?x");
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe("https://app.test/new/old/page");
    expect(moved.body).toBe("");

    const aborted = await get(v.port, "/thing", { args: ["-X", "DELETE"] });
    expect(aborted.exit).toBe(52); // curl: empty reply from server
    expect(app.requests).toBe(0);

    expect((await get(v.port, "/x", { args: ["-H", "X-Debug: yes"] })).status).toBe(418);
    expect((await get(v.port, "/x", { args: ["-H", "X-Debug: yess"] })).status).toBe(200);

    const proxied = await get(v.port, "/api?q=1");
    expect(proxied.status).toBe(200);
    expect(JSON.parse(proxied.body)).toMatchObject({ name: "app", url: "/api?q=1" });
  }, 30000);

  it("sets and removes request and response headers, in rule order", async () => {
    const app = await infoBackend("app");
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - set-headers:
          request: { X-Env: prod, X-Client: "{{conn.ip}}" }
          response: { Strict-Transport-Security: max-age=60, X-Hop: replaced }
      - remove-headers: { request: [Cookie], response: [Content-Type] }
      - when: { req.path: { prefix: /admin } }
        set-headers: { request: { X-Env: admin } }
      - proxy: [127.0.0.1:${app.port}]
`);
    const r = await get(v.port, "/admin/x", { args: ["-H", "Cookie: a=b", "-H", "X-Env: spoofed"] });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.body).headers;
    expect(seen["x-env"]).toBe("admin");
    expect(seen["x-client"]).toBe("127.0.0.1");
    expect(seen.cookie).toBeUndefined();
    expect(r.headers["strict-transport-security"]).toBe("max-age=60");
    expect(r.headers["content-type"]).toBeUndefined();
    expect(r.headers["x-hop"]).toBe("replaced");
    expect(JSON.parse((await get(v.port, "/")).body).headers["x-env"]).toBe("prod");
  }, 30000);

  it("rate-limits per key with 429, other keys unaffected", async () => {
    const app = await infoBackend("app");
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - rate-limit: { rate: 1/h, burst: 2, key: "{{req.header.x-user}}" }
      - proxy: [127.0.0.1:${app.port}]
`);
    const as = (user: string) => get(v.port, "/", { args: ["-H", `X-User: ${user}`] });
    expect((await as("ann")).status).toBe(200);
    expect((await as("ann")).status).toBe(200);
    const limited = await as("ann");
    expect(limited.status).toBe(429);
    expect(limited.body).toBe("too many requests\n");
    expect((await as("bob")).status).toBe(200);
    expect(app.requests).toBe(3);
    expect(await metrics(v)).toContain('vane_requests_total{route="",pool="",code="429"} 1');
  }, 30000);

  it("decides each request on one kept-alive connection by its own host, header and path", async () => {
    const a = await infoBackend("a");
    const b = await infoBackend("b");
    const c = await infoBackend("c");
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - set-headers: { request: { X-Path: "{{req.path}}" } }
      - when: { req.header.x-canary: "1" }
        proxy: [127.0.0.1:${c.port}]
      - when: { host: a.test }
        proxy: [127.0.0.1:${a.port}]
      - when: { host: b.test }
        proxy: [127.0.0.1:${b.port}]
`);
    // Pipelined on one connection: a decision kept from one request must reach the
    // next only where host, header and path are all the same.
    const asks: Array<[string, string, string]> = [
      ["a.test", "/1", ""],
      ["a.test", "/1", ""],
      ["b.test", "/2", ""],
      ["a.test", "/1", "X-Canary: 1\r\n"],
      ["a.test", "/1", ""],
      ["a.test", "/3", ""],
      ["b.test", "/2", ""],
      ["c.test", "/4", ""],
    ];
    const raw = asks.map(([host, path, extra]) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`).join("");
    const out = (await exchange(v.port, raw, { timeoutMs: 10000 })).toString("latin1");
    expect([...out.matchAll(/"name":"(\w)"/g)].map((m) => m[1])).toEqual(["a", "a", "b", "c", "a", "a", "b"]);
    expect([...out.matchAll(/"x-path":"([^"]*)"/g)].map((m) => m[1])).toEqual([
      "/1",
      "/1",
      "/2",
      "/1",
      "/1",
      "/3",
      "/2",
    ]);
    expect([...out.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1])).toEqual([
      ...Array(7).fill("200"),
      "404",
    ]);
    expect([a.requests, b.requests, c.requests]).toEqual([4, 2, 1]);
  }, 30000);

  it("rate-limits requests on one kept-alive connection as on separate ones", async () => {
    const app = await infoBackend("app");
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - rate-limit: { rate: 1/h, burst: 2, key: "{{req.host}}" }
      - proxy: [127.0.0.1:${app.port}]
`);
    const raw = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n".repeat(3) + "GET / HTTP/1.1\r\nHost: b.test\r\n\r\n";
    const out = (await exchange(v.port, raw, { timeoutMs: 10000 })).toString("latin1");
    expect([...out.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1])).toEqual(["200", "200", "429", "200"]);
    expect(app.requests).toBe(3);
  }, 30000);

  it("matches the client address by CIDR and the method by list", async () => {
    const app = await infoBackend("app");
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - when: { conn.ip: { cidr: [127.0.0.2/32] } }
        respond: { status: 403, body: "not you\\n" }
      - when: { not: { req.method: [GET, HEAD] } }
        respond: { status: 405 }
      - proxy: [127.0.0.1:${app.port}]
`);
    // curl --interface picks the source address: 127.0.0.2 is loopback too.
    expect((await get(v.port, "/", { args: ["--interface", "127.0.0.2"] })).status).toBe(403);
    expect((await get(v.port, "/", { args: ["--interface", "127.0.0.1"] })).status).toBe(200);
    expect((await get(v.port, "/", { args: ["-X", "POST"] })).status).toBe(405);
  }, 30000);

  it("answers 404 when no rule matches and keeps serving", async () => {
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - when: { req.host: only.test }
        respond: { status: 200 }
`);
    expect((await get(v.port, "/", { host: "other.test" })).status).toBe(404);
    expect((await get(v.port, "/", { host: "only.test" })).status).toBe(200);
  }, 30000);

  it("calls a TypeScript function step and takes the branch it answers", async () => {
    const app = await infoBackend("app");
    const calls: Array<Record<string, unknown>> = [];
    const v = await startYaml(
      `${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - plugin:
          function: auth
          timeout: 1s
          branches:
            deny: [{ respond: { status: 401, body: "who are you\\n" } }]
          failure: [{ respond: { status: 503 } }]
      - set-headers: { request: { X-User: "{{plugin.user}}" } }
      - proxy: [127.0.0.1:${app.port}]
`,
      {
        functions: {
          auth: (keys) => {
            calls.push({ ...keys });
            const token = keys["req.header.authorization"];
            if (token === "Bearer crash") throw new Error("boom");
            return token === "Bearer good" ? { branch: "allow", keys: { user: "ann" } } : { branch: "deny" };
          },
        },
      },
    );
    expect((await get(v.port, "/")).status).toBe(401);
    const allowed = await get(v.port, "/p", { args: ["-H", "Authorization: Bearer good"] });
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.body).headers["x-user"]).toBe("ann");
    expect((await get(v.port, "/", { args: ["-H", "Authorization: Bearer crash"] })).status).toBe(503);
    expect(calls[1]).toMatchObject({ "req.path": "/p", "req.method": "GET", "conn.ip": "127.0.0.1" });
  }, 30000);
});

describe("plugins through vane", () => {
  it(
    "takes an HTTP plugin's branch, its failure branch on a timeout, and a crashing command's failure branch",
    async () => {
      const app = await infoBackend("app");
      // The plugin: decides by path; /slow answers after the plugin's timeout.
      const plugin = await startBackend((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
          const keys = JSON.parse(body);
          const answer = JSON.stringify({
            branch: keys["req.path"] === "/admin" ? "deny" : "allow",
            keys: { team: "blue" },
          });
          const reply = () => res.writeHead(200, { "content-type": "application/json" }).end(answer);
          if (keys["req.path"] === "/slow") setTimeout(reply, 3000);
          else reply();
        });
      });
      const v = await startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - when: { req.path: { prefix: /cmd } }
        plugin:
          command: [sh, -c, "cat >/dev/null; exit 3"]
          timeout: 2s
          failure: [{ respond: { status: 502, body: "command failed\\n" } }]
      - plugin:
          http: http://127.0.0.1:${plugin.port}/decide
          timeout: 300ms
          branches:
            deny: [{ respond: { status: 403 } }]
          failure: [{ respond: { status: 503, body: "auth unavailable\\n" } }]
      - respond: { body: "team {{plugin.team}}\\n" }
`);
      expect((await get(v.port, "/")).body).toBe("team blue\n");
      expect((await get(v.port, "/admin")).status).toBe(403);
      const slow = await get(v.port, "/slow");
      expect(slow.status).toBe(503);
      expect(slow.body).toBe("auth unavailable\n");
      const cmd = await get(v.port, "/cmd");
      expect(cmd.status).toBe(502);
      expect(v.logs.some((l) => String(l.msg).includes("plugin") && l.level === "warn")).toBe(true);
      expect(app.requests).toBe(0);
    },
    30000,
  );
});

describe("L4 flow and TLS", () => {
  const secure = makeCert("secure.test");
  const pass = makeCert("pass.test");

  it("passes TLS through by SNI glob, terminates another SNI with its own L7 flow, and relays the rest", async () => {
    const app = await infoBackend("app");
    const passBackend = await tlsNameServer("pass", pass);
    const echo = await echoServer();
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: tcp://127.0.0.1:0
    flow:
      - when: { tls.sni: "*.pass.test" }
        proxy: [127.0.0.1:${passBackend.port}]
      - when: { tls.sni: secure.test }
        terminate:
          tls: [{ cert: ${secure.certPath}, key: ${secure.keyPath} }]
          flow:
            - when: { req.path: { prefix: /api } }
              proxy: [127.0.0.1:${app.port}]
            - respond: { body: "hello {{tls.sni}} from {{conn.ip}}\\n" }
      - when: { protocol: other }
        proxy: [127.0.0.1:${echo.port}]
`);
    // Passthrough: the client sees the backend's certificate and its greeting.
    const through = await sClient(v.port, "www.pass.test");
    expect(through.peerCN).toBe("pass.test");
    expect(through.greeting).toBe("pass");

    // Termination: vane's certificate for secure.test, then the sub-flow per request.
    const https = (path: string) =>
      curl(["-k", "--resolve", `secure.test:${v.port}:127.0.0.1`, `https://secure.test:${v.port}${path}`]);
    expect((await https("/")).stdout.toString()).toBe("hello secure.test from 127.0.0.1\n");
    const api = JSON.parse((await https("/api/x")).stdout.toString());
    expect(api.name).toBe("app");
    expect(api.headers["x-forwarded-proto"]).toBe("https");
    expect(api.headers["x-forwarded-for"]).toBe("127.0.0.1");

    // Raw TCP: echoed back.
    expect((await exchange(v.port, "ping\n")).toString()).toBe("ping\n");
  }, 30000);

  it("terminates every TLS connection with a terminate rule that has no condition", async () => {
    const v = await startYaml(`${CONTROL}
tls: [{ cert: ${secure.certPath}, key: ${secure.keyPath} }]
listeners:
  - listen: tcp://127.0.0.1:0
    flow:
      - terminate:
          flow: [{ respond: { body: "terminated {{tls.sni}}\\n" } }]
`);
    const r = await curl(["-k", "--resolve", `secure.test:${v.port}:127.0.0.1`, `https://secure.test:${v.port}/`]);
    expect(r.stdout.toString()).toBe("terminated secure.test\n");
  }, 30000);

  it("closes a TLS connection no rule takes, and rate-limits connections by address", async () => {
    const echo = await echoServer();
    const v = await startYaml(`${CONTROL}
listeners:
  - listen: tcp://127.0.0.1:0
    flow:
      - when: { tls.sni: known.test }
        abort: true
      - when: { protocol: other }
        flow:
          - rate-limit: { rate: 1/h, burst: 1 }
          - proxy: [127.0.0.1:${echo.port}]
`);
    expect((await exchange(v.port, "one\n")).toString()).toBe("one\n");
    // The bucket is empty now: the next connection is closed without a byte.
    expect((await exchange(v.port, "two\n").catch(() => Buffer.alloc(0))).toString()).toBe("");
    expect((await sClient(v.port, "unknown.test")).peerCN).toBeNull();
  }, 30000);
});

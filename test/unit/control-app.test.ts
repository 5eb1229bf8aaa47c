import { describe, expect, it } from "vitest";
import { createControlApp, type UpgradeOutcome } from "../../src/control/app.ts";
import { formatMetrics } from "../../src/control/metrics.ts";
import type { StatusSnapshot, TargetStatus } from "../../src/control/snapshot.ts";

function target(over: Partial<TargetStatus> & { target: string }): TargetStatus {
  return {
    address: null,
    healthy: true,
    latencyMs: null,
    activeConnections: 0,
    totalConnections: 0,
    lastError: null,
    ...over,
  };
}

/** Two pools: `web` with a fallback and one target down, `db` without a fallback. */
function snapshot(): StatusSnapshot {
  return {
    version: "0.1.0",
    runtime: "deno",
    uptimeSeconds: 42.5,
    config: { generation: 3, loadedAt: "2026-11-23T10:00:00.000Z" },
    listeners: [
      { listen: "0.0.0.0:80", protocol: "tcp", address: "0.0.0.0:80", flow: [{ proxy: "web" }] },
      {
        listen: "127.0.0.1:5432",
        protocol: "tcp",
        address: "127.0.0.1:5432",
        flow: [{ when: { host: "db.test" }, proxy: "db" }],
      },
    ],
    pools: {
      web: {
        strategy: "random",
        targets: [
          target({
            target: "10.0.0.1:80",
            address: "10.0.0.1:80",
            latencyMs: 12.5,
            activeConnections: 3,
            totalConnections: 120,
          }),
          target({
            target: "10.0.0.2:80",
            address: "10.0.0.2:80",
            healthy: false,
            latencyMs: null,
            activeConnections: 0,
            totalConnections: 7,
            lastError: "connect ECONNREFUSED 10.0.0.2:80",
          }),
        ],
        fallback: [
          target({
            target: "backup.internal:80",
            address: "192.168.1.9:80",
            latencyMs: 40,
            totalConnections: 0,
          }),
        ],
      },
      db: {
        strategy: "serial",
        targets: [
          target({
            target: "node:db:5432",
            address: null,
            latencyMs: 3,
            activeConnections: 1,
            totalConnections: 2,
          }),
        ],
        fallback: [],
      },
    },
    bytes: { upstream: 1024, downstream: 4096 },
    detections: { tls: 7, other: 2 },
    requests: [{ route: "api.test/v1", pool: "web", code: 200, count: 5 }],
    workers: [
      { worker: 0, pid: 4000, connections: 90, open: 3 },
      { worker: 1, pid: 4001, connections: 0, open: 0, silent: true },
    ],
  };
}

const app = createControlApp(snapshot);

/** What the runtime's server hands the app beside a request from loopback (see server/vane.ts). */
const LOOPBACK = { remote: { hostname: "127.0.0.1", port: 50000 } };

describe("GET /healthz", () => {
  it("answers ok as plain text", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe("ok");
  });
});

describe("GET /status", () => {
  it("returns the snapshot without bytes, as JSON", async () => {
    const res = await app.request("/status");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toStrictEqual({
      version: "0.1.0",
      runtime: "deno",
      uptimeSeconds: 42.5,
      config: { generation: 3, loadedAt: "2026-11-23T10:00:00.000Z" },
      listeners: [
        { listen: "0.0.0.0:80", protocol: "tcp", address: "0.0.0.0:80", flow: [{ proxy: "web" }] },
        {
          listen: "127.0.0.1:5432",
          protocol: "tcp",
          address: "127.0.0.1:5432",
          flow: [{ when: { host: "db.test" }, proxy: "db" }],
        },
      ],
      pools: {
        web: {
          strategy: "random",
          targets: [
            {
              target: "10.0.0.1:80",
              address: "10.0.0.1:80",
              healthy: true,
              latencyMs: 12.5,
              activeConnections: 3,
              totalConnections: 120,
              lastError: null,
            },
            {
              target: "10.0.0.2:80",
              address: "10.0.0.2:80",
              healthy: false,
              latencyMs: null,
              activeConnections: 0,
              totalConnections: 7,
              lastError: "connect ECONNREFUSED 10.0.0.2:80",
            },
          ],
          fallback: [
            {
              target: "backup.internal:80",
              address: "192.168.1.9:80",
              healthy: true,
              latencyMs: 40,
              activeConnections: 0,
              totalConnections: 0,
              lastError: null,
            },
          ],
        },
        db: {
          strategy: "serial",
          targets: [
            {
              target: "node:db:5432",
              address: null,
              healthy: true,
              latencyMs: 3,
              activeConnections: 1,
              totalConnections: 2,
              lastError: null,
            },
          ],
          fallback: [],
        },
      },
      workers: [
        { worker: 0, pid: 4000, connections: 90, open: 3 },
        { worker: 1, pid: 4001, connections: 0, open: 0, silent: true },
      ],
    });
  });

  it("takes a fresh snapshot per request", async () => {
    let uptime = 1;
    const live = createControlApp(() => ({ ...snapshot(), uptimeSeconds: uptime++ }));
    expect((await (await live.request("/status")).json()).uptimeSeconds).toBe(1);
    expect((await (await live.request("/status")).json()).uptimeSeconds).toBe(2);
  });

  it("drops fields the snapshot's objects carry beyond the documented shape", async () => {
    const s = snapshot();
    Object.assign(s.pools.db.targets[0], { secret: "internal" });
    const res = await createControlApp(() => s).request("/status");
    const body = await res.json();
    expect(Object.keys(body.pools.db.targets[0])).not.toContain("secret");
    expect(Object.keys(body)).not.toContain("bytes");
  });
});

describe("GET /metrics", () => {
  it("serves the Prometheus text format", async () => {
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toBe(formatMetrics(snapshot()));
  });
});

describe("formatMetrics", () => {
  const text = formatMetrics(snapshot());
  const lines = text.split("\n");

  it("ends with a newline and has no blank lines", () => {
    expect(text.endsWith("\n")).toBe(true);
    expect(lines.slice(0, -1).every((l) => l.length > 0)).toBe(true);
  });

  it.each([
    ["vane_target_up", "gauge"],
    ["vane_target_latency_seconds", "gauge"],
    ["vane_connections_total", "counter"],
    ["vane_target_requests_total", "counter"],
    ["vane_target_errors_total", "counter"],
    ["vane_active_connections", "gauge"],
    ["vane_bytes_total", "counter"],
    ["vane_detect_total", "counter"],
    ["vane_requests_total", "counter"],
    ["vane_worker_connections_total", "counter"],
    ["vane_worker_open_connections", "gauge"],
    ["vane_uptime_seconds", "gauge"],
    ["vane_build_info", "gauge"],
  ])("declares %s as a %s, HELP before TYPE", (name, type) => {
    const help = lines.findIndex((l) => l.startsWith(`# HELP ${name} `));
    expect(help).toBeGreaterThanOrEqual(0);
    expect(lines[help + 1]).toBe(`# TYPE ${name} ${type}`);
  });

  it("reports each target as up or down", () => {
    const samples = lines.filter((l) => l.startsWith("vane_target_up{"));
    expect(samples).toEqual([
      'vane_target_up{pool="web",target="10.0.0.1:80",role="primary"} 1',
      'vane_target_up{pool="web",target="10.0.0.2:80",role="primary"} 0',
      'vane_target_up{pool="web",target="backup.internal:80",role="fallback"} 1',
      'vane_target_up{pool="db",target="node:db:5432",role="primary"} 1',
    ]);
  });

  it("reports latency in seconds and omits unmeasured targets", () => {
    const samples = lines.filter((l) => l.startsWith("vane_target_latency_seconds{"));
    expect(samples).toEqual([
      'vane_target_latency_seconds{pool="web",target="10.0.0.1:80",role="primary"} 0.0125',
      'vane_target_latency_seconds{pool="web",target="backup.internal:80",role="fallback"} 0.04',
      'vane_target_latency_seconds{pool="db",target="node:db:5432",role="primary"} 0.003',
    ]);
  });

  it("reports HTTP responses and 5xx per target where they are counted, in /status too", async () => {
    const s = snapshot();
    Object.assign(s.pools.web.targets[0], { requests: 40, errors: 3 });
    const counted = formatMetrics(s).split("\n");
    expect(counted.filter((l) => /^vane_target_(requests|errors)_total\{/.test(l))).toEqual([
      'vane_target_requests_total{pool="web",target="10.0.0.1:80",role="primary"} 40',
      'vane_target_errors_total{pool="web",target="10.0.0.1:80",role="primary"} 3',
    ]);
    const body = await (await createControlApp(() => s).request("/status")).json();
    expect(body.pools.web.targets[0]).toMatchObject({ requests: 40, errors: 3 });
    expect(body.pools.web.targets[1].requests).toBeUndefined();
  });

  it("reports total and active connections per target", () => {
    expect(lines.filter((l) => l.startsWith("vane_connections_total{"))).toEqual([
      'vane_connections_total{pool="web",target="10.0.0.1:80",role="primary"} 120',
      'vane_connections_total{pool="web",target="10.0.0.2:80",role="primary"} 7',
      'vane_connections_total{pool="web",target="backup.internal:80",role="fallback"} 0',
      'vane_connections_total{pool="db",target="node:db:5432",role="primary"} 2',
    ]);
    expect(lines.filter((l) => l.startsWith("vane_active_connections{"))).toEqual([
      'vane_active_connections{pool="web",target="10.0.0.1:80",role="primary"} 3',
      'vane_active_connections{pool="web",target="10.0.0.2:80",role="primary"} 0',
      'vane_active_connections{pool="web",target="backup.internal:80",role="fallback"} 0',
      'vane_active_connections{pool="db",target="node:db:5432",role="primary"} 1',
    ]);
  });

  it("reports bytes, uptime and build info", () => {
    expect(lines).toContain('vane_bytes_total{direction="upstream"} 1024');
    expect(lines).toContain('vane_bytes_total{direction="downstream"} 4096');
    expect(lines).toContain('vane_detect_total{protocol="tls"} 7');
    expect(lines).toContain('vane_detect_total{protocol="other"} 2');
    expect(lines).toContain('vane_requests_total{route="api.test/v1",pool="web",code="200"} 5');
    expect(lines).toContain("vane_uptime_seconds 42.5");
    expect(lines).toContain('vane_build_info{version="0.1.0",runtime="deno"} 1');
  });

  it("reports connections per worker", () => {
    expect(lines).toContain('vane_worker_connections_total{worker="0"} 90');
    expect(lines).toContain('vane_worker_connections_total{worker="1"} 0');
    expect(lines).toContain('vane_worker_open_connections{worker="0"} 3');
  });

  it("escapes backslash, double quote and newline in label values", () => {
    const s = snapshot();
    s.pools = {
      'a"b\\c\nd': { strategy: "random", targets: [target({ target: "x:1" })], fallback: [] },
    };
    expect(formatMetrics(s).split("\n")).toContain(
      'vane_target_up{pool="a\\"b\\\\c\\nd",target="x:1",role="primary"} 1',
    );
  });

  it("prints large integers without exponent and non-finite values as Prometheus spells them", () => {
    const s = snapshot();
    s.bytes = { upstream: 1e21, downstream: Infinity };
    s.uptimeSeconds = NaN;
    const out = formatMetrics(s).split("\n");
    expect(out).toContain('vane_bytes_total{direction="upstream"} 1000000000000000000000');
    expect(out).toContain('vane_bytes_total{direction="downstream"} +Inf');
    expect(out).toContain("vane_uptime_seconds NaN");
  });

  it("still declares the target families when there are no pools", () => {
    const s = snapshot();
    s.pools = {};
    const out = formatMetrics(s);
    expect(out).toContain("# TYPE vane_target_up gauge\n# HELP vane_target_latency_seconds ");
    expect(out).not.toMatch(/^vane_target_up\{/m);
  });
});

describe("routing", () => {
  it("answers unknown paths with a plain-text 404", async () => {
    const res = await app.request("/nope");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await res.text()).toBe("not found\n");
  });

  it.each(["/healthz", "/status", "/metrics"])("answers POST %s with 405", async (path) => {
    const res = await app.request(path, { method: "POST" }, LOOPBACK);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    expect(await res.text()).toBe("method not allowed\n");
  });

  it("answers DELETE on a known path with 405 and on an unknown one with 404", async () => {
    expect((await app.request("/status", { method: "DELETE" }, LOOPBACK)).status).toBe(405);
    expect((await app.request("/statuz", { method: "DELETE" }, LOOPBACK)).status).toBe(404);
  });

  it("answers HEAD like GET, without a body", async () => {
    const res = await app.request("/status", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });
});

describe("POST /reload", () => {
  const outcomes: Array<"ok" | "bad"> = [];
  const reloading = createControlApp({
    snapshot,
    token: () => "s3cret",
    reload: async () => {
      const next = outcomes.shift();
      return next === "ok"
        ? { ok: true, generation: 4, loadedAt: "2026-11-23T11:00:00.000Z" }
        : { ok: false, errors: ['vane.yaml:3:5: pools.web.strategy: expected random, serial or fastest; got "x"'] };
    },
  });
  const post = (auth?: string) =>
    reloading.request("/reload", { method: "POST", headers: auth ? { Authorization: auth } : {} });

  it("refuses a caller without the admin token, and one with a wrong token", async () => {
    for (const auth of [undefined, "Bearer nope", "Bearer s3cret2", "Basic s3cret", "s3cret"]) {
      const res = await post(auth);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="vane"');
      expect((await res.json()).ok).toBe(false);
    }
    expect(outcomes).toEqual([]);
  });

  it("reloads with the token and returns the new generation", async () => {
    outcomes.push("ok");
    const res = await post("Bearer s3cret");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, generation: 4, loadedAt: "2026-11-23T11:00:00.000Z" });
  });

  it("returns the config's errors with 422 when it is refused", async () => {
    outcomes.push("bad");
    const res = await post("Bearer s3cret");
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.ok).toBe(false);
    expect(body.errors[0]).toMatch(/^vane\.yaml:3:5: pools\.web\.strategy: /);
  });

  it("needs no token when none is configured, and says when there is nothing to reload", async () => {
    const open = createControlApp({ snapshot, token: () => null, reload: null });
    const res = await open.request("/reload", { method: "POST" }, LOOPBACK);
    expect(res.status).toBe(409);
    expect((await res.json()).errors[0]).toMatch(/without a config file/);
    expect((await open.request("/reload")).status).toBe(405);
  });
});

describe("POST /upgrade", () => {
  const outcomes: UpgradeOutcome[] = [];
  const upgrading = createControlApp({ snapshot, token: () => "s3cret", upgrade: async () => outcomes.shift()! });
  const post = (auth?: string) =>
    upgrading.request("/upgrade", { method: "POST", headers: auth ? { Authorization: auth } : {} });

  it("needs the admin token like every admin call", async () => {
    outcomes.push({ ok: true, pid: 2, from: 1 });
    expect((await post()).status).toBe(401);
    expect((await post("Bearer nope")).status).toBe(401);
    expect(outcomes).toHaveLength(1);
    outcomes.length = 0;
  });

  it("answers 200 with the new pid, 409 when refused and 500 when the new process failed", async () => {
    outcomes.push(
      { ok: true, pid: 4242, from: 4241 },
      { ok: false, reason: "refused", errors: ["vane is stopping"] },
      { ok: false, reason: "failed", errors: ["the new vane exited (code 1) before it served"] },
    );
    const ok = await post("Bearer s3cret");
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true, pid: 4242, from: 4241 });
    const refused = await post("Bearer s3cret");
    expect(refused.status).toBe(409);
    expect((await refused.json()).errors).toEqual(["vane is stopping"]);
    const failed = await post("Bearer s3cret");
    expect(failed.status).toBe(500);
    expect((await failed.json()).errors[0]).toMatch(/exited \(code 1\)/);
  });

  it("says when this vane cannot upgrade, and that only POST upgrades", async () => {
    const embedded = createControlApp({ snapshot, token: () => null });
    const res = await embedded.request("/upgrade", { method: "POST" }, LOOPBACK);
    expect(res.status).toBe(409);
    expect((await res.json()).errors).toEqual(["this vane was not started by the vane executable"]);
    const get = await embedded.request("/upgrade");
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });
});

describe("the Host check (DNS rebinding)", () => {
  const bound = (hostname: string) => createControlApp({ snapshot, address: () => ({ hostname, port: 9901 }) });
  const get = (a: ReturnType<typeof bound>, host: string | null, path = "/status") =>
    a.request(path, { headers: host === null ? {} : { Host: host } }, LOOPBACK);

  it("serves a Host naming the bound loopback address or localhost, with its port", async () => {
    const a = bound("127.0.0.1");
    for (const host of ["127.0.0.1:9901", "localhost:9901", "LocalHost:9901"]) {
      expect((await get(a, host)).status).toBe(200);
    }
  });

  it("refuses a DNS name, another port and a missing Host with 421 and one line of text", async () => {
    const a = bound("127.0.0.1");
    for (const host of ["evil.example:9901", "127.0.0.1:9902", "127.0.0.1", "10.0.0.1:9901", null]) {
      const res = await get(a, host);
      expect(res.status).toBe(421);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/^[^\n]+\n$/);
      expect(text).toContain("http://127.0.0.1:9901/");
    }
    expect((await get(a, "evil.example:9901", "/metrics")).status).toBe(421);
    expect(await (await get(a, "evil.example:9901")).text()).toContain('Host "evil.example:9901" does not name');
  });

  it("checks the Host before the token: a rebound page cannot even try one", async () => {
    const a = createControlApp({ snapshot, token: () => "t", address: () => ({ hostname: "127.0.0.1", port: 9901 }) });
    const res = await a.request("/reload", { method: "POST", headers: { Host: "evil.example:9901" } }, LOOPBACK);
    expect(res.status).toBe(421);
  });

  it("answers /healthz whatever the Host, for load balancers that ask by name", async () => {
    expect((await get(bound("127.0.0.1"), "vane.internal:9901", "/healthz")).status).toBe(200);
  });

  it("takes any IP literal and localhost, but no DNS name, when bound to every address", async () => {
    for (const wildcard of ["0.0.0.0", "::"]) {
      const a = bound(wildcard);
      for (const host of ["10.1.2.3:9901", "[::1]:9901", "[fd00::5]:9901", "localhost:9901"]) {
        expect((await get(a, host)).status).toBe(200);
      }
      expect((await get(a, "vane.example.com:9901")).status).toBe(421);
      expect((await get(a, "10.1.2.3:80")).status).toBe(421);
    }
  });

  it("takes only the bound IP when bound to one other address", async () => {
    const a = bound("10.0.0.5");
    expect((await get(a, "10.0.0.5:9901")).status).toBe(200);
    for (const host of ["localhost:9901", "127.0.0.1:9901", "10.0.0.6:9901"]) {
      expect((await get(a, host)).status).toBe(421);
    }
    const v6 = bound("::1");
    for (const host of ["[::1]:9901", "[0:0::1]:9901", "localhost:9901"]) {
      expect((await get(v6, host)).status).toBe(200);
    }
  });
});

describe("admin calls without a token", () => {
  const open = createControlApp({ snapshot, token: () => null, reload: null });
  const post = (path: string, headers: Record<string, string>, peer: unknown) =>
    open.request(path, { method: "POST", headers }, peer as typeof LOOPBACK);
  const REMOTE = { remote: { hostname: "10.0.0.7", port: 40000 } };

  it("are taken from loopback without an Origin, or with the endpoint's own", async () => {
    expect((await post("/reload", {}, LOOPBACK)).status).toBe(409);
    expect((await post("/reload", {}, { remote: { hostname: "::ffff:127.0.0.1", port: 1 } })).status).toBe(409);
    expect((await post("/reload", {}, { remote: { hostname: "::1", port: 1 } })).status).toBe(409);
    const own = { Host: "127.0.0.1:9901", Origin: "http://127.0.0.1:9901" };
    expect((await post("/reload", own, LOOPBACK)).status).toBe(409);
  });

  it("are refused with 403 and a hint from another address, or when the address is unknown", async () => {
    for (const peer of [REMOTE, undefined, { remote: null }]) {
      const res = await post("/reload", {}, peer);
      expect(res.status).toBe(403);
      const body = await res.json();
      expect(body.ok).toBe(false);
      expect(body.errors[0]).toContain("only from loopback");
      expect(body.errors[0]).toContain("VANE_ADMIN_TOKEN");
    }
    // Every method but GET and HEAD is an admin call, whatever the path.
    expect((await open.request("/status", { method: "DELETE" }, REMOTE)).status).toBe(403);
    expect((await open.request("/status", {}, REMOTE)).status).toBe(200);
  });

  it("are refused from loopback when a page of another site sends them", async () => {
    const origins = [
      "http://evil.example",
      "null",
      "http://127.0.0.1:9902",
      "https://127.0.0.1:9901",
      "http://localhost:9901",
    ];
    for (const origin of origins) {
      const res = await post("/reload", { Host: "127.0.0.1:9901", Origin: origin }, LOOPBACK);
      expect(res.status).toBe(403);
      const error = (await res.json()).errors[0];
      expect(error).toContain("another site");
      expect(error).toContain("--admin-token-file");
    }
  });

  it("need only the token, from any address, once one is set", async () => {
    const locked = createControlApp({ snapshot, token: () => "s3cret", reload: null });
    const res = await locked.request(
      "/reload",
      { method: "POST", headers: { Authorization: "Bearer s3cret" } },
      REMOTE,
    );
    expect(res.status).toBe(409);
    const without = await locked.request("/reload", { method: "POST" }, LOOPBACK);
    expect(without.status).toBe(401);
  });
});

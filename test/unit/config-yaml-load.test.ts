/** The YAML config loader: every key of the grammar, read to exact model values. */
import { describe, expect, it } from "vitest";
import {
  type Condition,
  type Config,
  DEFAULT_HEALTH,
  DEFAULT_HTTP,
  DEFAULT_PASSIVE,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUTS,
  type Matcher,
  type PoolConfig,
  type Rule,
  type TargetSpec,
} from "../../src/config/model.ts";
import { formatIssue, loadConfigText, type LoadOptions } from "../../src/config/yaml-load.ts";
import { RICH, RICH_FUNCTIONS } from "../fixtures/config/examples.ts";

/** Loads text that must be valid. */
function load(text: string, opts?: LoadOptions): Config {
  const r = loadConfigText(text, opts);
  if (!r.ok) throw new Error(r.issues.map((i) => formatIssue("test.yaml", i)).join("\n"));
  return r.config;
}

interface RuleOptions extends LoadOptions {
  listen?: string;
  /** More top-level YAML (pools:, tls:, ...). */
  extra?: string;
}

/** The config of one listener whose flow is the given rules, each a flow-style YAML map. */
function withRules(rules: string[], o: RuleOptions = {}): Config {
  const flow = rules.map((r) => `      - ${r}\n`).join("");
  return load(`listeners:\n  - listen: ${o.listen ?? "tcp://:8000"}\n    flow:\n${flow}${o.extra ?? ""}`, o);
}

const rule = (text: string, o?: RuleOptions): Rule => withRules([text], o).listeners[0].flow[0];
const when = (cond: string, o?: RuleOptions): Condition | null => rule(`{ when: ${cond}, abort: true }`, o).when;
/** The matcher of `key` (default req.path) written as `text`. */
function matcher(text: string, key = "req.path"): Matcher {
  const c = when(`{ ${key}: ${text} }`);
  if (c?.kind !== "key") throw new Error(`expected a key condition, got ${JSON.stringify(c)}`);
  return c.matcher;
}

const ip = (host: string, port: number, weight = 1, raw = `${host}:${port}`): TargetSpec => ({
  kind: "ip",
  host,
  port,
  weight,
  raw,
});

const pool = (name: string, targets: TargetSpec[], more: Partial<PoolConfig> = {}): PoolConfig => ({
  name,
  strategy: "serial",
  targets,
  fallback: [],
  health: { ...DEFAULT_HEALTH },
  sendProxy: null,
  protocol: "http1",
  tls: null,
  passive: { ...DEFAULT_PASSIVE },
  retryOn: ["conn-failure"],
  retry: { ...DEFAULT_RETRY },
  outlier: null,
  ...more,
});

const MINIMAL = `listeners:
  - listen: :8080
    flow:
      - proxy: web
pools:
  web:
    targets: [10.0.0.1:80]
`;

describe("loadConfigText: defaults", () => {
  it("fills in every default of a minimal file", () => {
    expect(load(MINIMAL)).toEqual(
      {
        listeners: [{
          address: { protocol: "tcp", host: "0.0.0.0", port: 8080, raw: ":8080" },
          flow: [{ when: null, action: { kind: "proxy", pool: "web" } }],
          acceptProxy: [],
          tls: [],
        }],
        pools: { web: pool("web", [ip("10.0.0.1", 80)]) },
        nodes: {},
        timeouts: DEFAULT_TIMEOUTS,
        http: DEFAULT_HTTP,
        control: { listen: { host: "127.0.0.1", port: 9901 }, token: null },
        log: { format: "text", level: "info" },
        tls: [],
        resolver: null,
        workers: null,
        maxConns: null,
      } satisfies Config,
    );
  });

  it("gives a pool the documented defaults", () => {
    const p = load(MINIMAL).pools.web;
    expect(p.strategy).toBe("serial");
    expect(p.fallback).toEqual([]);
    expect(p.health).toEqual({ check: "tcp", intervalMs: 2_000, timeoutMs: 1_000, rise: 2, fall: 3 });
    expect(p.passive).toEqual({ failures: 1, on: ["connect", "timeout", "reset"] });
    expect(p.retryOn).toEqual(["conn-failure"]);
    expect(p.sendProxy).toBeNull();
  });

  it("reads the full example with every feature", () => {
    const c = load(RICH, { functions: RICH_FUNCTIONS });
    expect(c.listeners.map((l) => l.address.protocol)).toEqual(["tcp", "https", "http", "udp"]);
    expect(Object.keys(c.pools)).toEqual(["web", "api", "dns", "inline-1", "inline-2", "inline-3", "inline-4"]);
  });
});

describe("loadConfigText: listeners", () => {
  it.each([
    ["tcp://0.0.0.0:8443", { protocol: "tcp", host: "0.0.0.0", port: 8443 }],
    [":8080", { protocol: "tcp", host: "0.0.0.0", port: 8080 }],
    ["127.0.0.1:0", { protocol: "tcp", host: "127.0.0.1", port: 0 }],
    ["http://[::1]:80", { protocol: "http", host: "::1", port: 80 }],
    ["udp://:53", { protocol: "udp", host: "0.0.0.0", port: 53 }],
    ["UDP://[2001:DB8::1]:53", { protocol: "udp", host: "2001:db8::1", port: 53 }],
    ["https://:443", { protocol: "https", host: "0.0.0.0", port: 443 }],
  ])("reads listen: %s", (text, address) => {
    const c = withRules(["{ abort: true }"], { listen: `"${text}"`, extra: "tls: [{ cert: c.pem, key: k.pem }]\n" });
    expect(c.listeners[0].address).toEqual({ ...address, raw: text });
  });

  it("keeps accept-proxy CIDRs as written, from a list or one comma-separated string", () => {
    const text = `listeners:
  - listen: :1
    accept-proxy: [10.0.0.0/8, "::1", 10.1.2.3/16]
    flow: [{ abort: true }]
  - listen: :2
    accept-proxy: "192.168.0.0/16, fd00::/8"
    flow: [{ abort: true }]
`;
    const c = load(text);
    expect(c.listeners[0].acceptProxy).toEqual(["10.0.0.0/8", "::1", "10.1.2.3/16"]);
    expect(c.listeners[1].acceptProxy).toEqual(["192.168.0.0/16", "fd00::/8"]);
  });

  it("reads a listener's allow and deny ranges, and says where a bad one is", () => {
    const c = load(`listeners:
  - listen: :1
    allow: [10.0.0.0/8, "::1"]
    deny: "10.9.0.0/16"
    max-conns-per-client: 10
    max-conns: 500
    flow: [{ abort: true }]
  - listen: :2
    flow: [{ abort: true }]
`);
    expect(c.listeners[0]).toMatchObject({
      allow: ["10.0.0.0/8", "::1"],
      deny: ["10.9.0.0/16"],
      maxConnsPerClient: 10,
      maxConns: 500,
    });
    expect(c.listeners[1].allow).toBeUndefined();
    const bad = loadConfigText(`listeners:
  - listen: :1
    deny: [10.0.0.0/8, 10.0.0.0/33]
    flow: [{ abort: true }]
`);
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(formatIssue("vane.yaml", bad.issues[0])).toBe(
        'vane.yaml:3:24: listeners[0].deny[1]: expected an IP address or CIDR like 10.0.0.0/8 or fd00::/8; got "10.0.0.0/33"',
      );
    }
  });

  it("reads a listener's own certificates and the global ones", () => {
    const text = `listeners:
  - listen: https://:443
    tls: [{ cert: a.pem, key: a.key }, { cert: b.pem, key: b.key }]
    flow: [{ abort: true }]
  - listen: https://:8443
    flow: [{ abort: true }]
tls:
  - cert: /etc/vane/default.pem
    key: /etc/vane/default.key
`;
    const c = load(text);
    expect(c.listeners[0].tls).toEqual([
      { certPath: "a.pem", keyPath: "a.key" },
      { certPath: "b.pem", keyPath: "b.key" },
    ]);
    // Empty: the listener uses Config.tls.
    expect(c.listeners[1].tls).toEqual([]);
    expect(c.tls).toEqual([{ certPath: "/etc/vane/default.pem", keyPath: "/etc/vane/default.key" }]);
  });

  it("allows the same port for TCP and UDP, on different hosts, and port 0 twice", () => {
    const text = `listeners:
  - { listen: "tcp://0.0.0.0:53", flow: [{ abort: true }] }
  - { listen: "udp://0.0.0.0:53", flow: [{ abort: true }] }
  - { listen: "http://127.0.0.1:53", flow: [{ abort: true }] }
  - { listen: ":0", flow: [{ abort: true }] }
  - { listen: "http://:0", flow: [{ abort: true }] }
`;
    expect(load(text).listeners).toHaveLength(5);
  });
});

describe("loadConfigText: client-auth", () => {
  const issues = (listener: string) => {
    const r = loadConfigText(`tls: [{ cert: /c.pem, key: /k.pem }]\nlisteners:\n  - ${listener}\n`);
    return r.ok ? [] : r.issues.map((i) => formatIssue("vane.yaml", i));
  };

  it("reads the CA file and the mode (require unless it says request)", () => {
    const c = load(
      "tls: [{ cert: /c.pem, key: /k.pem }]\nlisteners:\n  - { listen: https://:443, client-auth: { ca: /clients.pem }, flow: [{ abort: true }] }\n  - { listen: https://:8443, client-auth: { ca: /clients.pem, mode: request }, flow: [{ abort: true }] }\n",
    );
    expect(c.listeners.map((l) => l.clientAuth)).toEqual([
      { ca: "/clients.pem", require: true },
      { ca: "/clients.pem", require: false },
    ]);
  });

  it("refuses it on a listener that is not https://, without a ca, or with another mode", () => {
    expect(issues("{ listen: http://:80, client-auth: { ca: /x.pem }, flow: [{ abort: true }] }")[0]).toMatch(
      /listeners\[0\]\.client-auth: expected client-auth only on an https:\/\/ listener/,
    );
    expect(issues("{ listen: https://:443, client-auth: { mode: require }, flow: [{ abort: true }] }")[0]).toMatch(
      /listeners\[0\]\.client-auth: .*ca/,
    );
    expect(issues("{ listen: https://:443, client-auth: { ca: /x.pem, mode: maybe }, flow: [{ abort: true }] }")[0])
      .toMatch(/listeners\[0\]\.client-auth\.mode: expected require or request; got "maybe"/);
  });
});

describe("loadConfigText: tls-min-version and tls-ciphers", () => {
  it("reads them at the top level and per https:// listener, a bare 1.3 as the version it spells", () => {
    const c = load(
      'tls: [{ cert: /c.pem, key: /k.pem }]\ntls-min-version: 1.3\ntls-ciphers: "ECDHE-RSA-AES128-GCM-SHA256 : ECDHE-RSA-AES256-GCM-SHA384"\nlisteners:\n  - { listen: https://:443, tls-min-version: "1.2", flow: [{ abort: true }] }\n  - { listen: https://:8443, flow: [{ abort: true }] }\n',
    );
    expect(c.tlsServer).toEqual({
      minVersion: "1.3",
      ciphers: "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384",
    });
    expect(c.listeners.map((l) => l.tlsServer)).toEqual([{ minVersion: "1.2" }, undefined]);
  });

  it("leaves them out of the model when the file does not name them (the defaults then apply)", () => {
    const c = load(
      "tls: [{ cert: /c.pem, key: /k.pem }]\nlisteners: [{ listen: https://:443, flow: [{ abort: true }] }]\n",
    );
    expect(c.tlsServer).toBeUndefined();
    expect(c.listeners[0].tlsServer).toBeUndefined();
  });
});

describe("loadConfigText: redirect: https", () => {
  const issues = (listeners: string) => {
    const r = loadConfigText(`tls: [{ cert: /c.pem, key: /k.pem }]\nlisteners:\n${listeners}`);
    return r.ok ? [] : r.issues.map((i) => formatIssue("vane.yaml", i));
  };

  it("makes the listener's flow a 308 to the first https:// listener's port", () => {
    const c = load(
      "tls: [{ cert: /c.pem, key: /k.pem }]\nlisteners:\n  - { listen: http://:80, redirect: https }\n  - { listen: https://:8443, flow: [{ abort: true }] }\n",
    );
    expect(c.listeners[0].flow.map((r) => r.action)).toEqual([
      { kind: "redirect", status: 308, location: "https://{{req.host}}:8443{{req.path}}" },
      { kind: "redirect", status: 308, location: "https://{{req.host}}:8443{{req.path}}?{{req.query}}" },
    ]);
  });

  it("refuses redirect beside a flow, on a listener that is not http://, and any other value", () => {
    expect(issues("  - { listen: http://:80, redirect: https, flow: [{ abort: true }] }\n")[0]).toMatch(
      /listeners\[0\]\.redirect: expected either flow or redirect; got both/,
    );
    expect(issues("  - { listen: https://:443, redirect: https }\n")[0]).toMatch(
      /listeners\[0\]\.redirect: expected redirect only on an http:\/\/ listener/,
    );
    expect(issues("  - { listen: http://:80, redirect: http }\n")[0]).toMatch(
      /listeners\[0\]\.redirect: expected https; got "http"/,
    );
  });
});

describe("loadConfigText: pools", () => {
  it("reads every pool key", () => {
    const text = `listeners: [{ listen: ":1", flow: [{ proxy: web }] }]
pools:
  web:
    targets: [10.0.0.1:80, "10.0.0.2:80@3", { target: web.internal:80, weight: 2 }, "node:app:8080@0"]
    strategy: fastest
    fallback: [backup.example.net:80]
    health: { check: http, path: /healthz, expect: 200-299, interval: 5s, timeout: 500ms, rise: 1, fall: 100 }
    passive: { failures: 5, on: [reset, timeout] }
    retry-on: [empty-response, conn-failure]
    proxy-protocol: v2
nodes:
  app: [10.0.0.9]
`;
    expect(load(text).pools.web).toEqual(
      {
        name: "web",
        strategy: "fastest",
        targets: [
          ip("10.0.0.1", 80),
          ip("10.0.0.2", 80, 3),
          { kind: "dns", host: "web.internal", port: 80, weight: 2, raw: "web.internal:80" },
          { kind: "node", node: "app", port: 8080, weight: 0, raw: "node:app:8080" },
        ],
        fallback: [{ kind: "dns", host: "backup.example.net", port: 80, weight: 1, raw: "backup.example.net:80" }],
        health: {
          check: "http",
          path: "/healthz",
          expect: [200, 299],
          intervalMs: 5_000,
          timeoutMs: 500,
          rise: 1,
          fall: 100,
        },
        passive: { failures: 5, on: ["timeout", "reset"] },
        retryOn: ["conn-failure", "empty-response"],
        sendProxy: "v2",
        protocol: "http1",
        tls: null,
        retry: { ...DEFAULT_RETRY },
        outlier: null,
      } satisfies PoolConfig,
    );
  });

  const poolWith = (body: string): PoolConfig =>
    load(`listeners: [{ listen: ":1", flow: [{ proxy: p }] }]\npools:\n  p: ${body}\n`).pools.p;

  it("reads targets from one comma-separated string like the CLI", () => {
    expect(poolWith(`{ targets: "10.0.0.1:80, [::1]:81@2" }`).targets).toEqual([
      ip("10.0.0.1", 80),
      ip("::1", 81, 2, "[::1]:81"),
    ]);
  });

  it.each([
    ["random", "random"],
    ["serial", "serial"],
    ["fastest", "fastest"],
  ])("reads strategy: %s", (text, strategy) => {
    expect(poolWith(`{ targets: [a:1], strategy: ${text} }`).strategy).toBe(strategy);
  });

  it("reads health checks: http defaults expect to 200-399, a single status is a range of one", () => {
    expect(poolWith(`{ targets: [a:1], health: { check: http, path: /up } }`).health).toEqual({
      ...DEFAULT_HEALTH,
      check: "http",
      path: "/up",
      expect: [200, 399],
    });
    expect(poolWith(`{ targets: [a:1], health: { check: http, path: /, expect: 204 } }`).health.expect).toEqual([
      204,
      204,
    ]);
    expect(poolWith(`{ targets: [a:1], health: { check: http, path: /, expect: "301" } }`).health.expect).toEqual([
      301,
      301,
    ]);
    expect(poolWith(`{ targets: [a:1], health: { check: none } }`).health).toEqual({
      ...DEFAULT_HEALTH,
      check: "none",
    });
    expect(poolWith(`{ targets: [a:1], health: { interval: 1h, rise: 5 } }`).health).toEqual({
      ...DEFAULT_HEALTH,
      intervalMs: 3_600_000,
      rise: 5,
    });
  });

  it("reads passive: off, {failures: 0} and a count", () => {
    const all = ["connect", "timeout", "reset"];
    expect(poolWith(`{ targets: [a:1], passive: off }`).passive).toEqual({ failures: 0, on: all });
    expect(poolWith(`{ targets: [a:1], passive: { failures: 0 } }`).passive).toEqual({ failures: 0, on: all });
    expect(poolWith(`{ targets: [a:1], passive: { failures: 100 } }`).passive).toEqual({ failures: 100, on: all });
    expect(poolWith(`{ targets: [a:1], passive: {} }`).passive).toEqual(DEFAULT_PASSIVE);
  });

  it("reads passive.on as a list, one kind alone or none, each kind once in a fixed order", () => {
    const on = (text: string) => poolWith(`{ targets: [a:1], passive: { on: ${text} } }`).passive;
    expect(on("[connect]")).toEqual({ failures: 1, on: ["connect"] });
    expect(on("timeout")).toEqual({ failures: 1, on: ["timeout"] });
    expect(on("[reset, connect, reset]")).toEqual({ failures: 1, on: ["connect", "reset"] });
    expect(on("none")).toEqual({ failures: 1, on: [] });
    expect(on("[]")).toEqual({ failures: 1, on: [] });
  });

  it("reads retry-on as a list, one keyword alone or none; conn-failure alone by default", () => {
    const retry = (text: string) => poolWith(`{ targets: [a:1], retry-on: ${text} }`).retryOn;
    expect(poolWith(`{ targets: [a:1] }`).retryOn).toEqual(["conn-failure"]);
    expect(retry("none")).toEqual([]);
    expect(retry("[]")).toEqual([]);
    expect(retry("empty-response")).toEqual(["empty-response"]);
    expect(retry("[response-timeout, empty-response, conn-failure]")).toEqual([
      "conn-failure",
      "empty-response",
      "response-timeout",
    ]);
  });

  it.each([["v1", "v1"], ["v2", "v2"], ["off", null]])("reads proxy-protocol: %s", (text, sendProxy) => {
    expect(poolWith(`{ targets: [a:1], proxy-protocol: ${text} }`).sendProxy).toBe(sendProxy);
  });

  it("reads protocol: http1 (the default), h2c, or h2, which implies tls", () => {
    expect(poolWith("{ targets: [a:1] }").protocol).toBe("http1");
    expect(poolWith("{ targets: [a:1] }").tls).toBe(null);
    expect(poolWith("{ targets: [a:1], protocol: h2c }").protocol).toBe("h2c");
    const h2 = poolWith("{ targets: [a:1], protocol: h2 }");
    expect([h2.protocol, h2.tls]).toEqual(["h2", { serverName: null, ca: null, verify: true, cert: null, key: null }]);
  });

  it("reads tls: on, off, or its keys", () => {
    expect(poolWith("{ targets: [a:1], tls: on }").tls).toEqual({
      serverName: null,
      ca: null,
      verify: true,
      cert: null,
      key: null,
    });
    expect(poolWith("{ targets: [a:1], tls: off }").tls).toBe(null);
    expect(
      poolWith(
        "{ targets: [a:1], tls: { server-name: app.internal, ca: /ca.pem, verify: false, cert: /c.pem, key: /k.pem } }",
      )
        .tls,
    ).toEqual({ serverName: "app.internal", ca: "/ca.pem", verify: false, cert: "/c.pem", key: "/k.pem" });
  });

  it("refuses a client certificate without its key, a verify that is not a boolean, and HTTP checks over TLS", () => {
    const issues = (pool: string) => {
      const r = loadConfigText(
        `listeners:\n  - listen: http://:8000\n    flow: [{ proxy: p }]\npools:\n  p: ${pool}\n`,
      );
      return r.ok ? [] : r.issues.map((i) => formatIssue("vane.yaml", i));
    };
    expect(issues("{ targets: [a:1], tls: { cert: /c.pem } }")).toEqual([
      "vane.yaml:5:29: pools.p.tls: expected cert and key together (a client certificate needs its key)",
    ]);
    expect(issues("{ targets: [a:1], tls: { verify: maybe } }")[0]).toMatch(
      /^vane\.yaml:5:\d+: pools\.p\.tls\.verify: expected true or false; got "maybe"/,
    );
    expect(issues("{ targets: [a:1], tls: on, health: { check: http, path: / } }")[0]).toMatch(
      /pools\.p\.health: expected check: tcp or none on a pool with tls/,
    );
  });

  it("keeps a pool named __proto__ as a plain name", () => {
    const c = load(
      `listeners: [{ listen: ":1", flow: [{ proxy: __proto__ }] }]\npools:\n  __proto__: { targets: [a:1] }\n`,
    );
    expect(Object.keys(c.pools)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(c.pools)).toBe(Object.prototype);
    expect(c.pools["__proto__"].name).toBe("__proto__");
  });
});

describe("loadConfigText: nodes, control, timeouts, http, log, tls, resolver", () => {
  it("reads nodes from lists and strings, normalising IPv6", () => {
    const c = load(
      `${MINIMAL}nodes:\n  a: [10.0.0.1, "2001:DB8::1", "[::1]"]\n  b: 10.0.0.2\n  c: "10.0.0.3, 10.0.0.4"\n`,
    );
    expect(c.nodes).toEqual({ a: ["10.0.0.1", "2001:db8::1", "::1"], b: ["10.0.0.2"], c: ["10.0.0.3", "10.0.0.4"] });
  });

  it("reads control: listen, off and token", () => {
    expect(load(`${MINIMAL}control: { listen: "0.0.0.0:9000", token: s3cret }\n`).control).toEqual({
      listen: { host: "0.0.0.0", port: 9000 },
      token: "s3cret",
    });
    expect(load(`${MINIMAL}control: { listen: "[::1]:9901" }\n`).control).toEqual({
      listen: { host: "::1", port: 9901 },
      token: null,
    });
    expect(load(`${MINIMAL}control: { listen: ":9902" }\n`).control.listen).toEqual({ host: "0.0.0.0", port: 9902 });
    expect(load(`${MINIMAL}control: { listen: off }\n`).control).toEqual({ listen: null, token: null });
    // A token that YAML reads as a number is still the text as written.
    expect(load(`${MINIMAL}control: { token: 0x1F }\n`).control.token).toBe("0x1F");
  });

  it("reads every timeout; grace may be 0s", () => {
    const c = load(
      `${MINIMAL}timeouts: { connect: 3s, idle: 1h, grace: 0s, udp-idle: 45s, upstream: 1.5m, ` +
        `request-head: 5s, keep-alive: 75s, body: 500ms }\n`,
    );
    expect(c.timeouts).toEqual({
      connectMs: 3_000,
      idleMs: 3_600_000,
      graceMs: 0,
      udpIdleMs: 45_000,
      upstreamMs: 90_000,
      requestHeadMs: 5_000,
      keepAliveMs: 75_000,
      bodyMs: 500,
    });
    expect(load(`${MINIMAL}timeouts: { idle: 250ms }\n`).timeouts).toEqual({ ...DEFAULT_TIMEOUTS, idleMs: 250 });
  });

  it("has the documented HTTP deadlines by default: head 10s, keep-alive 60s, body 60s", () => {
    expect(load(MINIMAL).timeouts).toMatchObject({ requestHeadMs: 10_000, keepAliveMs: 60_000, bodyMs: 60_000 });
  });

  it("reads the http section, each key alone keeping the others' defaults", () => {
    expect(load(MINIMAL).http).toEqual({ maxHeaderLine: 8192, maxPartialHeads: 32, encodedSlash: "reject" });
    expect(load(`${MINIMAL}http: { max-header-line: 16384, max-partial-heads: 0, encoded-slash: keep }\n`).http)
      .toEqual({ maxHeaderLine: 16384, maxPartialHeads: 0, encodedSlash: "keep" });
    expect(load(`${MINIMAL}http: { max-partial-heads: 5 }\n`).http).toEqual({ ...DEFAULT_HTTP, maxPartialHeads: 5 });
    expect(load(`${MINIMAL}http: { max-header-line: 1024 }\n`).http.maxHeaderLine).toBe(1024);
    expect(load(`${MINIMAL}http: { max-header-line: 65536 }\n`).http.maxHeaderLine).toBe(65536);
  });

  it.each([
    ["{ format: json }", { format: "json", level: "info" }],
    ["{ level: debug }", { format: "text", level: "debug" }],
    ["{ format: text, level: warn }", { format: "text", level: "warn" }],
    ["{ level: error }", { format: "text", level: "error" }],
  ])("reads log: %s", (text, log) => {
    expect(load(`${MINIMAL}log: ${text}\n`).log).toEqual(log);
  });

  it("reads the resolver as IP:PORT, or null", () => {
    expect(load(`${MINIMAL}resolver: 127.0.0.53:53\n`).resolver).toEqual({ host: "127.0.0.53", port: 53 });
    expect(load(`${MINIMAL}resolver: "[2001:4860:4860::8888]:53"\n`).resolver).toEqual({
      host: "2001:4860:4860::8888",
      port: 53,
    });
    expect(load(`${MINIMAL}resolver: null\n`).resolver).toBeNull();
    expect(load(`${MINIMAL}resolver:\n`).resolver).toBeNull();
  });

  it("reads an optional section left empty as its defaults", () => {
    const c = load(`${MINIMAL}nodes:\ncontrol:\ntimeouts:\nhttp:\nlog:\ntls:\nresolver:\n`);
    expect(c.nodes).toEqual({});
    expect(c.http).toEqual(DEFAULT_HTTP);
    expect(c.control).toEqual({ listen: { host: "127.0.0.1", port: 9901 }, token: null });
    expect(c.timeouts).toEqual(DEFAULT_TIMEOUTS);
    expect(c.log).toEqual({ format: "text", level: "info" });
    expect(c.tls).toEqual([]);
    expect(c.resolver).toBeNull();
  });

  it("honours YAML tags that make a value the type expected", () => {
    const c = load(`listeners:\n  - listen: !!str :80\n    flow: [{ respond: { status: !!int "204" } }]\n`);
    expect(c.listeners[0].flow[0].action).toEqual({ kind: "respond", status: 204, headers: [], body: "" });
  });

  it("follows YAML anchors and aliases", () => {
    const text = `listeners:
  - listen: :1
    flow: &rules
      - proxy: web
  - listen: :2
    flow: *rules
pools:
  web: { targets: &t [10.0.0.1:80], health: &h { check: none } }
  api: { targets: *t, health: *h }
`;
    const c = load(text);
    expect(c.listeners[1].flow).toEqual(c.listeners[0].flow);
    expect(c.pools.api).toEqual({ ...c.pools.web, name: "api" });
  });
});

describe("loadConfigText: proxy", () => {
  it("names a pool, or makes inline pools named inline-N in document order", () => {
    const c = withRules([
      "{ when: { req.path: /a }, proxy: web }",
      '{ when: { req.path: /b }, proxy: [10.0.0.1:80, "10.0.0.2:80@2"] }',
      '{ when: { req.path: /c }, proxy: "10.0.0.3:80,10.0.0.4:80" }',
      "{ proxy: { targets: [10.0.0.5:80], strategy: random, proxy-protocol: v1 } }",
    ], { extra: "pools:\n  web: { targets: [10.0.0.9:80] }\n" });
    expect(c.listeners[0].flow.map((r) => r.action)).toEqual([
      { kind: "proxy", pool: "web" },
      { kind: "proxy", pool: "inline-1" },
      { kind: "proxy", pool: "inline-2" },
      { kind: "proxy", pool: "inline-3" },
    ]);
    expect(c.pools["inline-1"]).toEqual(pool("inline-1", [ip("10.0.0.1", 80), ip("10.0.0.2", 80, 2)]));
    expect(c.pools["inline-2"]).toEqual(pool("inline-2", [ip("10.0.0.3", 80), ip("10.0.0.4", 80)]));
    expect(c.pools["inline-3"]).toEqual(
      pool("inline-3", [ip("10.0.0.5", 80)], { strategy: "random", sendProxy: "v1" }),
    );
  });

  it("numbers inline pools across listeners and nested flows, skipping names already taken", () => {
    const text = `listeners:
  - listen: :1
    flow:
      - plugin:
          http: http://127.0.0.1:9/
          failure: [{ proxy: [10.0.0.3:80] }]
          branches: { x: [{ proxy: [10.0.0.2:80] }] }
      - flow: [{ proxy: [10.0.0.4:80] }]
  - listen: :2
    flow: [{ proxy: [10.0.0.5:80] }]
pools:
  inline-2: { targets: [10.0.0.1:80] }
`;
    const c = load(text);
    const pools = Object.fromEntries(Object.entries(c.pools).map(([name, p]) => [name, p.targets[0].raw]));
    // failure: comes before branches: in the file, so it is inline-1.
    expect(pools).toEqual({
      "inline-1": "10.0.0.3:80",
      "inline-2": "10.0.0.1:80",
      "inline-3": "10.0.0.2:80",
      "inline-4": "10.0.0.4:80",
      "inline-5": "10.0.0.5:80",
    });
  });
});

describe("loadConfigText: actions", () => {
  it("reads terminate, with its own certificates or the global ones", () => {
    expect(rule("{ terminate: { tls: [{ cert: a.pem, key: a.key }], flow: [{ abort: true }] } }").action).toEqual({
      kind: "terminate",
      tls: [{ certPath: "a.pem", keyPath: "a.key" }],
      flow: [{ when: null, action: { kind: "abort" } }],
    });
    const global = { extra: "tls: [{ cert: g.pem, key: g.key }]\n" };
    expect(rule("{ terminate: { flow: [{ abort: true }] } }", global).action).toEqual({
      kind: "terminate",
      tls: [],
      flow: [{ when: null, action: { kind: "abort" } }],
    });
  });

  it("reads respond with defaults, headers in order, and values YAML reads as numbers as written", () => {
    expect(rule("{ respond: {} }").action).toEqual({ kind: "respond", status: 200, headers: [], body: "" });
    expect(
      rule(`{ respond: { status: 503, headers: { Retry-After: 120, X-B: "b", x-a: a }, body: "down\\n" } }`).action,
    )
      .toEqual({
        kind: "respond",
        status: 503,
        headers: [["Retry-After", "120"], ["X-B", "b"], ["x-a", "a"]],
        body: "down\n",
      });
  });

  it("reads respond headers as a list of one-entry maps, so a name can repeat", () => {
    expect(rule(`{ respond: { headers: [{ Set-Cookie: a=1 }, { Set-Cookie: b=2 }] } }`).action).toEqual({
      kind: "respond",
      status: 200,
      headers: [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"]],
      body: "",
    });
  });

  it("reads redirect from a map or a URL, status 302 by default", () => {
    expect(rule(`{ redirect: "https://example.com/" }`).action).toEqual({
      kind: "redirect",
      status: 302,
      location: "https://example.com/",
    });
    for (const status of [301, 302, 303, 307, 308]) {
      expect(rule(`{ redirect: { location: /x, status: ${status} } }`).action).toEqual({
        kind: "redirect",
        status,
        location: "/x",
      });
    }
  });

  it.each(["{ abort: true }", "{ abort: }", "{ abort: {} }", "{ abort }"])("reads %s", (text) => {
    expect(rule(text).action).toEqual({ kind: "abort" });
  });

  it("reads set-headers with either side or both", () => {
    expect(rule(`{ set-headers: { request: { X-A: "1", X-B: "{{conn.ip}}" } } }`).action).toEqual({
      kind: "set-headers",
      request: [["X-A", "1"], ["X-B", "{{conn.ip}}"]],
      response: [],
    });
    expect(rule(`{ set-headers: { response: { Server: vane }, request: {} } }`).action).toEqual({
      kind: "set-headers",
      request: [],
      response: [["Server", "vane"]],
    });
  });

  it("reads remove-headers from lists or a single name", () => {
    expect(rule(`{ remove-headers: { request: [Cookie, X-Debug], response: Server } }`).action).toEqual({
      kind: "remove-headers",
      request: ["Cookie", "X-Debug"],
      response: ["Server"],
    });
  });

  it.each([
    ["10/s", 10, 10],
    ["60/m", 1, 1],
    ["90/m", 1.5, 2],
    ["3600/h", 1, 1],
    ["1/h", 1 / 3600, 1],
    ["2.5", 2.5, 3],
    ["0.5", 0.5, 1],
    ["1e-3/s", 0.001, 1],
    ["7", 7, 7],
  ])("reads rate-limit rate %s as %d per second, default burst %d", (text, rate, burst) => {
    const quoted = /^[\d.]+$/.test(text) ? text : `"${text}"`;
    expect(rule(`{ rate-limit: { rate: ${quoted} } }`).action).toEqual({
      kind: "rate-limit",
      rate,
      burst,
      key: "{{conn.ip}}",
    });
  });

  it("reads rate-limit burst and key", () => {
    expect(rule(`{ rate-limit: { rate: 10/s, burst: 1, key: "{{ req.header.x-api-key }}" } }`).action).toEqual({
      kind: "rate-limit",
      rate: 10,
      burst: 1,
      key: "{{ req.header.x-api-key }}",
    });
  });

  it("reads a rate-limit's Redis store, failing open unless on-error says closed", () => {
    expect(rule(`{ rate-limit: { rate: 10/s, store: "redis://10.0.0.5:6379/1" } }`).action).toEqual({
      kind: "rate-limit",
      rate: 10,
      burst: 10,
      key: "{{conn.ip}}",
      store: { url: "redis://10.0.0.5:6379/1", onError: "open" },
    });
    expect(rule(`{ rate-limit: { rate: 1/s, store: "redis://h", on-error: closed } }`).action).toMatchObject({
      store: { url: "redis://h", onError: "closed" },
    });
  });

  it("reads plugins of each kind, with defaults", () => {
    const defaults = { timeoutMs: 1_000, failures: 3, quietMs: 30_000, branches: {}, failure: null };
    expect(rule(`{ plugin: { http: "https://auth.internal/check" } }`).action).toEqual({
      kind: "plugin",
      plugin: { kind: "http", url: "https://auth.internal/check" },
      ...defaults,
    });
    expect(rule(`{ plugin: { command: "  /usr/bin/decide  --fast " } }`).action).toEqual({
      kind: "plugin",
      plugin: { kind: "command", argv: ["/usr/bin/decide", "--fast"] },
      ...defaults,
    });
    expect(rule(`{ plugin: { command: [/bin/echo, "a b", 5] } }`).action).toEqual({
      kind: "plugin",
      plugin: { kind: "command", argv: ["/bin/echo", "a b", "5"] },
      ...defaults,
    });
    expect(rule(`{ plugin: { function: auth } }`, { functions: new Set(["auth"]) }).action).toEqual({
      kind: "plugin",
      plugin: { kind: "function", name: "auth" },
      ...defaults,
    });
  });

  it("reads plugin timeout, failures, quiet, branches and failure", () => {
    const text = `{ plugin: { http: "http://a/", timeout: 200ms, failures: 1, quiet: 0s,
        branches: { allow: [], deny: [{ respond: { status: 403 } }] }, failure: [{ abort: true }] } }`;
    expect(rule(text).action).toEqual({
      kind: "plugin",
      plugin: { kind: "http", url: "http://a/" },
      timeoutMs: 200,
      failures: 1,
      quietMs: 0,
      branches: { allow: [], deny: [{ when: null, action: { kind: "respond", status: 403, headers: [], body: "" } }] },
      failure: [{ when: null, action: { kind: "abort" } }],
    });
  });

  it("reads a sub-flow", () => {
    expect(rule(`{ when: { req.path: /a }, flow: [{ abort: true }, { respond: {} }] }`)).toEqual({
      when: { kind: "key", key: "req.path", matcher: { op: "equals", value: "/a" } },
      action: {
        kind: "flow",
        rules: [
          { when: null, action: { kind: "abort" } },
          { when: null, action: { kind: "respond", status: 200, headers: [], body: "" } },
        ],
      },
    });
  });

  it("lets a udp:// listener proxy, abort, rate-limit and nest flows on connection keys", () => {
    const c = withRules([
      '{ when: { conn.ip: { cidr: 10.0.0.0/8 } }, flow: [{ rate-limit: { rate: 1, key: "{{conn.ip}}-{{listener.port}}" } }] }',
      "{ when: { conn.port: 53 }, abort: true }",
      "{ proxy: [10.0.0.1:53] }",
    ], { listen: "udp://:53" });
    expect(c.listeners[0].flow.map((r) => r.action.kind)).toEqual(["flow", "abort", "proxy"]);
  });
});

describe("loadConfigText: conditions", () => {
  const key = (k: string, m: Matcher): Condition => ({ kind: "key", key: k, matcher: m });
  const eq = (value: string): Matcher => ({ op: "equals", value });

  it("reads one entry as that condition and several as all of them, in order", () => {
    expect(when(`{ req.method: GET }`)).toEqual(key("req.method", eq("GET")));
    expect(when(`{ req.method: GET, req.path: /a, host: Example.COM }`)).toEqual({
      kind: "all",
      of: [key("req.method", eq("GET")), key("req.path", eq("/a")), key("host", eq("Example.COM"))],
    });
  });

  it("reads not, any and all, nested", () => {
    expect(when(`{ not: { req.method: GET } }`)).toEqual({ kind: "not", of: key("req.method", eq("GET")) });
    expect(when(`{ any: [{ req.method: GET }, { all: [{ req.path: /a }, { not: { req.query: x } }] }] }`)).toEqual({
      kind: "any",
      of: [
        key("req.method", eq("GET")),
        { kind: "all", of: [key("req.path", eq("/a")), { kind: "not", of: key("req.query", eq("x")) }] },
      ],
    });
    expect(when(`{ all: [{ req.method: GET }] }`)).toEqual({ kind: "all", of: [key("req.method", eq("GET"))] });
  });

  it.each([
    "conn.ip",
    "conn.port",
    "listener.port",
    "protocol",
    "host",
    "tls.sni",
    "tls.alpn",
    "req.method",
    "req.host",
    "req.path",
    "req.query",
    "plugin.user",
    "plugin.risk_score-2",
  ])("accepts the key %s", (k) => {
    expect(when(`{ ${k}: x }`)).toEqual(key(k, eq("x")));
  });

  it("lowercases header names in req.header.<name>", () => {
    expect(when(`{ req.header.User-Agent: "curl/*" }`)).toEqual(
      key("req.header.user-agent", { op: "glob", pattern: "curl/*" }),
    );
  });
});

describe("loadConfigText: matchers", () => {
  it.each<[string, Matcher]>([
    ["/api", { op: "equals", value: "/api" }],
    ["/api/*", { op: "glob", pattern: "/api/*" }],
    ['"a?c"', { op: "equals", value: "a?c" }],
    ['""', { op: "equals", value: "" }],
    ["8080", { op: "equals", value: "8080" }],
    ["0x1F", { op: "equals", value: "0x1F" }],
    ["true", { op: "equals", value: "true" }],
    ["[GET, HEAD, 5]", { op: "in", values: ["GET", "HEAD", "5"] }],
    ["{ equals: /a* }", { op: "equals", value: "/a*" }],
    ["{ glob: /a? }", { op: "glob", pattern: "/a?" }],
    ["{ prefix: /v1/ }", { op: "prefix", value: "/v1/" }],
    ["{ suffix: .json }", { op: "suffix", value: ".json" }],
    ['{ regex: "^/u/[0-9]+$" }', { op: "regex", source: "^/u/[0-9]+$" }],
    ["{ in: [/a, /b] }", { op: "in", values: ["/a", "/b"] }],
    ["{ not: /a }", { op: "not", of: { op: "equals", value: "/a" } }],
    ["{ not: [/a, /b] }", { op: "not", of: { op: "in", values: ["/a", "/b"] } }],
    ["{ any: [/a, { prefix: /b } ] }", {
      op: "any",
      of: [{ op: "equals", value: "/a" }, { op: "prefix", value: "/b" }],
    }],
    ["{ all: [{ prefix: /a }, { not: { suffix: x } }] }", {
      op: "all",
      of: [{ op: "prefix", value: "/a" }, { op: "not", of: { op: "suffix", value: "x" } }],
    }],
    ["{ prefix: /a, suffix: .z }", { op: "all", of: [{ op: "prefix", value: "/a" }, { op: "suffix", value: ".z" }] }],
  ])("reads %s", (text, m) => {
    expect(matcher(text)).toEqual(m);
  });

  it("reads cidr on conn.ip, from a list or a comma-separated string, as written", () => {
    expect(matcher(`{ cidr: [10.0.0.0/8, "::1", 10.1.2.3/16] }`, "conn.ip")).toEqual({
      op: "cidr",
      ranges: ["10.0.0.0/8", "::1", "10.1.2.3/16"],
    });
    expect(matcher(`{ cidr: "192.168.0.0/16, fd00::/8" }`, "conn.ip")).toEqual({
      op: "cidr",
      ranges: ["192.168.0.0/16", "fd00::/8"],
    });
    expect(matcher(`{ not: { cidr: 10.0.0.0/8 } }`, "conn.ip")).toEqual({
      op: "not",
      of: { op: "cidr", ranges: ["10.0.0.0/8"] },
    });
  });

  it("keeps values of host keys as written (the flow engine compares them case-insensitively)", () => {
    expect(matcher("API.Example.COM.", "host")).toEqual({ op: "equals", value: "API.Example.COM." });
    expect(matcher(`"*.Example.com"`, "tls.sni")).toEqual({ op: "glob", pattern: "*.Example.com" });
  });
});

describe("loadConfigText: templates", () => {
  it("stores templates as written, spaces inside the braces allowed", () => {
    const r = rule(`{ redirect: "https://{{ req.host }}{{req.path}}?from={{ req.header.X-Id }}&p={{plugin.user}}" }`);
    expect(r.action).toEqual({
      kind: "redirect",
      status: 302,
      location: "https://{{ req.host }}{{req.path}}?from={{ req.header.X-Id }}&p={{plugin.user}}",
    });
  });

  it("leaves text without placeholders, and a lone }}, alone", () => {
    expect(rule(`{ respond: { body: "plain }} text {" } }`).action).toMatchObject({ body: "plain }} text {" });
  });
});

/**
 * The config printer. Its defining property: for any valid Config c, loading
 * printConfig(c) gives back a Config deep-equal to c.
 */
import { describe, expect, it } from "vitest";
import {
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
import { configToDocument, formatDuration, printConfig } from "../../src/config/print.ts";
import { formatIssue, loadConfigText, type LoadOptions } from "../../src/config/yaml-load.ts";
import { EXAMPLES, RICH_FUNCTIONS } from "../fixtures/config/examples.ts";

function load(text: string, opts?: LoadOptions): Config {
  const r = loadConfigText(text, opts);
  if (!r.ok) throw new Error(`${r.issues.map((i) => formatIssue("printed.yaml", i)).join("\n")}\n---\n${text}`);
  return r.config;
}

/** Prints, loads back, and checks the result equals the original; returns the text. */
function roundTrip(c: Config, opts?: LoadOptions): string {
  const text = printConfig(c);
  expect(load(text, opts)).toEqual(c);
  // Printing is deterministic: the reloaded config prints the same text.
  expect(printConfig(load(text, opts))).toBe(text);
  return text;
}

const target = (raw: string, weight = 1): TargetSpec => {
  const m = /^node:(.+):(\d+)$/.exec(raw);
  if (m) return { kind: "node", node: m[1], port: Number(m[2]), weight, raw };
  const hp = /^\[?(.*?)\]?:(\d+)$/.exec(raw)!;
  const kind = /^[\d.]+$/.test(hp[1]) || hp[1].includes(":") ? "ip" : "dns";
  return { kind, host: hp[1].toLowerCase(), port: Number(hp[2]), weight, raw };
};

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

const base = (listenRaw: string, flow: Rule[], more: Partial<Config> = {}): Config => ({
  listeners: [{
    address: { protocol: "tcp", host: "0.0.0.0", port: Number(listenRaw.slice(1)), raw: listenRaw },
    flow,
    acceptProxy: [],
    tls: [],
  }],
  pools: {},
  nodes: {},
  timeouts: { ...DEFAULT_TIMEOUTS },
  http: { ...DEFAULT_HTTP },
  control: { listen: { host: "127.0.0.1", port: 9901 }, token: null },
  log: { format: "text", level: "info" },
  tls: [],
  resolver: null,
  workers: null,
  maxConns: null,
  ...more,
});

const always = (action: Rule["action"]): Rule => ({ when: null, action });
const on = (key: string, matcher: Matcher, action: Rule["action"]): Rule => ({
  when: { kind: "key", key, matcher },
  action,
});

/** Strings YAML would read as something else, or only survive quoted. */
const TRICKY = [
  "",
  "5",
  "-5",
  "0x1F",
  "0o17",
  "1e3",
  ".5",
  ".inf",
  "-.Inf",
  ".NaN",
  "true",
  "False",
  "null",
  "Null",
  "~",
  "yes",
  "no",
  "on",
  "off",
  " lead",
  "trail ",
  "#hash",
  "a #b",
  "a: b",
  "- item",
  "? q",
  ": c",
  "'single'",
  '"double"',
  "@at",
  "`tick",
  "%pct",
  "!bang",
  "&anchor",
  "|pipe",
  ">gt",
  "[x]",
  "{x}",
  "a,b",
  "caf\u00e9",
  "\u2603 snow",
  "tab\tinside",
  "back\\slash",
  "2001:db8::1",
  "::",
  "=",
  "<<",
  "---",
  "...",
];

/** A config built in code, using every feature of the model, with awkward strings. */
function richConfig(): Config {
  const h = (name: string, value: string): [string, string] => [name, value];
  const terminateFlow: Rule[] = [
    on("req.path", { op: "prefix", value: "/old/" }, {
      kind: "redirect",
      status: 308,
      location: "https://{{ req.host }}/new{{req.path}}?q={{req.query}}",
    }),
    on("req.header.x-admin", { op: "not", of: { op: "equals", value: "yes" } }, {
      kind: "respond",
      status: 403,
      headers: [h("Content-Type", "text/plain"), h("X-Reason", "denied: {{conn.ip}}"), h("X-Num", "5")],
      body: "forbidden\n\n  indented\ttab \u00e9 {{ req.method }} trailing  \n",
    }),
    always({ kind: "respond", status: 200, headers: [h("Set-Cookie", "a=1"), h("Set-Cookie", "b=2")], body: "" }),
    always({
      kind: "set-headers",
      request: [h("X-Forwarded-Proto", "https"), h("X-True", "true"), h("X-Empty", ""), h("~", "null")],
      response: [],
    }),
    always({ kind: "remove-headers", request: [], response: ["Server", "X-Powered-By"] }),
    always({ kind: "rate-limit", rate: 1 / 3, burst: 1, key: "{{req.header.authorization}}" }),
    always({ kind: "rate-limit", rate: 1e-7, burst: 1_000_000, key: "" }),
    always({
      kind: "rate-limit",
      rate: 5,
      burst: 7,
      key: "{{conn.ip}}",
      store: { url: "redis://u:p@127.0.0.1:6379/2", onError: "closed" },
    }),
    always({
      kind: "plugin",
      plugin: { kind: "function", name: "auth" },
      timeoutMs: 250,
      failures: 100,
      quietMs: 0,
      branches: {
        deny: [always({ kind: "respond", status: 401, headers: [], body: "no" })],
        allow: [],
        // Computed, so that it is an own key and not the object's prototype.
        ["__proto__"]: [always({ kind: "abort" })],
        "5": [always({ kind: "proxy", pool: "true" })],
      },
      failure: [always({ kind: "respond", status: 503, headers: [], body: "" })],
    }),
    always({
      kind: "plugin",
      plugin: { kind: "command", argv: ["/usr/bin/decide", "--fast", "a b", "", "true"] },
      timeoutMs: 1_500,
      failures: 1,
      quietMs: 3_600_000,
      branches: {},
      failure: [],
    }),
  ];
  const matchers: Matcher[] = [
    { op: "equals", value: "/a*b" },
    { op: "equals", value: "" },
    { op: "glob", pattern: "/no-star?" },
    { op: "glob", pattern: "*" },
    { op: "prefix", value: "5" },
    { op: "suffix", value: "null" },
    { op: "regex", source: "^/u/(\\d+)$" },
    { op: "in", values: ["GET", "5", "true", "*"] },
    { op: "in", values: [""] },
    { op: "not", of: { op: "glob", pattern: "/x/*" } },
    { op: "any", of: [{ op: "equals", value: "a" }, { op: "all", of: [{ op: "prefix", value: "b" }] }] },
    {
      op: "all",
      of: [{ op: "prefix", value: "/a" }, { op: "suffix", value: ".z" }, {
        op: "not",
        of: { op: "in", values: ["x"] },
      }],
    },
    ...TRICKY.map((value): Matcher => ({ op: "equals", value })),
  ];
  return {
    listeners: [
      {
        address: { protocol: "tcp", host: "::", port: 8443, raw: "tcp://[::]:8443" },
        acceptProxy: ["10.0.0.0/8", "::1", "10.1.2.3/16"],
        tls: [],
        flow: [
          on("conn.ip", { op: "cidr", ranges: ["192.0.2.0/24", "2001:db8::/32"] }, { kind: "abort" }),
          on("conn.ip", { op: "not", of: { op: "cidr", ranges: ["::"] } }, {
            kind: "flow",
            rules: [always({ kind: "abort" })],
          }),
          {
            when: {
              kind: "all",
              of: [
                { kind: "key", key: "tls.sni", matcher: { op: "glob", pattern: "*.example.com" } },
                { kind: "key", key: "tls.alpn", matcher: { op: "in", values: ["h2", "http/1.1"] } },
              ],
            },
            action: { kind: "proxy", pool: "web" },
          },
          {
            when: { kind: "not", of: { kind: "key", key: "protocol", matcher: { op: "equals", value: "tls" } } },
            action: {
              kind: "terminate",
              tls: [{ certPath: "/etc/vane/in ner.pem", keyPath: "5" }],
              flow: terminateFlow,
            },
          },
          {
            when: {
              kind: "any",
              of: [
                { kind: "key", key: "plugin.user_id-2", matcher: { op: "equals", value: "7" } },
                {
                  kind: "not",
                  of: {
                    kind: "any",
                    of: [{ kind: "key", key: "listener.port", matcher: { op: "equals", value: "8443" } }],
                  },
                },
              ],
            },
            action: { kind: "terminate", tls: [], flow: [always({ kind: "proxy", pool: "__proto__" })] },
          },
          ...matchers.map((m) => on("req.path", m, { kind: "proxy", pool: "1" })),
          always({
            kind: "plugin",
            plugin: { kind: "http", url: "http://127.0.0.1:9100/decide?x=1" },
            timeoutMs: 1_000,
            failures: 3,
            quietMs: 30_000,
            branches: { no: [always({ kind: "abort" })] },
            failure: null,
          }),
          always({ kind: "proxy", pool: "inline-1" }),
        ],
      },
      {
        address: { protocol: "https", host: "0.0.0.0", port: 443, raw: "https://:443" },
        acceptProxy: [],
        tls: [{ certPath: "a.pem", keyPath: "a.key" }, { certPath: "b.pem", keyPath: "b.key" }],
        flow: [
          on("host", { op: "any", of: [{ op: "equals", value: "API.example.com" }, { op: "suffix", value: ".api" }] }, {
            kind: "proxy",
            pool: "api",
          }),
          always({ kind: "redirect", status: 301, location: "/moved" }),
        ],
      },
      {
        address: { protocol: "http", host: "127.0.0.1", port: 0, raw: "http://127.0.0.1:0" },
        acceptProxy: ["fd00::/8"],
        tls: [],
        flow: [always({ kind: "redirect", status: 302, location: "https://{{req.host}}{{req.path}}" })],
      },
      {
        address: { protocol: "udp", host: "::1", port: 53, raw: "udp://[::1]:53" },
        acceptProxy: [],
        tls: [],
        flow: [
          on("conn.port", { op: "in", values: ["53", "5353"] }, {
            kind: "rate-limit",
            rate: 50,
            burst: 50,
            key: "{{conn.ip}}",
          }),
          on("listener.port", { op: "equals", value: "53" }, { kind: "flow", rules: [always({ kind: "abort" })] }),
          always({ kind: "proxy", pool: "dns" }),
        ],
      },
    ],
    pools: {
      web: pool("web", [
        target("10.0.0.1:443"),
        target("10.0.0.2:443", 3),
        target("web.internal:443", 0),
        target("node:web:443", 256),
      ], {
        strategy: "fastest",
        fallback: [target("backup.example.net:443"), target("[2001:db8::9]:443", 2)],
        health: { check: "tcp", intervalMs: 5_000, timeoutMs: 1_500, rise: 1, fall: 100 },
        passive: { failures: 0, on: ["connect"] },
        retryOn: [],
        sendProxy: "v2",
      }),
      api: pool("api", [target("10.1.0.1:80"), target("10.1.0.2:80")], {
        strategy: "random",
        health: {
          check: "http",
          path: "/healthz?full=1",
          expect: [200, 299],
          intervalMs: 60_000,
          timeoutMs: 2_000,
          rise: 2,
          fall: 3,
        },
        sendProxy: "v1",
        retryOn: ["conn-failure", "empty-response", "response-timeout"],
      }),
      dns: pool("dns", [target("[2001:db8::53]:53")], { health: { ...DEFAULT_HEALTH, check: "none" } }),
      "1": pool("1", [target("node:db:5432")], {
        health: { ...DEFAULT_HEALTH, check: "http", path: "/", expect: [204, 204] },
      }),
      "true": pool("true", [target("127.0.0.1:1")], { passive: { failures: 100, on: ["timeout", "reset"] } }),
      ["__proto__"]: pool("__proto__", [target("127.0.0.1:2")]),
      "inline-1": pool("inline-1", [target("[::ffff:10.0.0.1]:80")]),
    },
    nodes: { web: ["10.0.0.7", "2001:db8::7"], db: ["10.0.0.5"], "null": ["::1"] },
    timeouts: {
      connectMs: 1_500,
      idleMs: 3_600_000,
      graceMs: 0,
      udpIdleMs: 45_000,
      upstreamMs: 90_061,
      requestHeadMs: 2_500,
      keepAliveMs: 75_000,
      bodyMs: 1,
    },
    http: { maxHeaderLine: 65536, maxPartialHeads: 0, encodedSlash: "keep" },
    control: { listen: null, token: "0x1F" },
    log: { format: "json", level: "warn" },
    tls: [{ certPath: "/etc/vane/default.pem", keyPath: "/etc/vane/default.key" }],
    resolver: { host: "2001:4860:4860::8888", port: 53 },
    workers: 3,
    maxConns: 5000,
  };
}

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [1, "1ms"],
    [999, "999ms"],
    [1_000, "1s"],
    [1_500, "1500ms"],
    [59_000, "59s"],
    [60_000, "1m"],
    [90_000, "90s"],
    [120_000, "2m"],
    [3_600_000, "1h"],
    [5_400_000, "90m"],
    [86_400_000, "24h"],
    [2 ** 31 - 1, "2147483647ms"],
  ])("writes %d ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("configToDocument", () => {
  it("writes every field, defaults included, in the grammar's shape", () => {
    const c = base(":8080", [always({ kind: "proxy", pool: "web" })], {
      pools: { web: pool("web", [target("10.0.0.1:80"), target("10.0.0.2:80", 3)]) },
    });
    expect(configToDocument(c)).toEqual({
      listeners: [{ listen: ":8080", "accept-proxy": [], tls: [], flow: [{ proxy: "web" }] }],
      pools: {
        web: {
          targets: ["10.0.0.1:80", "10.0.0.2:80@3"],
          strategy: "serial",
          fallback: [],
          health: { check: "tcp", interval: "2s", timeout: "1s", rise: 2, fall: 3 },
          passive: { failures: 1, on: ["connect", "timeout", "reset"] },
          "retry-on": ["conn-failure"],
          retries: 1,
          "retry-budget": "20%",
          "retry-budget-min": 3,
          "retry-backoff": "25ms",
          "retry-backoff-max": "250ms",
          "proxy-protocol": "off",
          protocol: "http1",
          tls: "off",
        },
      },
      nodes: {},
      control: { listen: "127.0.0.1:9901" },
      timeouts: {
        connect: "5s",
        idle: "10m",
        grace: "10s",
        "udp-idle": "30s",
        upstream: "1m",
        "request-head": "10s",
        "keep-alive": "1m",
        body: "1m",
      },
      http: { "max-header-line": 8192, "max-partial-heads": 32, "encoded-slash": "reject" },
      log: { format: "text", level: "info" },
      tls: [],
      workers: "auto",
      "max-conns": "auto",
    });
  });

  it("writes matchers canonically: a bare scalar only where it reads back as the same operator", () => {
    const doc = (m: Matcher) => {
      const d = configToDocument(base(":1", [on("req.path", m, { kind: "abort" })]));
      return (d.listeners as Array<{ flow: Array<{ when: Record<string, unknown> }> }>)[0].flow[0].when["req.path"];
    };
    expect(doc({ op: "equals", value: "/a" })).toBe("/a");
    expect(doc({ op: "equals", value: "/a*" })).toEqual({ equals: "/a*" });
    expect(doc({ op: "glob", pattern: "/a*" })).toBe("/a*");
    expect(doc({ op: "glob", pattern: "/a?" })).toEqual({ glob: "/a?" });
    expect(doc({ op: "in", values: ["a", "b"] })).toEqual({ in: ["a", "b"] });
    expect(doc({ op: "prefix", value: "/v1" })).toEqual({ prefix: "/v1" });
    expect(doc({ op: "suffix", value: ".js" })).toEqual({ suffix: ".js" });
    expect(doc({ op: "regex", source: "^a$" })).toEqual({ regex: "^a$" });
    expect(doc({ op: "not", of: { op: "equals", value: "x" } })).toEqual({ not: "x" });
    expect(doc({ op: "any", of: [{ op: "equals", value: "x" }] })).toEqual({ any: ["x"] });
    expect(doc({ op: "all", of: [{ op: "glob", pattern: "x" }] })).toEqual({ all: [{ glob: "x" }] });
  });

  it("writes a rate-limit's store and on-error", () => {
    const store = { url: "redis://:pw@127.0.0.1:6379/2", onError: "closed" as const };
    const c = base(":1", [always({ kind: "rate-limit", rate: 5, burst: 7, key: "{{conn.ip}}", store })]);
    expect((configToDocument(c).listeners as Array<{ flow: unknown }>)[0].flow).toEqual([
      { "rate-limit": { rate: "5/s", burst: 7, key: "{{conn.ip}}", store: store.url, "on-error": "closed" } },
    ]);
  });

  it("writes conditions, actions, control off, null failure and the resolver", () => {
    const c = base(":1", [
      {
        when: {
          kind: "any",
          of: [{ kind: "not", of: { kind: "key", key: "req.method", matcher: { op: "equals", value: "GET" } } }],
        },
        action: { kind: "rate-limit", rate: 2.5, burst: 3, key: "{{conn.ip}}" },
      },
      always({
        kind: "plugin",
        plugin: { kind: "command", argv: ["/bin/x"] },
        timeoutMs: 1_000,
        failures: 3,
        quietMs: 30_000,
        branches: {},
        failure: null,
      }),
      always({ kind: "abort" }),
    ], { control: { listen: null, token: "t" }, resolver: { host: "::1", port: 53 } });
    const d = configToDocument(c);
    expect((d.listeners as Array<{ flow: unknown }>)[0].flow).toEqual([
      {
        when: { any: [{ not: { "req.method": "GET" } }] },
        "rate-limit": { rate: "2.5/s", burst: 3, key: "{{conn.ip}}" },
      },
      { plugin: { command: ["/bin/x"], timeout: "1s", failures: 3, quiet: "30s", branches: {} } },
      { abort: true },
    ]);
    expect(d.control).toEqual({ listen: "off", token: "t" });
    expect(d.resolver).toBe("[::1]:53");
  });
});

describe("printConfig", () => {
  it("prints a header and plain YAML", () => {
    const c = base(":8080", [always({ kind: "proxy", pool: "web" })], {
      pools: { web: pool("web", [target("10.0.0.1:80")]) },
    });
    expect(printConfig(c)).toBe(`# vane config (generated by vane --print-config)
listeners:
  - listen: :8080
    accept-proxy: []
    tls: []
    flow:
      - proxy: web
pools:
  web:
    targets:
      - 10.0.0.1:80
    strategy: serial
    fallback: []
    health:
      check: tcp
      interval: 2s
      timeout: 1s
      rise: 2
      fall: 3
    passive:
      failures: 1
      on:
        - connect
        - timeout
        - reset
    retry-on:
      - conn-failure
    retries: 1
    retry-budget: 20%
    retry-budget-min: 3
    retry-backoff: 25ms
    retry-backoff-max: 250ms
    proxy-protocol: off
    protocol: http1
    tls: off
nodes: {}
control:
  listen: 127.0.0.1:9901
timeouts:
  connect: 5s
  idle: 10m
  grace: 10s
  udp-idle: 30s
  upstream: 1m
  request-head: 10s
  keep-alive: 1m
  body: 1m
http:
  max-header-line: 8192
  max-partial-heads: 32
  encoded-slash: reject
log:
  format: text
  level: info
tls: []
workers: auto
max-conns: auto
`);
  });

  it("round-trips a config using every feature, with strings YAML would misread", () => {
    roundTrip(richConfig(), { functions: RICH_FUNCTIONS });
  });

  it("writes objects shared in the model out in full, without YAML anchors", () => {
    const health = { ...DEFAULT_HEALTH, check: "none" as const };
    const rules: Rule[] = [always({ kind: "proxy", pool: "a" })];
    const c = base(":1", rules, {
      pools: { a: pool("a", [target("a.b:1")], { health }), b: pool("b", [target("a.b:2")], { health }) },
    });
    c.listeners.push({ ...c.listeners[0], address: { ...c.listeners[0].address, port: 2, raw: ":2" }, flow: rules });
    const text = roundTrip(c);
    expect(text).not.toMatch(/[&*]a\d+\b/);
  });

  it.each(Object.entries(EXAMPLES))("round-trips the %s example", (_name, yaml) => {
    roundTrip(load(yaml, { functions: RICH_FUNCTIONS }), { functions: RICH_FUNCTIONS });
  });

  it("prints inline pools as the named pools they became", () => {
    const c = load(
      `listeners: [{ listen: ":1", flow: [{ proxy: [10.0.0.1:80] }, { proxy: { targets: "a:1", strategy: random } }] }]\n`,
    );
    const text = roundTrip(c);
    expect(text).toContain("      - proxy: inline-1\n      - proxy: inline-2\n");
    expect(Object.keys(load(text).pools)).toEqual(["inline-1", "inline-2"]);
  });

  it.each(TRICKY)("round-trips %j as a value, a header, a body and a name", (s) => {
    const nameSafe = /^[A-Za-z0-9_.-]+$/.test(s) ? s : "n";
    const c = base(":1", [
      on("req.query", { op: "equals", value: s }, { kind: "respond", status: 200, headers: [["X-V", s]], body: s }),
      on("req.query", { op: "in", values: [s, s + "x"] }, { kind: "proxy", pool: nameSafe }),
      always({
        kind: "plugin",
        plugin: { kind: "command", argv: ["/bin/x", s] },
        timeoutMs: 1_000,
        failures: 3,
        quietMs: 30_000,
        branches: s === "" ? {} : { [s]: [] },
        failure: null,
      }),
    ], { pools: { [nameSafe]: pool(nameSafe, [target("a.b:1")]) }, control: { listen: null, token: s || null } });
    roundTrip(c);
  });

  it("round-trips random strings in every free-text field", () => {
    // A fixed seed keeps failures reproducible.
    let seed = 0x9e3779b9;
    const rand = (n: number) => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed % n;
    };
    const alphabet = " \t\n\"'#:-?*&!|>%@`,[]}()\\/.0123456789aeEntTruLlx~=+\u00e9\u2603";
    const word = (noBreaks: boolean) => {
      let s = "";
      for (let i = rand(12); i > 0; i--) {
        const ch = alphabet[rand(alphabet.length)];
        if (!(noBreaks && ch === "\n")) s += ch;
      }
      return s;
    };
    for (let i = 0; i < 200; i++) {
      const v = word(true);
      const c = base(":1", [
        on("req.path", { op: "equals", value: word(false) }, {
          kind: "respond",
          status: 200 + rand(400),
          headers: [["X-A", v]],
          body: word(false),
        }),
        on("req.path", { op: "in", values: [word(false), word(false)] }, {
          kind: "redirect",
          status: 307,
          location: word(false) || "/",
        }),
        on("req.path", { op: "regex", source: "x" + word(false).replace(/[\\()[\]{}*+?|^$.]/g, "") }, {
          kind: "abort",
        }),
      ], { control: { listen: null, token: word(false) || "t" } });
      roundTrip(c);
    }
  });

  it("round-trips every rate and duration the loader can produce", () => {
    for (const rate of [1, 0.1, 1 / 3, 1 / 60, 1 / 3600, 2 / 7, 1e-9, 123456.789, 1e21, 5e-324]) {
      const c = base(":1", [always({ kind: "rate-limit", rate, burst: 1, key: "{{conn.ip}}" })]);
      roundTrip(c);
    }
    for (const ms of [1, 999, 1_001, 59_999, 61_000, 3_599_000, 3_600_001, 2 ** 31 - 1]) {
      roundTrip(base(":1", [always({ kind: "abort" })], { timeouts: { ...DEFAULT_TIMEOUTS, idleMs: ms, graceMs: 0 } }));
    }
  });
});

/**
 * Every matcher through the public engine: a one-rule flow that proxies to "hit" when
 * its condition holds, evaluated with runSync over plain key objects.
 */
import { describe, expect, it } from "vitest";
import type { Condition, Matcher } from "../../src/config/model.ts";
import { compileFlow, inputOf, type KeyValue } from "../../src/flow/flow.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

function when(cond: Condition): (values: Record<string, KeyValue>) => boolean {
  const flow = compileFlow([{ when: cond, action: { kind: "proxy", pool: "hit" } }], { log: silentLogger });
  return (values) => flow.runSync(inputOf(values)).outcome.kind === "proxy";
}

/** A predicate over one key's value (undefined: the key is missing). */
function on(key: string, matcher: Matcher): (value: KeyValue) => boolean {
  const test = when({ kind: "key", key, matcher });
  return (value) => test({ [key]: value });
}

describe("equals", () => {
  it("matches the exact value only, case-sensitively on ordinary keys", () => {
    const m = on("req.path", { op: "equals", value: "/a" });
    expect(m("/a")).toBe(true);
    expect(m("/A")).toBe(false);
    expect(m("/a/")).toBe(false);
    expect(m("")).toBe(false);
    expect(m(undefined)).toBe(false);
  });

  it("compares host keys case-insensitively and without the trailing dot of the pattern", () => {
    for (const key of ["host", "req.host", "tls.sni"]) {
      expect(on(key, { op: "equals", value: "Api.Example.COM" })("api.example.com")).toBe(true);
      expect(on(key, { op: "equals", value: "api.example.com." })("api.example.com")).toBe(true);
      expect(on(key, { op: "equals", value: "api.example.com" })("www.example.com")).toBe(false);
    }
  });

  it("does not fold case on header keys' values", () => {
    expect(on("req.header.x-env", { op: "equals", value: "Prod" })("prod")).toBe(false);
    expect(on("req.header.x-env", { op: "equals", value: "Prod" })("Prod")).toBe(true);
  });

  it("reads header keys whatever case the rule wrote the name in", () => {
    const test = when({ kind: "key", key: "req.header.X-Env", matcher: { op: "equals", value: "prod" } });
    expect(test({ "req.header.x-env": "prod" })).toBe(true);
  });

  it("does not find keys of Object.prototype", () => {
    expect(on("constructor", { op: "prefix", value: "" })(undefined)).toBe(false);
    expect(when({ kind: "key", key: "toString", matcher: { op: "not", of: { op: "prefix", value: "" } } })({}))
      .toBe(true);
  });
});

describe("glob", () => {
  const g = (pattern: string, key = "req.path") => on(key, { op: "glob", pattern });

  it("lets * match any run of characters, dots and slashes included", () => {
    expect(g("/static/*")("/static/css/app.css")).toBe(true);
    expect(g("/static/*")("/static/")).toBe(true);
    expect(g("/static/*")("/stat")).toBe(false);
    expect(g("*.css")("/a/b.c/d.css")).toBe(true);
    expect(g("*")("")).toBe(true);
    expect(g("*")("anything/at.all")).toBe(true);
  });

  it("is anchored at both ends", () => {
    expect(g("/a*")("/b/a")).toBe(false);
    expect(g("*a")("/a/b")).toBe(false);
    expect(g("/a")("/a/b")).toBe(false);
    expect(g("/a*z")("/a/z/")).toBe(false);
  });

  it("does not let the head and tail of one * overlap", () => {
    expect(g("ab*ba")("aba")).toBe(false);
    expect(g("ab*ba")("abba")).toBe(true);
  });

  it("lets ? match exactly one character", () => {
    expect(g("/v?/x")("/v1/x")).toBe(true);
    expect(g("/v?/x")("/v/x")).toBe(false);
    expect(g("/v?/x")("/v12/x")).toBe(false);
    expect(g("/?")("/é")).toBe(true);
    expect(g("/?")("/😀")).toBe(true);
  });

  it("handles several wildcards", () => {
    expect(g("/*/items/*")("/shop/items/42")).toBe(true);
    expect(g("/*/items/*")("/shop/things/42")).toBe(false);
    expect(g("*a*b*")("xxaxxbxx")).toBe(true);
    expect(g("*a*b*")("xxbxxaxx")).toBe(false);
    expect(g("?*")("")).toBe(false);
    expect(g("?*")("x")).toBe(true);
  });

  it("takes regex syntax characters literally", () => {
    expect(g("/a.b")("/axb")).toBe(false);
    expect(g("/a.b")("/a.b")).toBe(true);
    expect(g("/(x)+[y]{2}$^|\\*")("/(x)+[y]{2}$^|\\q")).toBe(true);
    expect(g("/(x)+[y]{2}$^|\\*")("/xxyy")).toBe(false);
  });

  it("matches host names case-insensitively, and * crosses dots", () => {
    expect(g("*.Example.COM", "tls.sni")("api.example.com")).toBe(true);
    expect(g("*.example.com.", "host")("a.b.example.com")).toBe(true);
    expect(g("*.example.com", "host")("example.com")).toBe(false);
    expect(g("api.example.?om", "host")("api.example.com")).toBe(true);
  });
});

describe("prefix and suffix", () => {
  it("test the start and the end", () => {
    const p = on("req.path", { op: "prefix", value: "/v1/" });
    expect(p("/v1/users")).toBe(true);
    expect(p("/v1/")).toBe(true);
    expect(p("/v1")).toBe(false);
    expect(p("/V1/users")).toBe(false);
    const s = on("req.path", { op: "suffix", value: ".php" });
    expect(s("/index.php")).toBe(true);
    expect(s("/index.php5")).toBe(false);
    expect(s(undefined)).toBe(false);
  });

  it("lowercase the pattern on host keys; a prefix keeps its trailing dot", () => {
    expect(on("host", { op: "suffix", value: ".Example.com." })("api.example.com")).toBe(true);
    expect(on("host", { op: "prefix", value: "API." })("api.example.com")).toBe(true);
    expect(on("host", { op: "prefix", value: "api." })("apix.com")).toBe(false);
  });
});

describe("regex", () => {
  it("is unanchored unless the pattern anchors itself", () => {
    expect(on("req.path", { op: "regex", source: "\\d+" })("/users/42/x")).toBe(true);
    expect(on("req.path", { op: "regex", source: "^/users/\\d+$" })("/users/42/x")).toBe(false);
    expect(on("req.path", { op: "regex", source: "^/users/\\d+$" })("/users/42")).toBe(true);
  });

  it("is case-sensitive on ordinary keys and insensitive on host keys", () => {
    expect(on("req.path", { op: "regex", source: "^/admin" })("/ADMIN")).toBe(false);
    expect(on("req.host", { op: "regex", source: "^API\\.example\\.com$" })("api.example.com")).toBe(true);
  });

  it("gives the same answer on every call (no stateful flags)", () => {
    const m = on("req.path", { op: "regex", source: "a" });
    expect([m("a"), m("a"), m("a")]).toEqual([true, true, true]);
  });

  it("fails at compile time on an invalid pattern", () => {
    expect(() => on("req.path", { op: "regex", source: "(" })).toThrow();
  });
});

describe("cidr", () => {
  const c = (...ranges: string[]) => on("conn.ip", { op: "cidr", ranges });

  it("matches IPv4 ranges and bare addresses", () => {
    expect(c("10.0.0.0/8")("10.1.2.3")).toBe(true);
    expect(c("10.0.0.0/8")("11.1.2.3")).toBe(false);
    expect(c("192.168.1.7")("192.168.1.7")).toBe(true);
    expect(c("192.168.1.7")("192.168.1.8")).toBe(false);
    expect(c("0.0.0.0/0")("8.8.8.8")).toBe(true);
  });

  it("matches IPv6 ranges", () => {
    expect(c("fd00::/8")("fd12::1")).toBe(true);
    expect(c("fd00::/8")("fe80::1")).toBe(false);
    expect(c("::1")("::1")).toBe(true);
    expect(c("2001:db8::/32")("10.0.0.1")).toBe(false);
  });

  it("matches IPv4-mapped IPv6 addresses against IPv4 ranges", () => {
    expect(c("127.0.0.0/8")("::ffff:127.0.0.1")).toBe(true);
    expect(c("10.0.0.0/8")("::ffff:127.0.0.1")).toBe(false);
  });

  it("matches when any range does", () => {
    const m = c("10.0.0.0/8", "192.168.0.0/16", "fd00::/8");
    expect(m("192.168.3.4")).toBe(true);
    expect(m("fd00::5")).toBe(true);
    expect(m("172.16.0.1")).toBe(false);
  });

  it("never matches a value that is not an IP, nor a missing one", () => {
    expect(c("0.0.0.0/0")("localhost")).toBe(false);
    expect(c("0.0.0.0/0")("")).toBe(false);
    expect(c("0.0.0.0/0")(undefined)).toBe(false);
  });

  it("answers right when the same and different addresses alternate (the last answer is cached)", () => {
    const m = c("10.0.0.0/8");
    expect([m("10.0.0.1"), m("10.0.0.1"), m("11.0.0.1"), m("11.0.0.1"), m("10.0.0.1")])
      .toEqual([true, true, false, false, true]);
  });

  it("fails at compile time on a bad range", () => {
    expect(() => c("10.0.0.0/33")).toThrow();
    expect(() => c("nope")).toThrow();
  });
});

describe("in", () => {
  it("matches any of the values", () => {
    const m = on("req.method", { op: "in", values: ["GET", "HEAD"] });
    expect(m("GET")).toBe(true);
    expect(m("HEAD")).toBe(true);
    expect(m("get")).toBe(false);
    expect(m("POST")).toBe(false);
    expect(m(undefined)).toBe(false);
  });

  it("normalises the values on host keys", () => {
    expect(on("tls.sni", { op: "in", values: ["A.example.com.", "B.example.com"] })("a.example.com")).toBe(true);
  });
});

describe("arrays (tls.alpn)", () => {
  it("match when any element matches", () => {
    const m = on("tls.alpn", { op: "equals", value: "h2" });
    expect(m(["http/1.1", "h2"])).toBe(true);
    expect(m(["http/1.1"])).toBe(false);
    expect(m([])).toBe(false);
    expect(on("tls.alpn", { op: "glob", pattern: "http/*" })(["h2", "http/1.1"])).toBe(true);
  });

  it("under not, match when the inner matcher matches no element", () => {
    const m = on("tls.alpn", { op: "not", of: { op: "equals", value: "h2" } });
    expect(m(["http/1.1", "h2"])).toBe(false);
    expect(m(["http/1.1"])).toBe(true);
    expect(m([])).toBe(true);
  });
});

describe("not, any, all", () => {
  it("not inverts, and a missing key matches under not", () => {
    const m = on("tls.sni", { op: "not", of: { op: "equals", value: "a.com" } });
    expect(m("a.com")).toBe(false);
    expect(m("b.com")).toBe(true);
    expect(m(undefined)).toBe(true);
    const twice = on("tls.sni", { op: "not", of: { op: "not", of: { op: "equals", value: "a.com" } } });
    expect(twice("a.com")).toBe(true);
    expect(twice(undefined)).toBe(false);
  });

  it("any and all combine and nest", () => {
    const m = on("req.path", {
      op: "any",
      of: [
        { op: "equals", value: "/health" },
        { op: "all", of: [{ op: "prefix", value: "/api/" }, { op: "not", of: { op: "suffix", value: ".json" } }] },
      ],
    });
    expect(m("/health")).toBe(true);
    expect(m("/api/users")).toBe(true);
    expect(m("/api/users.json")).toBe(false);
    expect(m("/other")).toBe(false);
    expect(m(undefined)).toBe(false);
  });

  it("all of a missing key fails unless every part is a not", () => {
    expect(on("x", { op: "all", of: [{ op: "prefix", value: "" }] })(undefined)).toBe(false);
    expect(on("x", { op: "all", of: [{ op: "not", of: { op: "equals", value: "a" } }] })(undefined)).toBe(true);
  });
});

describe("conditions", () => {
  const hostIs = (host: string): Condition => ({ kind: "key", key: "host", matcher: { op: "equals", value: host } });
  const pathUnder = (p: string): Condition => ({ kind: "key", key: "req.path", matcher: { op: "prefix", value: p } });

  it("combine keys with all, any and not", () => {
    const test = when({
      kind: "all",
      of: [
        { kind: "any", of: [hostIs("a.com"), hostIs("b.com")] },
        { kind: "not", of: pathUnder("/private") },
      ],
    });
    expect(test({ host: "a.com", "req.path": "/x" })).toBe(true);
    expect(test({ host: "b.com", "req.path": "/x" })).toBe(true);
    expect(test({ host: "b.com", "req.path": "/private/x" })).toBe(false);
    expect(test({ host: "c.com", "req.path": "/x" })).toBe(false);
    // A missing req.path: the prefix fails, so the not holds.
    expect(test({ host: "a.com" })).toBe(true);
  });

  it("a not over a missing key's condition holds", () => {
    expect(when({ kind: "not", of: hostIs("a.com") })({})).toBe(true);
  });

  it("empty any is false and empty all is true", () => {
    expect(when({ kind: "any", of: [] })({})).toBe(false);
    expect(when({ kind: "all", of: [] })({})).toBe(true);
  });
});

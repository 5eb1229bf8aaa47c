import { describe, expect, it } from "vitest";
import { parseRouteMatch } from "../../src/config/target.ts";
import type { RouteConfig } from "../../src/config/model.ts";
import { normalizeHost, RouteTable } from "../../src/flow/route.ts";

/** Routes as the CLI writes them: MATCH=POOL. */
function table(...specs: string[]): RouteTable {
  const routes: RouteConfig[] = specs.map((s) => {
    const [raw, pool] = s.split("=");
    return { raw, match: parseRouteMatch(raw), pool };
  });
  return new RouteTable(routes);
}

const poolOf = (r: RouteConfig | null) => r?.pool ?? null;

describe("normalizeHost", () => {
  it.each([
    ["API.Example.com", "api.example.com"],
    ["api.example.com.", "api.example.com"],
    ["api.example.com:8443", "api.example.com"],
    ["Api.Example.Com.:80", "api.example.com"],
    ["[::1]:8080", "::1"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["127.0.0.1:80", "127.0.0.1"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeHost(input)).toBe(expected);
  });
});

describe("RouteTable", () => {
  const t = table(
    "api.example.com=exact",
    "api.example.com/v1=exact-v1",
    "api.example.com/v1/admin=exact-admin",
    "*.example.com=wild",
    "*.eu.example.com=wild-eu",
    "*.example.com/static=wild-static",
    "*=default",
  );

  it("prefers the exact host over every wildcard", () => {
    expect(poolOf(t.matchConnection("api.example.com"))).toBe("exact");
  });

  it("prefers the longest wildcard suffix", () => {
    expect(poolOf(t.matchConnection("a.eu.example.com"))).toBe("wild-eu");
    expect(poolOf(t.matchConnection("a.us.example.com"))).toBe("wild");
    expect(poolOf(t.matchConnection("deep.a.b.example.com"))).toBe("wild");
  });

  it("does not let *.example.com match example.com itself", () => {
    expect(poolOf(t.matchConnection("example.com"))).toBe("default");
  });

  it("falls back to * for unknown hosts and for no host at all", () => {
    expect(poolOf(t.matchConnection("other.test"))).toBe("default");
    expect(poolOf(t.matchConnection(null))).toBe("default");
  });

  it("compares hosts case-insensitively, without port or trailing dot", () => {
    expect(poolOf(t.matchConnection("API.EXAMPLE.COM."))).toBe("exact");
    expect(poolOf(t.matchRequest("Api.Example.com:8080", "/"))).toBe("exact");
  });

  it("takes the longest path prefix within a host", () => {
    expect(poolOf(t.matchRequest("api.example.com", "/v1/admin/users"))).toBe("exact-admin");
    expect(poolOf(t.matchRequest("api.example.com", "/v1/users"))).toBe("exact-v1");
    expect(poolOf(t.matchRequest("api.example.com", "/v2"))).toBe("exact");
    expect(poolOf(t.matchRequest("x.example.com", "/static/app.js"))).toBe("wild-static");
    expect(poolOf(t.matchRequest("x.example.com", "/index.html"))).toBe("wild");
  });

  it("ignores path routes for whole connections (TLS passthrough has no path)", () => {
    const onlyPaths = table("api.example.com/v1=v1", "*=default");
    expect(poolOf(onlyPaths.matchConnection("api.example.com"))).toBe("default");
  });

  it("falls through to a less specific host when no path prefix of the host fits", () => {
    const t2 = table("api.example.com/v1=v1", "*.example.com=wild", "*=default");
    expect(poolOf(t2.matchRequest("api.example.com", "/v1/x"))).toBe("v1");
    expect(poolOf(t2.matchRequest("api.example.com", "/other"))).toBe("wild");
  });

  it("answers null when nothing matches and there is no *", () => {
    const t3 = table("a.test=a", "*.b.test=b");
    expect(t3.matchConnection("c.test")).toBeNull();
    expect(t3.matchConnection(null)).toBeNull();
    expect(t3.matchRequest("c.test", "/")).toBeNull();
    expect(t3.hasCatchAll).toBe(false);
    expect(poolOf(t3.matchRequest("x.b.test", "/"))).toBe("b");
  });

  it("keeps the first of two identical routes, as given", () => {
    const t4 = table("a.test=first", "a.test=second");
    expect(poolOf(t4.matchConnection("a.test"))).toBe("first");
  });
});

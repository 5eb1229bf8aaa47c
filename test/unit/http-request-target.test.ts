import { describe, expect, it } from "vitest";
import { normalizePath, parseTarget, type RequestTarget, TargetMemo } from "../../src/http/request-target.ts";
import { parseRequestHead, type RequestHead } from "../../src/detect/http-head.ts";

function head(method: string, target: string, host = "a.test"): RequestHead {
  const r = parseRequestHead(new TextEncoder().encode(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
  if (r.status !== "ok") throw new Error(`test head did not parse: ${JSON.stringify(r)}`);
  return r.head;
}

function target(method: string, t: string, slashes: "reject" | "keep" = "reject"): RequestTarget {
  const r = parseTarget(head(method, t), slashes);
  if ("error" in r) throw new Error(`${t}: ${r.reason}`);
  return r;
}

function refusal(method: string, t: string): string {
  const r = parseTarget(head(method, t), "reject");
  if (!("error" in r)) throw new Error(`${t} was taken as ${JSON.stringify(r)}`);
  expect(r.error).toBe(400);
  return r.reason;
}

describe("normalizePath", () => {
  it("removes dot segments as RFC 3986 §5.2.4 does", () => {
    expect(normalizePath("/a/b/c/./../../g")).toBe("/a/g");
    expect(normalizePath("/mid/content=5/../6")).toBe("/mid/6");
    expect(normalizePath("/a/b/..")).toBe("/a/");
    expect(normalizePath("/a/b/.")).toBe("/a/b/");
    expect(normalizePath("/..")).toBe("/");
    expect(normalizePath("/../../x")).toBe("/x");
  });

  it("merges duplicate slashes and keeps a trailing one", () => {
    expect(normalizePath("//a///b//")).toBe("/a/b/");
    expect(normalizePath("/")).toBe("/");
    expect(normalizePath("//")).toBe("/");
  });

  it("decodes percent-encoded unreserved bytes and upper-cases other escapes", () => {
    expect(normalizePath("/%61%62%7e%2D%5f%2e%30")).toBe("/ab~-_.0");
    expect(normalizePath("/a%20b%3f%c3%a9")).toBe("/a%20b%3F%C3%A9");
    // Decoding comes before dot removal: "%2e%2e" is "..".
    expect(normalizePath("/a/%2e%2E/b")).toBe("/b");
    expect(normalizePath("/a/.%2e/b")).toBe("/b");
  });

  it("refuses encoded slashes and backslashes, or keeps them as data", () => {
    expect(normalizePath("/a%2Fb")).toEqual({ error: 400, reason: "ambiguous path: encoded slash" });
    expect(normalizePath("/a%5cb")).toEqual({ error: 400, reason: "ambiguous path: encoded slash" });
    expect(normalizePath("/a\\b")).toEqual({ error: 400, reason: "ambiguous path: backslash" });
    expect(normalizePath("/a%2fb/../c", "keep")).toBe("/c");
    expect(normalizePath("/a%2fb/c", "keep")).toBe("/a%2Fb/c");
  });

  it("refuses bad escapes, an encoded NUL, and dot segments with parameters", () => {
    expect(normalizePath("/%")).toEqual({ error: 400, reason: "invalid percent-encoding in path" });
    expect(normalizePath("/%4")).toEqual({ error: 400, reason: "invalid percent-encoding in path" });
    expect(normalizePath("/%g0")).toEqual({ error: 400, reason: "invalid percent-encoding in path" });
    expect(normalizePath("/%00")).toEqual({ error: 400, reason: "encoded NUL in path" });
    expect(normalizePath("/..;/admin")).toEqual({ error: 400, reason: "ambiguous path: dot segment with parameters" });
    expect(normalizePath("/x/.;a=b/y")).toEqual({ error: 400, reason: "ambiguous path: dot segment with parameters" });
    // Parameters on an ordinary segment are data.
    expect(normalizePath("/x;jsessionid=1/y")).toBe("/x;jsessionid=1/y");
  });
});

describe("parseTarget", () => {
  it("passes the usual origin-form target through untouched", () => {
    const t = target("GET", "/api/v1/users?id=3&x=/../y");
    expect(t).toEqual({
      host: "a.test",
      path: "/api/v1/users",
      query: "id=3&x=/../y",
      forward: "/api/v1/users?id=3&x=/../y",
      authority: null,
    });
  });

  it("forwards the normalised form of a path that needed it, with the query as received", () => {
    const t = target("GET", "/a//b/../c?q=%2F");
    expect(t.path).toBe("/a/c");
    expect(t.forward).toBe("/a/c?q=%2F");
    expect(target("GET", "/a/./b?").forward).toBe("/a/b?");
  });

  it("takes the host of an absolute-form target, any scheme case, and forwards origin form", () => {
    const t = target("GET", "HTTPS://Api.Example.COM:8443/x/../y?z=1");
    expect(t).toEqual({
      host: "api.example.com",
      path: "/y",
      query: "z=1",
      forward: "/y?z=1",
      authority: "Api.Example.COM:8443",
    });
    expect(target("GET", "http://b.test").forward).toBe("/");
    expect(target("GET", "http://b.test?x").forward).toBe("/?x");
    expect(target("GET", "http://[::1]:80/").host).toBe("[::1]");
  });

  it("refuses what a target could read another way", () => {
    expect(refusal("GET", "admin")).toBe("request-target must begin with / or http://");
    expect(refusal("GET", "%2Fadmin")).toBe("request-target must begin with / or http://");
    expect(refusal("GET", "http://user@b.test/")).toBe("userinfo in request-target");
    expect(refusal("GET", "http:///x")).toBe("invalid authority in request-target");
    expect(refusal("GET", "ftp://b.test/")).toBe("request-target must begin with / or http://");
    expect(refusal("GET", "/a#frag")).toBe("fragment in request-target");
    expect(refusal("GET", "*")).toBe("asterisk-form target is only for OPTIONS");
  });

  it("takes OPTIONS * and CONNECT host:port", () => {
    expect(target("OPTIONS", "*").path).toBe("*");
    const c = target("CONNECT", "Db.Example:5432");
    expect([c.host, c.authority, c.forward]).toEqual(["db.example", "Db.Example:5432", "Db.Example:5432"]);
    expect(refusal("CONNECT", "db.example")).toBe("CONNECT needs a host:port target");
    expect(refusal("CONNECT", "u@db.example:1")).toBe("CONNECT needs a host:port target");
  });
});

describe("TargetMemo", () => {
  it("gives the same target again for the same origin-form target and Host, and parses anything else anew", () => {
    const memo = new TargetMemo();
    const first = memo.parse(head("GET", "/a/../b?q=1"), "reject");
    expect(first).toEqual(parseTarget(head("GET", "/a/../b?q=1"), "reject"));
    expect(memo.parse(head("GET", "/a/../b?q=1"), "reject")).toBe(first);
    // Another Host, another path, an absolute-form target: each parsed for itself.
    const other = memo.parse(head("GET", "/a/../b?q=1", "b.test"), "reject") as RequestTarget;
    expect(other).not.toBe(first);
    expect(other.host).toBe("b.test");
    expect((memo.parse(head("GET", "/c"), "reject") as RequestTarget).path).toBe("/c");
    const absolute = memo.parse(head("GET", "http://x.test/d"), "reject") as RequestTarget;
    expect([absolute.host, absolute.path]).toEqual(["x.test", "/d"]);
    expect(memo.parse(head("GET", "http://x.test/d"), "reject")).not.toBe(absolute);
    // A refused target is refused every time, and does not replace the last good one.
    const good = memo.parse(head("GET", "/e"), "reject");
    expect(memo.parse(head("GET", "/%2Fe"), "reject")).toHaveProperty("error", 400);
    expect(memo.parse(head("GET", "/%2Fe"), "reject")).toHaveProperty("error", 400);
    expect(memo.parse(head("GET", "/e"), "reject")).toBe(good);
  });
});

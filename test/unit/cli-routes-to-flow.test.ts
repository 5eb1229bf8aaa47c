/**
 * `--route` promises "the most specific match wins"; the CLI keeps that promise by
 * ordering the flow it builds. These run the real flow engine over those rules.
 */
import { describe, expect, it } from "vitest";
import { parseRouteMatch } from "../../src/config/target.ts";
import type { RouteConfig } from "../../src/config/model.ts";
import { routesToFlow } from "../../src/cli/routes-to-flow.ts";
import { compileFlow } from "../../src/flow/flow.ts";
import { inputOf } from "../../src/flow/input.ts";
import { silentLogger } from "../../src/telemetry/logger.ts";

/** Routes as the CLI writes them (MATCH=POOL), as a matcher over host and path. */
function table(...specs: string[]) {
  const routes: RouteConfig[] = specs.map((s) => {
    const [raw, pool] = s.split("=");
    return { raw, match: parseRouteMatch(raw), pool };
  });
  const flow = compileFlow(routesToFlow(routes), { log: silentLogger });
  const run = (values: Record<string, string | undefined>) => {
    const o = flow.runSync(inputOf(values)).outcome;
    return o.kind === "proxy" ? o.pool : null;
  };
  return {
    /** A TLS connection by SNI (null: raw TCP): only `host` is known. */
    connection: (host: string | null) => run({ host: host ?? undefined, "tls.sni": host ?? undefined }),
    request: (host: string, path: string) => run({ host, "req.host": host, "req.path": path }),
  };
}

describe("--route as a flow", () => {
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
    expect(t.connection("api.example.com")).toBe("exact");
  });

  it("prefers the longest wildcard suffix", () => {
    expect(t.connection("a.eu.example.com")).toBe("wild-eu");
    expect(t.connection("a.us.example.com")).toBe("wild");
    expect(t.connection("deep.a.b.example.com")).toBe("wild");
  });

  it("does not let *.example.com match example.com itself", () => {
    expect(t.connection("example.com")).toBe("default");
  });

  it("falls back to * for unknown hosts and for no host at all", () => {
    expect(t.connection("other.test")).toBe("default");
    expect(t.connection(null)).toBe("default");
  });

  it("matches a route written in capitals against the normalised host", () => {
    expect(table("API.Example.COM=a", "*=d").request("api.example.com", "/")).toBe("a");
  });

  it("takes the longest path prefix within a host", () => {
    expect(t.request("api.example.com", "/v1/admin/users")).toBe("exact-admin");
    expect(t.request("api.example.com", "/v1/users")).toBe("exact-v1");
    expect(t.request("api.example.com", "/v2")).toBe("exact");
    expect(t.request("x.example.com", "/static/app.js")).toBe("wild-static");
    expect(t.request("x.example.com", "/index.html")).toBe("wild");
  });

  it("ignores path routes for whole connections (TLS passthrough has no path)", () => {
    expect(table("api.example.com/v1=v1", "*=default").connection("api.example.com")).toBe("default");
  });

  it("falls through to a less specific host when no path prefix of the host fits", () => {
    const t2 = table("api.example.com/v1=v1", "*.example.com=wild", "*=default");
    expect(t2.request("api.example.com", "/v1/x")).toBe("v1");
    expect(t2.request("api.example.com", "/other")).toBe("wild");
  });

  it("matches nothing when no route fits and there is no *", () => {
    const t3 = table("a.test=a", "*.b.test=b");
    expect(t3.connection("c.test")).toBeNull();
    expect(t3.connection(null)).toBeNull();
    expect(t3.request("c.test", "/")).toBeNull();
    expect(t3.request("x.b.test", "/")).toBe("b");
  });

  it("keeps the first of two identical routes, as given", () => {
    expect(table("a.test=first", "a.test=second").connection("a.test")).toBe("first");
  });

  it("asks for detection only when some route names a host", () => {
    const flow = (...specs: string[]) =>
      compileFlow(
        routesToFlow(specs.map((s) => ({ raw: s, match: parseRouteMatch(s), pool: "p" }))),
        { log: silentLogger },
      );
    expect(flow("*").needsDetection).toBe(false);
    expect(flow("a.test", "*").needsDetection).toBe(true);
  });
});

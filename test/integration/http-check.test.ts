/**
 * The active HTTP check against real node:http servers on loopback (node:http runs
 * the same on Deno and Bun): status judged against the range, the request it sends,
 * one deadline, and the failures worded the way the status page shows them.
 */
import { afterAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseEndpoint } from "../../src/config/target.ts";
import { httpCheck, type HttpCheckOptions } from "../../src/health/http-check.ts";
import { DnsCache, type DnsLookup } from "../../src/resolve/dns-cache.ts";
import { StaticNodeRegistry, TargetResolver } from "../../src/resolve/resolver.ts";
import { runtime } from "../../src/runtime/mod.ts";
import type { DnsAnswer } from "../../src/runtime/types.ts";
import { closeAll, freePort, startServer } from "../helpers/net.ts";

/** In-memory DNS: name -> A answers; no AAAA, no hosts file. */
const zone = new Map<string, DnsAnswer[]>([["web.internal", [{ address: "127.0.0.1", ttl: 60 }]]]);
const lookup: DnsLookup = (name, type) => {
  if (type === "AAAA") return Promise.resolve([]);
  const answers = zone.get(name);
  return answers ? Promise.resolve(answers) : Promise.reject(new Error(`dns A ${name}: ENOTFOUND`));
};
const resolver = new TargetResolver(new DnsCache(lookup, new Map()), new StaticNodeRegistry({}));

const httpServers: http.Server[] = [];
afterAll(async () => {
  await closeAll();
  await Promise.all(httpServers.map((s) => {
    s.closeAllConnections?.();
    return new Promise<void>((done) => s.close(() => done()));
  }));
});

interface Seen {
  url: string;
  host: string | undefined;
  userAgent: string | undefined;
}

/** An HTTP server answering `status`; records what each request looked like. */
async function serve(status: number, extra: http.OutgoingHttpHeaders = {}): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host, userAgent: req.headers["user-agent"] });
    res.writeHead(status, extra);
    res.end("body");
  });
  const port = await listen(server);
  return { port, seen };
}

/** An HTTP server that reads the request and never answers. */
function silent(): Promise<number> {
  return listen(http.createServer(() => {}));
}

function listen(server: http.Server): Promise<number> {
  httpServers.push(server);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
  });
}

function opts(port: number, more: Partial<HttpCheckOptions> = {}): HttpCheckOptions {
  return { path: "/healthz", expect: [200, 399], timeoutMs: 2000, hostHeader: `127.0.0.1:${port}`, ...more };
}

const check = (target: string, o: HttpCheckOptions) => httpCheck(runtime(), resolver, parseEndpoint(target), o);

describe("httpCheck", () => {
  it("passes on 200 with the latency to the head and the address", async () => {
    const { port } = await serve(200);
    const outcome = await check(`127.0.0.1:${port}`, opts(port));
    expect(outcome).toMatchObject({ ok: true, address: `127.0.0.1:${port}` });
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.latencyMs).toBeGreaterThan(0);
    expect(outcome.latencyMs).toBeLessThan(2000);
  });

  it("fails on a status outside the range", async () => {
    const { port } = await serve(503);
    const outcome = await check(`127.0.0.1:${port}`, opts(port));
    expect(outcome).toEqual({ ok: false, reason: "HTTP 503", address: `127.0.0.1:${port}` });
  });

  it("passes a 503 when the expected range includes it", async () => {
    const { port } = await serve(503);
    const outcome = await check(`127.0.0.1:${port}`, opts(port, { expect: [500, 503] }));
    expect(outcome.ok).toBe(true);
  });

  it("passes a 302 redirect with the default range, without following it", async () => {
    const { port, seen } = await serve(302, { location: "/elsewhere" });
    const outcome = await check(`127.0.0.1:${port}`, opts(port));
    expect(outcome.ok).toBe(true);
    expect(seen.map((s) => s.url)).toEqual(["/healthz"]);
  });

  it("fails a 200 when the range is narrower", async () => {
    const { port } = await serve(200);
    const outcome = await check(`127.0.0.1:${port}`, opts(port, { expect: [204, 204] }));
    expect(outcome).toMatchObject({ ok: false, reason: "HTTP 200" });
  });

  it("sends the configured path, Host and User-Agent", async () => {
    const { port, seen } = await serve(200);
    await check(`127.0.0.1:${port}`, opts(port, { path: "/status/ready?deep=1" }));
    expect(seen).toEqual([{ url: "/status/ready?deep=1", host: `127.0.0.1:${port}`, userAgent: "vane-health" }]);
  });

  it("resolves a DNS target and sends its name as Host", async () => {
    const { port, seen } = await serve(204);
    const outcome = await check(`web.internal:${port}`, opts(port, { hostHeader: "web.internal" }));
    expect(outcome).toMatchObject({ ok: true, address: `127.0.0.1:${port}` });
    expect(seen.map((s) => s.host)).toEqual(["web.internal"]);
  });

  it("times out on a server that accepts but never answers", async () => {
    const port = await silent();
    const outcome = await check(`127.0.0.1:${port}`, opts(port, { timeoutMs: 300 }));
    expect(outcome).toEqual({ ok: false, reason: "timeout after 300ms", address: `127.0.0.1:${port}` });
  });

  it("reports a response that is not HTTP as a bad response", async () => {
    const server = await startServer((s) => {
      s.on("data", () => {});
      s.end("SSH-2.0-OpenSSH_9.6\r\n");
    });
    const outcome = await check(`127.0.0.1:${server.port}`, opts(server.port));
    expect(outcome).toEqual({
      ok: false,
      reason: "bad response: malformed status line",
      address: `127.0.0.1:${server.port}`,
    });
  });

  it("reports a connection closed before any answer as a bad response", async () => {
    const server = await startServer((s) => {
      s.on("data", () => s.end());
    });
    const outcome = await check(`127.0.0.1:${server.port}`, opts(server.port));
    expect(outcome).toMatchObject({ ok: false, reason: "bad response: connection closed before the response head" });
  });

  it("skips a 1xx interim head and judges the final one", async () => {
    const server = await startServer((s) => {
      s.on(
        "data",
        () => s.end("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
      );
    });
    const outcome = await check(`127.0.0.1:${server.port}`, opts(server.port));
    expect(outcome.ok).toBe(true);
  });

  it("fails on a closed port with the connect error", async () => {
    const port = await freePort();
    const outcome = await check(`127.0.0.1:${port}`, opts(port));
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.address).toBe(`127.0.0.1:${port}`);
    expect(outcome.reason).toMatch(/refused|ECONNREFUSED/i);
  });

  it("fails without addresses for a name DNS does not know", async () => {
    const outcome = await check("nowhere.internal:80", opts(80, { hostHeader: "nowhere.internal" }));
    expect(outcome).toMatchObject({ ok: false, address: null });
  });
});

/**
 * The balancing strategies of issue 23 point 4 end to end: a vane process (one, or
 * --workers 2) in front of real node:http backends, driven by curl and wrk. leastconn
 * sends less to a slow target under concurrent load; hash:header:X-User keeps a user on
 * one target (across both workers) and spreads users; sticky:cookie keeps a curl cookie
 * jar on one target and, when that target dies, moves it and sets a new cookie.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/net.ts";
import { type Backend, curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving } from "../helpers/status.ts";
import { wrk, wrkRequests } from "../helpers/wrk.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-balance-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A backend that answers its name and a newline, after `delayMs`; `close`: no keep-alive. */
function named(name: string, delayMs = 0, close = false): Promise<Backend> {
  return startBackend((req, res) => {
    req.resume();
    if (close) res.setHeader("connection", "close");
    const answer = () => res.end(`${name}\n`);
    if (delayMs > 0) setTimeout(answer, delayMs);
    else answer();
  });
}

/** vane with these flags in front of `backends`; resolves with its listening port once `processes` serve. */
async function vane(backends: Backend[], flags: string[], processes = 1): Promise<number> {
  const statusPort = await freePort();
  const targets = backends.map((b) => `127.0.0.1:${b.port}`).join(",");
  const listen = ["--listen", "http://127.0.0.1:0", "--status", `127.0.0.1:${statusPort}`];
  spawnVane([...listen, "--route", `*=${targets}`, ...flags, "--workers", String(processes)]);
  const s = await serving(statusPort, processes);
  return Number(s.listeners[0].address.split(":").pop());
}

function counts(names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** `n` requests by one curl, each on a new connection (so --workers 2 spreads them), with `headers`. */
async function names(port: number, n: number, headers: string[]): Promise<string[]> {
  const urls = Array.from({ length: n }, () => `http://127.0.0.1:${port}/`);
  const r = await curl(["-H", "Connection: close", ...headers.flatMap((h) => ["-H", h]), ...urls]);
  expect(r.code).toBe(0);
  return r.stdout.toString().trim().split("\n");
}

describe("--strategy leastconn", () => {
  it(
    "sends a slow target far fewer requests than a fast one under 8 concurrent connections",
    { timeout: 30_000 },
    async () => {
      const fast = await named("fast");
      const slow = await named("slow", 200);
      const port = await vane([fast, slow], ["--strategy", "leastconn"]);
      const out = await wrk(["-t", "1", "-c", "8", "-d", "2s", `http://127.0.0.1:${port}/`]);
      expect(wrkRequests(out)).toBeGreaterThan(100);
      // serial would give each half; the slow one holds a request in flight most of the time.
      expect(slow.requests).toBeGreaterThan(0);
      expect(slow.requests * 10).toBeLessThan(fast.requests);
    },
  );
});

describe("--strategy hash:header:X-User", () => {
  it(
    "keeps each user on one target across 50 requests on both workers, and spreads users",
    { timeout: 30_000 },
    async () => {
      const backends = await Promise.all(["a", "b", "c"].map((n) => named(n)));
      const port = await vane(backends, ["--strategy", "hash:header:X-User"], 2);
      const home: string[] = [];
      for (const user of ["alice", "bob", "carol"]) {
        const seen = await names(port, 50, [`X-User: ${user}`]);
        expect(seen.length).toBe(50);
        expect(Object.keys(counts(seen))).toHaveLength(1);
        home.push(seen[0]);
      }
      // 30 users over 3 targets: every target has some (one in 3^30 chance to miss one).
      const spread: string[] = [];
      for (let i = 0; i < 30; i++) spread.push(...await names(port, 1, [`X-User: user-${i}`]));
      expect(Object.keys(counts(spread)).sort()).toEqual(["a", "b", "c"]);
      // Requests without the header are spread over every target too.
      expect(Object.keys(counts(await names(port, 30, []))).sort()).toEqual(["a", "b", "c"]);
      expect(home.length).toBe(3);
    },
  );
});

/** Requests with a curl cookie jar, each on a new connection: who answered, and the Set-Cookie fields seen. */
async function withJar(port: number, jar: string, n: number): Promise<{ names: string[]; cookies: string[] }> {
  const out = { names: [] as string[], cookies: [] as string[] };
  for (let i = 0; i < n; i++) {
    const r = await curl(["-i", "-b", jar, "-c", jar, "-H", "Connection: close", `http://127.0.0.1:${port}/`]);
    expect(r.code).toBe(0);
    const [head, body] = r.stdout.toString().split("\r\n\r\n");
    out.names.push(body.trim());
    for (const line of head.split("\r\n")) if (/^set-cookie:/i.test(line)) out.cookies.push(line.slice(11).trim());
  }
  return out;
}

describe("--strategy sticky:cookie:srv", () => {
  it("keeps a cookie jar on one target across both workers; when it dies, moves and sets a new cookie", {
    timeout: 30_000,
  }, async () => {
    const backends = await Promise.all(["a", "b", "c"].map((n) => named(n, 0, true)));
    const port = await vane(backends, ["--strategy", "sticky:cookie:srv"], 2);
    const jar = join(dir, "jar.txt");
    const first = await withJar(port, jar, 20);
    expect(Object.keys(counts(first.names))).toHaveLength(1);
    // One Set-Cookie, on the first answer only; the value is an opaque id, not the address.
    expect(first.cookies).toHaveLength(1);
    expect(first.cookies[0]).toMatch(/^srv=[0-9a-f]{8}; Path=\/; HttpOnly; SameSite=Lax$/);
    expect(readFileSync(jar, "utf8")).not.toContain(String(backends[0].port));

    const home = backends[["a", "b", "c"].indexOf(first.names[0])];
    await new Promise<void>((done) => home.server.close(() => done()));
    const after = await withJar(port, jar, 10);
    expect(after.names.every((n) => n !== first.names[0])).toBe(true);
    // Moved to one other target, with a new cookie naming it (each worker may set it once).
    expect(Object.keys(counts(after.names))).toHaveLength(1);
    expect(after.cookies.length).toBeGreaterThanOrEqual(1);
    expect(after.cookies.length).toBeLessThanOrEqual(2);
    expect(after.cookies[0]).not.toBe(first.cookies[0]);
  });

  it(
    "gives clients without a cookie different targets (the least loaded), each its own cookie",
    { timeout: 30_000 },
    async () => {
      const backends = await Promise.all(["a", "b", "c"].map((n) => named(n, 0, true)));
      const port = await vane(backends, ["--strategy", "sticky"]);
      const seen: string[] = [];
      const cookies = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const r = await withJar(port, join(dir, `jar-${i}.txt`), 3);
        expect(Object.keys(counts(r.names))).toHaveLength(1);
        expect(r.cookies).toHaveLength(1);
        seen.push(r.names[0]);
        cookies.add(r.cookies[0]);
      }
      expect(Object.keys(counts(seen)).sort()).toEqual(["a", "b", "c"]);
      expect(cookies.size).toBe(3);
      for (const c of cookies) expect(c).toMatch(/^vane_sticky=[0-9a-f]{8};/);
    },
  );
});

/**
 * Passive outlier ejection and retries with a budget (issue 23, point 5), with real vane
 * processes and real backends on loopback: what the backends receive, what clients get,
 * and what /status, /metrics and the log say.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type net from "node:net";
import { nodeServer, stopNodeServers } from "../helpers/node-server.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeAll, freePort } from "../helpers/net.ts";
import { type Backend, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { recordingBackend } from "../helpers/recording-backend.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { curlStatus } from "../helpers/http-engine.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";
import type { TargetStatus } from "../../src/control/snapshot.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-outlier-"));
afterEach(async () => {
  stopNodeServers();
  killAll();
  await stopAllHttp();
  await closeAll();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A backend that answers every request with `code`. */
const answering = (code: number): Promise<Backend> =>
  startBackend((req, res) => {
    req.resume();
    res.writeHead(code, { "content-type": "text/plain" });
    res.end(String(code));
  });

/** Reads each request head, then closes without a byte of an answer (a target killed mid-request). */
const resetting = () =>
  recordingBackend((_req, s: net.Socket) => {
    s.destroy();
    return null;
  });

const at = (b: { port: number }) => `127.0.0.1:${b.port}`;

interface Running {
  port: number;
  status: number;
  process: VaneProcess;
}

/** One vane process proxying http://127.0.0.1:PORT to pool `web` (`pool`: its YAML body lines). */
async function start(pool: string): Promise<Running> {
  const port = await freePort();
  const status = await freePort();
  const file = join(dir, `vane-${port}.yaml`);
  writeFileSync(
    file,
    `listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - proxy: web
pools:
  web:
    health: { check: tcp, interval: 1m }
${pool.replace(/^/gm, "    ")}
control:
  listen: 127.0.0.1:${status}
# One process: each worker judges its own traffic, and the counts below are one process's.
workers: 1
`,
  );
  const process = spawnVane(["run", file]);
  await serving(status, 1);
  return { port, status, process };
}

/** `n` GET requests one after another, each on its own connection; their statuses. */
async function statuses(v: Running, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${v.port}/`, { headers: { connection: "close" } });
    await res.arrayBuffer();
    out.push(res.status);
  }
  return out;
}

const tally = (list: number[]) => list.reduce<Record<number, number>>((t, c) => ({ ...t, [c]: (t[c] ?? 0) + 1 }), {});

async function target(v: Running, b: { port: number }): Promise<TargetStatus> {
  const found = (await statusOf(v.status)).pools.web.targets.find((t) => t.target === at(b));
  if (!found) throw new Error(`${at(b)} is not in /status`);
  return found;
}

const metricsOf = async (v: Running) => await (await fetch(`http://127.0.0.1:${v.status}/metrics`)).text();

describe("outlier ejection", () => {
  it("ejects a target answering 500 after N in a row: the healthy one serves all until it is back", async () => {
    const [bad, good] = [await answering(500), await answering(200)];
    const v = await start(`targets: [${at(bad)}, ${at(good)}]
outlier: { consecutive-5xx: 3, base-ejection: 2s }`);
    const first = await statuses(v, 16);
    // Round robin: the bad target's 3rd answer in a row ejects it; the rest go to the good one.
    expect(bad.requests).toBe(3);
    expect(good.requests).toBe(13);
    expect(tally(first)).toEqual({ 200: 13, 500: 3 });
    const out = await target(v, bad);
    expect(out).toMatchObject({ ejected: { reason: "5xx", count: 1 }, ejections: { "5xx": 1, resets: 0 } });
    expect(out.healthy).toBe(false);
    expect((await target(v, good)).ejected).toBeUndefined();
    const metrics = await metricsOf(v);
    expect(metrics).toContain(
      `vane_outlier_ejections_total{pool="web",target="${at(bad)}",role="primary",reason="5xx"} 1`,
    );
    expect(metrics).toContain(`vane_outlier_ejected{pool="web",target="${at(bad)}",role="primary"} 1`);
    expect(v.process.stderr()).toMatch(/target ejected.*3 consecutive 5xx/);
    // Back after its time (/status notices it), and given requests again.
    await waitFor("the bad target back", async () => (await target(v, bad)).ejected === undefined, 8_000);
    await statuses(v, 4);
    expect(bad.requests).toBe(5);
    expect(v.process.stderr()).toContain("target back from ejection");
  }, 20_000);

  it("keeps the max-ejected share serving when every target fails", async () => {
    const backends = [await answering(503), await answering(503), await answering(503), await answering(503)];
    const v = await start(`targets: [${backends.map(at).join(", ")}]
outlier: { consecutive-5xx: 2, base-ejection: 1m, max-ejected: 50% }`);
    const seen = await statuses(v, 24);
    expect(tally(seen)).toEqual({ 503: 24 });
    const shown = await Promise.all(backends.map((b) => target(v, b)));
    // Two of four out at most: the other two serve every request from then on.
    expect(shown.filter((t) => t.ejected !== undefined)).toHaveLength(2);
    const serving = backends.filter((_, i) => shown[i].ejected === undefined);
    const ejected = backends.filter((_, i) => shown[i].ejected !== undefined);
    expect(ejected.every((b) => b.requests === 2)).toBe(true);
    expect(serving.reduce((n, b) => n + b.requests, 0)).toBe(20);
  }, 20_000);
});

describe("retries with a budget", () => {
  const RESETS = `retry-on: [conn-failure, empty-response]
passive: off`;

  it("hides a resetting target's failures with a generous budget: each of its requests is retried", async () => {
    const [r, g] = [await resetting(), await answering(200)];
    const v = await start(`targets: [${at(r)}, ${at(g)}]
${RESETS}
retry-budget: 100%`);
    expect(tally(await statuses(v, 10))).toEqual({ 200: 10 });
    // Every request the resetting target failed went on to the good one (round robin gives it at least half).
    expect(r.requests.length).toBeGreaterThanOrEqual(5);
    expect(g.requests).toBe(10);
  }, 20_000);

  it("lets the failures reach the client with a budget of 0%, and counts the retries not made", async () => {
    const [r, g] = [await resetting(), await answering(200)];
    const v = await start(`targets: [${at(r)}, ${at(g)}]
${RESETS}
retry-budget: 0%
retry-budget-min: 0`);
    expect(tally(await statuses(v, 10))).toEqual({ 200: 5, 502: 5 });
    expect(r.requests).toHaveLength(5);
    expect(g.requests).toBe(5);
    expect(await metricsOf(v)).toContain(`vane_retries_skipped_total{pool="web",reason="budget"} 5`);
  }, 20_000);

  it("tries N+1 different targets with retries: N", async () => {
    const resets = [await resetting(), await resetting(), await resetting()];
    const g = await answering(200);
    const pool = (retries: number) =>
      `targets: [${[...resets, g].map(at).join(", ")}]
${RESETS}
retries: ${retries}
retry-backoff: 5ms`;
    // One retry: a request that meets two resetting targets fails.
    const one = await start(pool(1));
    const seen = await statuses(one, 8);
    expect(seen).toContain(502);
    killAll();
    // Three: every request reaches the good target, each resetting one tried at most once per request.
    const before = resets.map((r) => r.requests.length);
    const three = await start(pool(3));
    expect(tally(await statuses(three, 8))).toEqual({ 200: 8 });
    const hits = resets.map((r, i) => r.requests.length - before[i]);
    expect(hits.every((n) => n <= 8)).toBe(true);
    expect(g.requests - seen.filter((c) => c === 200).length).toBe(8);
  }, 20_000);
});

describe("retries of HTTP/1.1 requests to an h2c pool", () => {
  it("go to targets not tried yet, as many as retries: says, within the pool's budget", async () => {
    // Three targets that accept and reset (the stream never opens: a connection failure), one that answers.
    const resets = [await resetting(), await resetting(), await resetting()];
    const good = await h2cAnswering(200);
    const v = await start(`targets: [${[...resets.map(at), `127.0.0.1:${good}`].join(", ")}]
protocol: h2c
strategy: random
retry-on: [conn-failure, empty-response]
passive: off
retries: 3
retry-backoff: 5ms`);
    // Random picks would meet a resetting target again; a retry avoids those tried, so the
    // fourth try at the latest is the good one.
    expect(tally(await statuses(v, 12))).toEqual({ 200: 12 });
    expect((await target(v, { port: good })).requests).toBe(12);
  }, 30_000);
});

/** An h2c target (node:http2, its own process) answering every stream with `code`; resolves with its port. */
function h2cAnswering(code: number): Promise<number> {
  const script = `
const http2 = require("node:http2");
const s = http2.createServer((req, res) => { res.statusCode = ${code}; res.end("${code}"); });
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  return nodeServer({ code: script }).then((s) => s.port);
}

describe("outlier ejection of HTTP/2 streams", () => {
  it("ejects an h2c target answering 500 (--outlier on the command line): the other answers the rest", async () => {
    const [bad, good] = [await h2cAnswering(500), await h2cAnswering(200)];
    const port = await freePort();
    const status = await freePort();
    spawnVane([
      "--status",
      `127.0.0.1:${status}`,
      "--workers",
      "1",
      "--listen",
      `http://127.0.0.1:${port}`,
      "--route",
      `*=127.0.0.1:${bad},127.0.0.1:${good}`,
      "--protocol",
      "h2c",
      "--health-interval",
      "1m",
      "--outlier",
      "consecutive-5xx=3,base-ejection=1m",
    ]);
    await serving(status, 1);
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) {
      codes.push(await curlStatus(["--http2-prior-knowledge", `http://127.0.0.1:${port}/`]));
    }
    // Round robin: the bad target's third 500 in a row ejects it; the good one answers the rest.
    expect(codes.filter((c) => c === "500")).toHaveLength(3);
    expect(codes.filter((c) => c === "200")).toHaveLength(9);
    const targets = (await statusOf(status)).pools.default.targets;
    const shown = targets.find((t) => t.target === `127.0.0.1:${bad}`);
    expect(shown?.ejected).toMatchObject({ reason: "5xx", count: 1 });
    // Streams count at their target as HTTP/1.1 requests do (the dashboard's req/s and 5xx %).
    expect(shown).toMatchObject({ requests: 3, errors: 3 });
    expect(targets.find((t) => t.target === `127.0.0.1:${good}`)).toMatchObject({ requests: 9, errors: 0 });
  }, 20_000);
});

/**
 * Rate limits counted across the workers of one host: a real `vane --workers 2` with
 * a real backend admits about what one process admits (a burst of 10 of 40 requests,
 * each on a new connection so the kernel spreads them over both workers), not twice
 * that; a reload starts new counts; the same config in one process admits the same.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../helpers/net.ts";
import { type Backend, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-rate-"));
afterEach(async () => {
  killAll();
  await stopAllHttp();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts vane on a config file: every client address shares 10 tokens, one more each 6 s. */
async function start(backend: Backend, workers: number): Promise<{ port: number; status: number }> {
  const port = await freePort();
  const status = await freePort();
  const file = join(dir, `vane-${port}.yaml`);
  writeFileSync(
    file,
    `listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - rate-limit: { rate: 10/m, burst: 10, key: "{{conn.ip}}" }
      - proxy: [127.0.0.1:${backend.port}]
control:
  listen: 127.0.0.1:${status}
workers: ${workers}
`,
  );
  spawnVane(["run", file]);
  await serving(status, workers);
  return { port, status };
}

/** One GET on a connection of its own; its status (0: no answer). */
function getOnce(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: "127.0.0.1", port, path: "/", agent: false, headers: { connection: "close" } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", () => resolve(0));
  });
}

/** `n` requests, `parallel` at a time; how many got each status. */
async function burst(port: number, n: number, parallel: number): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  let left = n;
  const lane = async () => {
    while (left-- > 0) {
      const code = await getOnce(port);
      counts[code] = (counts[code] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return counts;
}

describe("rate-limit with --workers", () => {
  it("admits about one burst over both workers (not one per worker), the rest 429", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const v = await start(backend, 2);
    const counts = await burst(v.port, 40, 4);
    // Both workers served some of the requests: otherwise the test proves nothing.
    expect((await statusOf(v.status)).workers.map((w) => w.connections > 0)).toEqual([true, true]);
    // One bucket of 10 (a token more comes each 6 s); counted per worker it would be ~20.
    expect(counts[200]).toBeGreaterThanOrEqual(9);
    expect(counts[200]).toBeLessThanOrEqual(11);
    expect(counts[429]).toBe(40 - counts[200]);
    expect(backend.requests).toBe(counts[200]);
  }, 30000);

  it("starts new counts on a reload, as one process does", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const v = await start(backend, 2);
    expect((await burst(v.port, 20, 4))[200]).toBeLessThanOrEqual(11);
    // POST /reload answers once every worker serves the new generation.
    expect((await fetch(`http://127.0.0.1:${v.status}/reload`, { method: "POST" })).status).toBe(200);
    const after = await burst(v.port, 30, 4);
    expect(after[200]).toBeGreaterThanOrEqual(9);
    expect(after[200]).toBeLessThanOrEqual(11);
  }, 30000);

  it("admits the same in one process", async () => {
    const backend = await startBackend((_req, res) => res.end("ok"));
    const v = await start(backend, 1);
    const counts = await burst(v.port, 40, 4);
    expect(counts[200]).toBeGreaterThanOrEqual(10);
    expect(counts[200]).toBeLessThanOrEqual(11);
    expect(counts[429]).toBe(40 - counts[200]);
    expect(backend.requests).toBe(counts[200]);
  }, 30000);
});

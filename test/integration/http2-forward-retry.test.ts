/**
 * HTTP/2 clients' streams forwarded to a pool that speaks h2c get what HTTP/1.1
 * requests get: `timeouts.upstream` (a 504, counted as the target's timeout), the
 * pool's retries on `retry-on` (targets not tried yet, the budget), and a stream the
 * target refused sent again. Real processes: vane, curl --http2-prior-knowledge, and
 * node:http2 targets that answer, never answer, reset or refuse, each counting the
 * streams it saw.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeAll, freePort } from "../helpers/net.ts";
import { curl, curlStatus } from "../helpers/http-engine.ts";
import { nodeServer, stopNodeServers } from "../helpers/node-server.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import type { TargetStatus } from "../../src/control/snapshot.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-h2-retry-"));
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill("SIGKILL");
  stopNodeServers();
  killAll();
  await closeAll();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a target does with each stream. */
type Mode = "answer" | "silent" | "reset" | "refuse-first" | "stall-body" | "after-body";

interface H2Target {
  port: number;
  /** Streams it saw so far. */
  streams(): number;
  /** The RST_STREAM codes its streams closed with (0: closed cleanly), in order. */
  closes(): number[];
}

/** An h2c target (node:http2 in its own process) that prints a line per stream and per stream's close. */
async function h2cTarget(mode: Mode): Promise<H2Target> {
  const script = `
const http2 = require("node:http2");
const { NGHTTP2_INTERNAL_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;
let n = 0;
const s = http2.createServer();
s.on("stream", (st) => {
  n++;
  process.stdout.write("stream\\n");
  st.on("error", () => {}); // a stream closed with an error code (by either side) is this target's normal
  st.on("close", () => process.stdout.write("closed " + st.rstCode + "\\n"));
  if (${JSON.stringify(mode)} === "stall-body") {
    st.respond({ ":status": 200, "content-length": "10" });
    return st.write("12345"); // and never the rest
  }
  if (${JSON.stringify(mode)} === "after-body") {
    st.resume();
    // (A stream reset meanwhile ends too, destroyed: nothing to answer then.)
    return st.on("end", () => { if (!st.destroyed) { st.respond({ ":status": 200 }); st.end("ok"); } });
  }
  if (${JSON.stringify(mode)} === "silent") return;
  if (${JSON.stringify(mode)} === "reset") return st.close(NGHTTP2_INTERNAL_ERROR);
  if (${JSON.stringify(mode)} === "refuse-first" && n === 1) return st.close(NGHTTP2_REFUSED_STREAM);
  st.respond({ ":status": 200 });
  st.end("ok");
});
s.listen(0, "127.0.0.1", () => process.stdout.write(s.address().port + "\\n"));`;
  const server = await nodeServer({ code: script });
  return {
    port: server.port,
    streams: () => server.lines().filter((l) => l === "stream").length,
    closes: () => server.lines().filter((l) => l.startsWith("closed ")).map((l) => Number(l.slice(7))),
  };
}

interface Running {
  port: number;
  status: number;
}

/** vane proxying http://127.0.0.1:PORT to pool `web` of protocol h2c (`pool`: more YAML lines of it). */
async function start(targets: H2Target[], pool: string, upstream = "2s", body = "60s"): Promise<Running> {
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
    targets: [${targets.map((t) => `127.0.0.1:${t.port}`).join(", ")}]
    protocol: h2c
    health: { check: tcp, interval: 1m }
${pool.replace(/^/gm, "    ")}
control:
  listen: 127.0.0.1:${status}
timeouts: { upstream: ${upstream}, body: ${body} }
workers: 1
`,
  );
  spawnVane(["run", file]);
  await serving(status, 1);
  return { port, status };
}

/** One HTTP/2 request (prior knowledge, a connection of its own): its status, "000" when none came. */
function h2(v: Running, method = "GET", maxTime = 8): Promise<string> {
  return curlStatus([
    "--http2-prior-knowledge",
    "--max-time",
    String(maxTime),
    "-X",
    method,
    `http://127.0.0.1:${v.port}/`,
  ]);
}

async function codes(v: Running, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await h2(v));
  return out;
}

async function statusOfTarget(v: Running, t: H2Target): Promise<TargetStatus> {
  const found = (await statusOf(v.status)).pools.web.targets.find((s) => s.target === `127.0.0.1:${t.port}`);
  if (!found) throw new Error(`127.0.0.1:${t.port} is not in /status`);
  return found;
}

const metricsOf = async (v: Running) => await (await fetch(`http://127.0.0.1:${v.status}/metrics`)).text();

describe("timeouts.upstream for HTTP/2 streams to an h2c pool", () => {
  it("answers 504 when the target never answers, and counts it as the target's timeout", async () => {
    const silent = await h2cTarget("silent");
    const v = await start([silent], "passive: { on: [timeout] }", "500ms");
    expect(await h2(v)).toBe("504");
    expect(silent.streams()).toBe(1);
    const shown = await statusOfTarget(v, silent);
    expect(shown.lastError).toBe("no response within 500ms");
    // passive `on: [timeout]` took it out: the failure was counted as a timeout, not a reset.
    expect(shown.healthy).toBe(false);
  }, 20_000);

  it("goes on to another target after the timeout when retry-on has response-timeout", async () => {
    const [silent, good] = [await h2cTarget("silent"), await h2cTarget("answer")];
    const v = await start([silent, good], "strategy: serial\nretry-on: [response-timeout]\npassive: off", "300ms");
    expect(await codes(v, 3)).toEqual(["200", "200", "200"]);
    // The silent one was picked (serial takes the targets in turn), and each of its streams
    // timed out and went on: the good one answered all three.
    expect(silent.streams()).toBeGreaterThanOrEqual(1);
    expect(good.streams()).toBe(3);
  }, 20_000);

  it("does not count a client that leaves against the target", async () => {
    const silent = await h2cTarget("silent");
    const v = await start([silent], "passive: { failures: 1 }", "30s");
    expect(await h2(v, "GET", 1)).toBe("000");
    // The stream was cancelled because the client went (give vane a moment to see the
    // connection close); the target is still in service.
    await new Promise((r) => setTimeout(r, 300));
    const shown = await statusOfTarget(v, silent);
    expect(silent.streams()).toBe(1);
    expect(shown.healthy).toBe(true);
    expect(shown.lastError ?? null).toBeNull();
  }, 20_000);
});

describe("retries of HTTP/2 streams to an h2c pool", () => {
  const RESETS = "retry-on: [conn-failure, empty-response]\npassive: off";

  it("go to targets not tried yet, as many as retries: says", async () => {
    const resets = [await h2cTarget("reset"), await h2cTarget("reset"), await h2cTarget("reset")];
    const good = await h2cTarget("answer");
    const v = await start([...resets, good], `strategy: random\n${RESETS}\nretries: 3\nretry-backoff: 5ms`);
    // Random picks meet resetting targets; a retry avoids those tried, so the fourth try at the latest is good.
    expect(await codes(v, 12)).toEqual(Array(12).fill("200"));
    expect(good.streams()).toBe(12);
    // No resetting target saw a request twice: at most one stream per request each.
    for (const r of resets) expect(r.streams()).toBeLessThanOrEqual(12);
  }, 30_000);

  it("send a GET again after a reset, not a POST (the target may have acted on it)", async () => {
    const [reset, good] = [await h2cTarget("reset"), await h2cTarget("answer")];
    const v = await start([reset, good], `strategy: serial\n${RESETS}`);
    // serial takes the targets in turn: the POST and the second GET meet the resetting one.
    expect(await h2(v, "POST")).toBe("502");
    expect(await h2(v, "GET")).toBe("200");
    expect(await h2(v, "GET")).toBe("200");
    expect(reset.streams()).toBe(2);
    expect(good.streams()).toBe(2);
  }, 20_000);

  it("let the failures reach the client when the budget is spent, and count the retries not made", async () => {
    const [reset, good] = [await h2cTarget("reset"), await h2cTarget("answer")];
    const v = await start([reset, good], `strategy: serial\n${RESETS}\nretry-budget: 0%\nretry-budget-min: 0`);
    // In turn: every request that meets the resetting target gets its 502.
    expect(await codes(v, 4)).toEqual(["502", "200", "502", "200"]);
    expect(reset.streams()).toBe(2);
    expect(good.streams()).toBe(2);
    expect(await metricsOf(v)).toContain(`vane_retries_skipped_total{pool="web",reason="budget"} 2`);
  }, 20_000);

  it("send a stream the target refused (REFUSED_STREAM) again once, even with retry-on: none", async () => {
    const refusing = await h2cTarget("refuse-first");
    const v = await start([refusing], "retry-on: none\npassive: off");
    expect(await h2(v)).toBe("200");
    expect(refusing.streams()).toBe(2);
    // A refused stream is not the target's failure.
    expect((await statusOfTarget(v, refusing)).lastError ?? null).toBeNull();
  }, 20_000);
});

/**
 * A POST of content-length 10 whose body stops after 5 bytes, from node:http2 in a
 * process of its own: the status it got, or "none" when its stream ended without one.
 */
function stalledPost(v: Running): Promise<string> {
  const script = `
const http2 = require("node:http2");
const c = http2.connect("http://127.0.0.1:${v.port}");
const r = c.request({ ":method": "POST", ":path": "/", "content-length": "10" });
r.write("12345");
let status = "none";
r.on("response", (h) => { status = String(h[":status"]); });
r.on("error", () => {});
r.on("close", () => { console.log(status); c.close(); });
r.resume();`;
  return new Promise((resolve, reject) => {
    const child = spawn("node", ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    child.stdout!.on("data", (d) => (out += String(d)));
    child.once("close", () => resolve(out.trim()));
    child.once("error", reject);
  });
}

const waitUntil = async (what: string, ok: () => boolean) => {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`timed out waiting for ${what}`);
};

describe("timeouts.body for HTTP/2 streams to an h2c pool", () => {
  it("cuts an answer whose body stops: the client's stream is reset, the target's cancelled", async () => {
    const stalling = await h2cTarget("stall-body");
    const v = await start([stalling], "passive: off", "2s", "500ms");
    const r = await curl(["--http2-prior-knowledge", "--max-time", "8", `http://127.0.0.1:${v.port}/`]);
    // 92: an HTTP/2 stream error (not 28, curl's own timeout): the 5 bytes came, then the reset.
    expect(r.code).toBe(92);
    expect(r.stdout.toString()).toBe("12345");
    await waitUntil("the target's stream to close", () => stalling.closes().length === 1);
    expect(stalling.closes()).toEqual([8]); // CANCEL
  }, 20_000);

  it("answers 408 when the request body stops before the answer, and cancels the target's stream", async () => {
    const target = await h2cTarget("after-body");
    const v = await start([target], "passive: off", "10s", "500ms");
    expect(await stalledPost(v)).toBe("408");
    await waitUntil("the target's stream to close", () => target.closes().length === 1);
    expect(target.closes()).toEqual([8]);
    // The client's fault, not the target's.
    expect((await statusOfTarget(v, target)).lastError ?? null).toBeNull();
  }, 20_000);
});

describe("timeouts of HTTP/1.1 requests to an h2c pool", () => {
  it("count as the target's timeout (passive on: [timeout])", async () => {
    const silent = await h2cTarget("silent");
    const v = await start([silent], "passive: { on: [timeout] }", "500ms");
    expect(await curlStatus([`http://127.0.0.1:${v.port}/`])).toBe("504");
    const shown = await statusOfTarget(v, silent);
    expect(shown.lastError).toBe("no response within 500ms");
    expect(shown.healthy).toBe(false);
  }, 20_000);
});

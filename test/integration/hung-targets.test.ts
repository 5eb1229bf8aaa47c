/**
 * Targets that fail a request after accepting it (issue 18, points 5 and 6), with real
 * loopback servers: one that reads a request and never answers, one that closes after
 * reading the head, one that sends part of an answer. What a user sees is asserted: the
 * statuses, how many requests each server received, and what /status says.
 */
import { afterEach, describe, expect, it } from "vitest";
import type net from "node:net";
import { closeAll, freePort } from "../helpers/net.ts";
import { exchange } from "../helpers/raw-client.ts";
import { type RecordingBackend, recordingBackend } from "../helpers/recording-backend.ts";
import { startYaml, status, stopAllVanes, type TestVane } from "../helpers/vane.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});

/** Reads every request and never says a word. */
const hung = () => recordingBackend(() => "");
/** Reads the request head, then closes without a byte (a target killed mid-request). */
const closer = () =>
  recordingBackend((_req, s: net.Socket) => {
    s.end();
    return null;
  });
/** Sends the first line of an answer, then closes. */
const partial = () =>
  recordingBackend((_req, s: net.Socket) => {
    s.end("HTTP/1.1 200 OK\r\nContent-");
    return null;
  });
/** An interim answer (which vane passes on to the client), then a close. */
const hinter = () =>
  recordingBackend((_req, s: net.Socket) => {
    s.end("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n");
    return null;
  });
const good = () => recordingBackend();

const at = (b: { port: number }) => `127.0.0.1:${b.port}`;

/** vane with one HTTP listener proxying to pool `app` (given as a YAML flow map). */
function vane(pool: string, upstream = "300ms"): Promise<TestVane> {
  return startYaml(`listeners:
  - listen: http://127.0.0.1:0
    flow:
      - proxy: app
pools:
  app: ${pool}
control: { listen: 127.0.0.1:0 }
timeouts: { upstream: ${upstream} }
`);
}

/** One request on its own connection; the whole reply as text. */
async function ask(v: TestVane, method = "GET", body = ""): Promise<string> {
  const length = body || method === "POST" || method === "PUT" ? `Content-Length: ${body.length}\r\n` : "";
  const head = `${method} / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n${length}\r\n`;
  return (await exchange(v.port, head + body, { end: false })).toString("latin1");
}

/** The status of the (last) final answer in a reply. */
function code(reply: string): number {
  const all = [...reply.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
  return all.at(-1) ?? 0;
}

async function codes(v: TestVane, n: number, method = "GET"): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(code(await ask(v, method)));
  return out;
}

const tally = (list: number[]) => list.reduce<Record<number, number>>((t, c) => ({ ...t, [c]: (t[c] ?? 0) + 1 }), {});

async function targetIn(v: TestVane, b: RecordingBackend, role: "targets" | "fallback" = "targets") {
  const found = (await status(v)).pools.app[role].find((t) => t.target === at(b));
  if (!found) throw new Error(`${at(b)} is not among the pool's ${role} in /status`);
  return found;
}

// A check interval far beyond the test: whatever takes a target out here is passive.
const SLOW_CHECKS = "health: { check: tcp, interval: 1m }";

describe("targets that accept and never answer", () => {
  it("get requests only until `failures` timeouts in a row, then none; /status says why", async () => {
    const [h, g] = [await hung(), await good()];
    const v = await vane(`{ targets: [${at(h)}, ${at(g)}], ${SLOW_CHECKS}, passive: { failures: 2 } }`);
    const seen = await codes(v, 8);
    // The connects to the hung target work; only its silence counts, twice in a row.
    expect(h.requests).toHaveLength(2);
    expect(tally(seen)).toEqual({ 200: 6, 504: 2 });
    expect(g.requests).toHaveLength(6);
    const t = await targetIn(v, h);
    expect(t.healthy).toBe(false);
    expect(t.lastError).toBe("no response within 300ms");
    const down = v.logs.filter((l) => l.msg === "target down" && l.target === at(h));
    expect(down.map((l) => l.reason)).toEqual(["no response within 300ms"]);
  });

  it("stay in with passive.on leaving timeouts out, lastError saying why all the same", async () => {
    const [h, g] = [await hung(), await good()];
    const v = await vane(`{ targets: [${at(h)}, ${at(g)}], ${SLOW_CHECKS}, passive: { on: [connect, reset] } }`);
    const seen = await codes(v, 6);
    // Round robin: every other request waits out the timeout, as before.
    expect(h.requests).toHaveLength(3);
    expect(tally(seen)).toEqual({ 200: 3, 504: 3 });
    const t = await targetIn(v, h);
    expect(t.healthy).toBe(true);
    expect(t.lastError).toBe("no response within 300ms");
  });

  it("a target that closes after reading the head (killed mid-request) is taken out too", async () => {
    const [c, g] = [await closer(), await good()];
    const v = await vane(`{ targets: [${at(c)}, ${at(g)}], ${SLOW_CHECKS} }`);
    const seen = await codes(v, 6);
    expect(c.requests).toHaveLength(1);
    expect(tally(seen)).toEqual({ 200: 5, 502: 1 });
    const t = await targetIn(v, c);
    expect(t.healthy).toBe(false);
    expect(t.lastError).toBe("upstream closed before responding");
  });
});

describe("retry-on", () => {
  // passive: off keeps the failing target first in line, so every request meets it.
  const deadFirst = (dead: RecordingBackend, other: RecordingBackend, retryOn: string) =>
    `{ targets: [${at(dead)}], fallback: [${at(other)}], ${SLOW_CHECKS}, passive: off, retry-on: ${retryOn} }`;

  it("empty-response: a GET whose target closes before answering is answered by another target", async () => {
    const [c, g] = [await closer(), await good()];
    const v = await vane(deadFirst(c, g, "[conn-failure, empty-response]"));
    const seen = await codes(v, 4);
    expect(seen).toEqual([200, 200, 200, 200]);
    expect(c.requests).toHaveLength(4);
    expect(g.requests).toHaveLength(4);
    expect(g.requests.every((r) => r.line === "GET / HTTP/1.1")).toBe(true);
  });

  it("empty-response with passive health on: a dying target costs no client a failure and sees one request", async () => {
    const [c, g] = [await closer(), await good()];
    const v = await vane(`{ targets: [${at(c)}, ${at(g)}], ${SLOW_CHECKS}, retry-on: [conn-failure, empty-response] }`);
    expect(await codes(v, 6)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(c.requests).toHaveLength(1);
    expect(g.requests).toHaveLength(6);
    expect((await targetIn(v, c)).healthy).toBe(false);
  });

  it("without empty-response (the default) the same GET gets 502 and nothing reaches the other target", async () => {
    const [c, g] = [await closer(), await good()];
    const v = await vane(deadFirst(c, g, "conn-failure"));
    expect(await codes(v, 2)).toEqual([502, 502]);
    expect(c.requests).toHaveLength(2);
    expect(g.requests).toHaveLength(0);
  });

  it("never retries a POST or a request with a body: 502, and the other target receives nothing", async () => {
    const [c, g] = [await closer(), await good()];
    const v = await vane(deadFirst(c, g, "[conn-failure, empty-response, response-timeout]"));
    expect(code(await ask(v, "POST", "x=1"))).toBe(502);
    expect(code(await ask(v, "PUT", "x=1"))).toBe(502);
    expect(code(await ask(v, "DELETE", ""))).toBe(200);
    expect(c.requests.map((r) => r.method)).toEqual(["POST", "PUT", "DELETE"]);
    expect(g.requests.map((r) => r.method)).toEqual(["DELETE"]);
  });

  it("never retries once a response byte came back", async () => {
    const [p, g] = [await partial(), await good()];
    const v = await vane(deadFirst(p, g, "[empty-response, response-timeout]"));
    expect(await codes(v, 2)).toEqual([502, 502]);
    expect(p.requests).toHaveLength(2);
    expect(g.requests).toHaveLength(0);
  });

  it("never retries once the client got a byte (an interim answer passed on)", async () => {
    const [h, g] = [await hinter(), await good()];
    const v = await vane(deadFirst(h, g, "[empty-response, response-timeout]"));
    const reply = await ask(v);
    expect(reply.startsWith("HTTP/1.1 103 ")).toBe(true);
    expect(code(reply)).toBe(502);
    expect(g.requests).toHaveLength(0);
  });

  it("retries once only, on another target: two dead targets give 502, each having seen one request", async () => {
    const [c1, c2, g] = [await closer(), await closer(), await good()];
    const v = await vane(
      `{ targets: [${at(c1)}, ${at(c2)}], fallback: [${
        at(g)
      }], ${SLOW_CHECKS}, passive: off, retry-on: [empty-response] }`,
    );
    expect(code(await ask(v))).toBe(502);
    expect(c1.requests).toHaveLength(1);
    expect(c2.requests).toHaveLength(1);
    expect(g.requests).toHaveLength(0);
  });

  it("response-timeout: a GET to a silent target is answered by another one after the timeout", async () => {
    const [h, g] = [await hung(), await good()];
    const v = await vane(deadFirst(h, g, "[response-timeout]"));
    expect(await codes(v, 2)).toEqual([200, 200]);
    expect(h.requests).toHaveLength(2);
    expect(g.requests).toHaveLength(2);
    expect((await targetIn(v, h)).lastError).toBe("no response within 300ms");
  });

  it("none: a failed connect is the client's 502 instead of a try on the next target", async () => {
    const g = await good();
    const dead = `127.0.0.1:${await freePort()}`;
    // No checks: the dead target starts in service, and its failed connect benches it.
    const pool = (retryOn: string) =>
      `{ targets: [${dead}], fallback: [${at(g)}], health: { check: none, interval: 1m }, retry-on: ${retryOn} }`;
    const off = await vane(pool("none"));
    expect(await codes(off, 2)).toEqual([502, 200]);
    await off.stop();
    const on = await vane(pool("conn-failure"));
    expect(await codes(on, 2)).toEqual([200, 200]);
    expect(g.requests).toHaveLength(3);
  });
});

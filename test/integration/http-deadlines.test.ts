/**
 * Deadlines on every phase of an HTTP session, as a slow or stalling peer meets them:
 * raw bytes over node:net against vane (configured by its flags) in front of a
 * backend that records what it received and when its connections ended.
 */
import { afterEach, describe, expect, it } from "vitest";
import { closeAll, startServer } from "../helpers/net.ts";
import { collect, connect } from "../helpers/raw-client.ts";
import { recordingBackend } from "../helpers/recording-backend.ts";
import { startVane, stopAllVanes, type TestVane } from "../helpers/vane.ts";

afterEach(async () => {
  await stopAllVanes();
  await closeAll();
});

/** vane on an http:// listener from flags, with no health check (each test adds its routes and deadlines). */
const vane = (...flags: string[]): Promise<TestVane> =>
  startVane(["--health", "none", ...flags], { listen: "http://127.0.0.1:0" });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds, checking every 20 ms, for at most `ms`. */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}

const GET = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";

describe("request head deadline", () => {
  it("cuts a client trickling one header byte every 200 ms with 408 at the deadline, and the target sees nothing", async () => {
    const backend = await recordingBackend();
    const v = await vane("--route", `*=127.0.0.1:${backend.port}`, "--request-head-timeout", "1s");
    const s = await connect(v.port);
    const t0 = performance.now();
    const ended = collect(s);
    const head = "GET / HTTP/1.1\r\nHost: a.test\r\nX-Slow: " + "x".repeat(100) + "\r\n\r\n";
    let i = 0;
    const trickle = setInterval(() => {
      if (!s.destroyed && i < head.length) s.write(head[i++]);
    }, 200);
    try {
      const { text, at } = await ended;
      expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(text).toMatch(/\r\nConnection: close\r\n/i);
      // Not kept alive by each byte: cut at the whole head's deadline.
      expect(at - t0).toBeGreaterThanOrEqual(900);
      expect(at - t0).toBeLessThan(2500);
      expect(i).toBeLessThan(head.length);
    } finally {
      clearInterval(trickle);
    }
    expect(backend.requests).toHaveLength(0);
    expect(backend.accepted).toBe(0);
  });

  it("gives a later request its deadline from its first byte, after the keep-alive wait", async () => {
    const backend = await recordingBackend();
    const v = await vane(
      "--route",
      `*=127.0.0.1:${backend.port}`,
      "--request-head-timeout",
      "600ms",
      "--keep-alive-timeout",
      "5s",
    );
    const s = await connect(v.port);
    const got = collect(s);
    s.write(GET);
    await until(() => backend.requests.length === 1);
    // Longer than the head deadline in keep-alive silence: still open (keep-alive rules here).
    await sleep(800);
    const t1 = performance.now();
    s.write("GET /second HTTP/1.1\r\nHo");
    const { text, at } = await got;
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(["HTTP/1.1 200", "HTTP/1.1 408"]);
    expect(at - t1).toBeGreaterThanOrEqual(500);
    expect(at - t1).toBeLessThan(2000);
    expect(backend.requests.map((r) => r.target)).toEqual(["/"]);
  });

  it("closes a connection that never sends a byte at the first head's deadline, without a word", async () => {
    const backend = await recordingBackend();
    const v = await vane("--route", `*=127.0.0.1:${backend.port}`, "--request-head-timeout", "400ms");
    const s = await connect(v.port);
    const t0 = performance.now();
    const { text, at } = await collect(s);
    expect(text).toBe("");
    expect(at - t0).toBeGreaterThanOrEqual(300);
    expect(at - t0).toBeLessThan(2000);
  });

  it("counts a 408 like any answer of vane's", async () => {
    const backend = await recordingBackend();
    const v = await vane("--route", `*=127.0.0.1:${backend.port}`, "--request-head-timeout", "300ms");
    const s = await connect(v.port);
    const got = collect(s);
    s.write("GET / HTTP/1.1\r\n");
    expect((await got).text).toMatch(/^HTTP\/1\.1 408 /);
    const metrics = await (await fetch(`${v.statusUrl}/metrics`)).text();
    expect(metrics).toMatch(/code="408"[^\n]* 1\n/);
  });
});

describe("keep-alive deadline", () => {
  it("closes a kept-alive connection with no next request after --keep-alive-timeout, sending nothing more", async () => {
    const backend = await recordingBackend();
    const v = await vane("--route", `*=127.0.0.1:${backend.port}`, "--keep-alive-timeout", "500ms");
    const s = await connect(v.port);
    const got = collect(s);
    s.write(GET);
    await until(() => backend.requests.length === 1);
    const t1 = performance.now();
    const { text, at } = await got;
    expect(text).toBe("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    expect(at - t1).toBeGreaterThanOrEqual(350);
    expect(at - t1).toBeLessThan(2500);
  });
});

describe("body deadline", () => {
  it("answers 408 to a request body that stalls, closes the target's connection and does not reuse it", async () => {
    const backend = await recordingBackend();
    const v = await vane("--route", `*=127.0.0.1:${backend.port}`, "--body-timeout", "500ms");
    const s = await connect(v.port);
    const got = collect(s);
    const t0 = performance.now();
    s.write("POST /upload HTTP/1.1\r\nHost: a.test\r\nContent-Length: 100\r\n\r\n");
    await sleep(50);
    s.write("0123456789");
    const { text, at } = await got;
    expect(text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(text).toMatch(/\r\nConnection: close\r\n/i);
    expect(at - t0).toBeGreaterThanOrEqual(450);
    expect(at - t0).toBeLessThan(2500);
    // The target got the head and 10 bytes on one connection, which vane then closed.
    expect(backend.accepted).toBe(1);
    await until(() => backend.ended === 1);
    expect(backend.requests).toHaveLength(0);
    // The next request opens a new connection: the stalled one was not pooled.
    const again = await connect(v.port);
    const reply = collect(again);
    again.write("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    expect((await reply).text).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.accepted).toBe(2);
    expect(backend.requests.map((r) => r.conn)).toEqual([1]);
  });

  it("cuts a response body that stalls, closing both connections", async () => {
    let targetEnded = false;
    const target = await startServer((s) => {
      s.once("data", () => s.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"));
      s.on("end", () => (targetEnded = true));
      s.on("close", () => (targetEnded = true));
    });
    const v = await vane("--route", `*=127.0.0.1:${target.port}`, "--body-timeout", "500ms");
    const s = await connect(v.port);
    const got = collect(s);
    const t0 = performance.now();
    s.write(GET);
    const { text, at } = await got;
    expect(text).toBe("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    expect(at - t0).toBeGreaterThanOrEqual(450);
    expect(at - t0).toBeLessThan(2500);
    await until(() => targetEnded);
    // Said once, and not as a warning.
    const lines = v.logs.filter((l) => l.msg === "response body cut short");
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe("info");
  });

  it("closes both connections when the client takes no byte of the response body for the deadline", async () => {
    let targetEnded = false;
    const size = 64 << 20;
    const target = await startServer((s) => {
      s.once("data", () => {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
        s.write(Buffer.alloc(size, 0x61));
      });
      s.on("end", () => (targetEnded = true));
      s.on("close", () => (targetEnded = true));
    });
    const v = await vane("--route", `*=127.0.0.1:${target.port}`, "--body-timeout", "500ms");
    const s = await connect(v.port);
    let got = 0;
    s.once("data", (d: Buffer) => {
      got += d.length;
      // Reads no more: the kernel buffers fill, then vane's writes to this client stall.
      s.pause();
    });
    s.on("error", () => {});
    s.write(GET);
    await until(() => targetEnded, 5000);
    expect(got).toBeGreaterThan(0);
    s.destroy();
  });

  it("lets a slow body through as long as bytes keep coming within the deadline", async () => {
    const backend = await recordingBackend();
    const v = await vane("--route", `*=127.0.0.1:${backend.port}`, "--body-timeout", "400ms");
    const s = await connect(v.port);
    const got = collect(s);
    s.write("POST /slow HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
    for (const c of "abcde") {
      await sleep(200);
      s.write(c);
    }
    expect((await got).text).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.requests.map((r) => r.body)).toEqual(["abcde"]);
  });
});

describe("unfinished heads per client address", () => {
  it("refuses one more unfinished head from an address past --max-partial-heads, while whole requests go on", async () => {
    const backend = await recordingBackend();
    const v = await vane(
      "--route",
      `*=127.0.0.1:${backend.port}`,
      "--max-partial-heads",
      "2",
      "--request-head-timeout",
      "5s",
    );
    const slow = [await connect(v.port), await connect(v.port)];
    const replies = slow.map(collect);
    for (const s of slow) s.write("GET /slow HTTP/1.1\r\nHo");
    // Both are mid-head (the engine read their first bytes) before the third comes.
    await sleep(200);
    const third = await connect(v.port);
    const t0 = performance.now();
    const refused = collect(third);
    third.write("GET /third HTTP/1.1\r\nHo");
    const { text, at } = await refused;
    expect(text).toBe("");
    expect(at - t0).toBeLessThan(1000);
    // A whole request from the same address is not a partial head: served.
    const whole = await connect(v.port);
    const ok = collect(whole);
    whole.write("GET /whole HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n");
    expect((await ok).text).toMatch(/^HTTP\/1\.1 200 /);
    // The two counted ones finish and are served too.
    for (const s of slow) s.write("st: a.test\r\nConnection: close\r\n\r\n");
    for (const r of replies) expect((await r).text).toMatch(/^HTTP\/1\.1 200 /);
    expect(backend.requests.map((r) => r.target).sort()).toEqual(["/slow", "/slow", "/whole"]);
    // Once they left, a new unfinished head is counted again, not refused.
    const later = await connect(v.port);
    const laterReply = collect(later);
    later.write("GET /later HTTP/1.1\r\nHo");
    await sleep(100);
    later.write("st: a.test\r\nConnection: close\r\n\r\n");
    expect((await laterReply).text).toMatch(/^HTTP\/1\.1 200 /);
    expect(v.logs.filter((l) => String(l.msg).includes("unfinished request heads"))).toHaveLength(1);
  });
});

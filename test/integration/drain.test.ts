/**
 * Shutdown and reload with keep-alive clients, as an operator's bad day brings them: a
 * SIGTERM while clients loop on keep-alive connections and others sit idle, and ten
 * reloads under wrk. What the clients see is counted: requests sent and never answered,
 * the `Connection: close` on each connection's last answer, how long the process took
 * to exit, wrk's socket errors.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { keepAliveLoop } from "../helpers/keep-alive-client.ts";
import { freePort } from "../helpers/net.ts";
import { killAll, signal, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { waitFor } from "../helpers/wait.ts";
import { wrk, wrkRequests } from "../helpers/wrk.ts";

const dirs: string[] = [];
afterEach(async () => {
  killAll();
  await stopAllHttp();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A connection that makes one request and then stays open, idle; resolves when the server closes it. */
async function idleClient(port: number): Promise<{ closed: Promise<string> }> {
  const s = net.connect(port, "127.0.0.1");
  const answered = new Promise<void>((resolve, reject) => {
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      if (buf.includes("\r\n\r\nok")) resolve();
    });
    s.once("error", reject);
  });
  s.write("GET /idle HTTP/1.1\r\nHost: t\r\n\r\n");
  await answered;
  const closed = new Promise<string>((resolve) => {
    s.once("end", () => resolve("end"));
    s.once("error", (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
  });
  return { closed };
}

async function listening(p: VaneProcess): Promise<void> {
  await waitFor("vane listening", () => /listening/.test(p.stderr()), 15000);
}

/** vane as a process, proxying HTTP to `backend`, with a grace (30 s) no test should wait for. */
async function proxyTo(backend: number): Promise<{ p: VaneProcess; port: number }> {
  const port = await freePort();
  const p = spawnVane([
    ...["--listen", `http://127.0.0.1:${port}`, "--route", `*=127.0.0.1:${backend}`],
    ...["--status", "off", "--health", "none", "--workers", "1", "--grace", "30s"],
  ]);
  await listening(p);
  return { p, port };
}

describe("shutdown with keep-alive clients", () => {
  it(
    "answers every request in flight with Connection: close, closes idle connections, and exits long before the grace ends",
    async () => {
      const backend = await startBackend((_req, res) => res.end("ok"));
      const { p, port } = await proxyTo(backend.port);

      const idle = await Promise.all(Array.from({ length: 20 }, () => idleClient(port)));
      const loops = Array.from({ length: 8 }, () => keepAliveLoop(port, { limit: 1_000_000 }));
      await waitFor("every looping client is under way", () => loops.every((l) => l.stats.answered >= 50), 15000);

      const signalled = performance.now();
      signal(p, "SIGTERM");
      const code = await p.exited;
      const exitMs = performance.now() - signalled;
      const seen = await Promise.all(loops.map((l) => l.done));
      const idleEnds = await Promise.all(idle.map((c) => c.closed));

      expect(code).toBe(0);
      // The grace is 30 s; keep-alive clients alone must not hold the process for it.
      expect(exitMs).toBeLessThan(5000);
      for (const l of seen) {
        expect(l.ended).toBe("end");
        expect(l.toldClose).toBe(true);
        expect(l.sent - l.answered).toBe(0); // no request lost
      }
      expect(idleEnds).toEqual(idle.map(() => "end"));
      expect(p.stderr()).toMatch(/stopped/);
      expect(p.stderr()).not.toMatch(/closing connections still open after grace/);
    },
    60000,
  );

  it("still waits for a request in flight, and its answer says Connection: close", async () => {
    let release = () => {};
    const slow = new Promise<void>((r) => (release = r));
    let arrived = 0;
    const backend = await startBackend(async (_req, res) => {
      arrived++;
      await slow;
      res.end("late");
    });
    const { p, port } = await proxyTo(backend.port);
    const s = net.connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    const ended = new Promise<void>((r) => s.once("end", () => r()));
    s.write("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
    await waitFor("the request reached the backend", () => arrived === 1);

    signal(p, "SIGTERM");
    await waitFor("vane began draining", () => /draining/.test(p.stderr()));
    // The listener is closed: new clients are refused while the old one is served.
    const refused = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), resolve(false)));
      c.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
    release();
    await ended;
    expect(got).toMatch(/^HTTP\/1\.1 200 /);
    expect(got.toLowerCase()).toContain("\r\nconnection: close\r\n");
    expect(got.endsWith("late")).toBe(true);
    expect(await p.exited).toBe(0);
    s.destroy();
  }, 60000);
});

describe("reload under load", () => {
  for (const workers of [1, 2]) {
    it(
      `loses no request over ten reloads under wrk at 32 connections (${workers} worker${workers > 1 ? "s" : ""})`,
      async () => {
        const a = await startBackend((_req, res) => res.end("a"));
        const b = await startBackend((_req, res) => res.end("b"));
        const port = await freePort();
        const dir = mkdtempSync(join(tmpdir(), "vane-drain-"));
        dirs.push(dir);
        const file = join(dir, "vane.yaml");
        const config = (to: number) => `
workers: ${workers}
control: { listen: off }
listeners:
  - listen: http://127.0.0.1:${port}
    flow: [{ proxy: [127.0.0.1:${to}] }]
`;
        writeFileSync(file, config(a.port));
        const p = spawnVane(["--config", file]);
        await listening(p);

        const load = wrk(["-t", "2", "-c", "32", "-d", "4s", `http://127.0.0.1:${port}/`]);
        await new Promise((r) => setTimeout(r, 500));
        for (let i = 1; i <= 10; i++) {
          writeFileSync(file, config(i % 2 === 1 ? b.port : a.port));
          process.kill(p.child.pid!, "SIGHUP");
          await waitFor(`reload ${i}`, () => (p.stderr().match(/config loaded/g) ?? []).length >= i, 10000);
          await new Promise((r) => setTimeout(r, 200));
        }
        const out = await load;
        const requests = wrkRequests(out);
        // Under load, and through every reload: each backend took a share.
        expect(requests).toBeGreaterThan(1000);
        expect(a.requests).toBeGreaterThan(0);
        expect(b.requests).toBeGreaterThan(0);
        // wrk prints this line only when a socket failed (connect, read, write, timeout).
        expect(out).not.toMatch(/Socket errors/);
        expect(out).not.toMatch(/Non-2xx/);
        signal(p, "SIGTERM");
        expect(await p.exited).toBe(0);
      },
      60000,
    );
  }
});

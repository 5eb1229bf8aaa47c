/**
 * A pool's `maxconn` against a real vane process and backends that hold each request
 * until the test lets it go: the target never has more than maxconn at once, the rest
 * wait in the queue and are served in turn; `maxqueue` and `queue-timeout` answer 503;
 * a slot freed by a client that left is used again; a tcp:// pool counts connections.
 */
import { afterEach, describe, expect, it } from "vitest";
import type http from "node:http";
import net from "node:net";
import { nodeServer, stopNodeServers } from "../helpers/node-server.ts";
import { closeAll, freePort, startServer } from "../helpers/net.ts";
import { curl, startBackend, stopAllHttp } from "../helpers/http-engine.ts";
import { killAll, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { serving, statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";

afterEach(async () => {
  stopNodeServers();
  killAll();
  await stopAllHttp();
  await closeAll();
});

/** A backend holding every request until `release()`: how many it holds now, and the most it ever held at once. */
interface GateBackend {
  port: number;
  held: number;
  maxHeld: number;
  received: number;
  /** Answers the oldest `n` held requests (200, "ok"). */
  release(n?: number): void;
}

async function gateBackend(): Promise<GateBackend> {
  const waiting: http.ServerResponse[] = [];
  const gate: GateBackend = {
    port: 0,
    held: 0,
    maxHeld: 0,
    received: 0,
    release(n = Infinity) {
      for (let i = 0; i < n && waiting.length > 0; i++) waiting.shift()!.end("ok");
    },
  };
  const backend = await startBackend((req, res) => {
    req.resume();
    gate.received++;
    gate.held++;
    gate.maxHeld = Math.max(gate.maxHeld, gate.held);
    res.on("close", () => {
      gate.held--;
      const at = waiting.indexOf(res);
      if (at >= 0) waiting.splice(at, 1);
    });
    waiting.push(res);
  });
  gate.port = backend.port;
  return gate;
}

interface Started {
  port: number;
  statusPort: number;
  process: VaneProcess;
}

/** vane with `flags`, on a listener of `scheme`, once it serves. */
async function vane(scheme: "http" | "tcp", flags: string[]): Promise<Started> {
  const statusPort = await freePort();
  const listen = ["--listen", `${scheme}://127.0.0.1:0`, "--status", `127.0.0.1:${statusPort}`];
  const process = spawnVane([...listen, "--health", "none", "--workers", "1", ...flags]);
  const s = await serving(statusPort, 1);
  return { port: Number(s.listeners[0].address.split(":").pop()), statusPort, process };
}

/** A GET on its own connection, by hand so the test can also walk away mid-request. */
function request(port: number): { status: Promise<number | null>; socket: net.Socket } {
  const socket = net.connect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  socket.on("connect", () => socket.write("GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
  socket.on("data", (d) => chunks.push(d));
  socket.on("error", () => {});
  const status = new Promise<number | null>((resolve) =>
    socket.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(Buffer.concat(chunks).toString());
      resolve(m ? Number(m[1]) : null);
    })
  );
  return { status, socket };
}

async function queueLength(statusPort: number): Promise<number> {
  return (await statusOf(statusPort)).pools.default.queue?.length ?? -1;
}

async function metric(statusPort: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${statusPort}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? NaN);
}

describe("pool maxconn (HTTP)", () => {
  it("lets the target hold at most maxconn requests; the rest wait and all succeed", { timeout: 30_000 }, async () => {
    const gate = await gateBackend();
    const v = await vane("http", ["--route", `*=127.0.0.1:${gate.port}`, "--maxconn", "2"]);
    const requests = Array.from({ length: 5 }, () => request(v.port));
    await waitFor("2 requests at the target", () => gate.held === 2);
    await waitFor("3 requests in the queue", async () => (await queueLength(v.statusPort)) === 3);
    const s = await statusOf(v.statusPort);
    expect(s.pools.default.targets[0]).toMatchObject({ activeConnections: 2, maxconn: 2 });
    expect(await metric(v.statusPort, /^vane_queue_length\{pool="default"\} (\d+)$/m)).toBe(3);
    expect(gate.held).toBe(2);
    // Let them go one at a time: each freed slot takes the next waiter.
    while (gate.received < 5 || gate.held > 0) {
      await waitFor("a request at the target", () => gate.held > 0);
      gate.release(1);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await Promise.all(requests.map((r) => r.status))).toEqual([200, 200, 200, 200, 200]);
    expect(gate.maxHeld).toBe(2);
    await waitFor("every slot given back", async () => {
      const t = (await statusOf(v.statusPort)).pools.default.targets[0];
      return t.activeConnections === 0;
    });
    expect(await queueLength(v.statusPort)).toBe(0);
  });

  it("answers 503 at once when maxqueue already wait", { timeout: 30_000 }, async () => {
    const gate = await gateBackend();
    const v = await vane("http", ["--route", `*=127.0.0.1:${gate.port}`, "--maxconn", "1", "--maxqueue", "1"]);
    const first = request(v.port);
    await waitFor("the first request at the target", () => gate.held === 1);
    const second = request(v.port);
    await waitFor("the second in the queue", async () => (await queueLength(v.statusPort)) === 1);
    // The target still holds the first: the third is refused without waiting for anything.
    expect(await request(v.port).status).toBe(503);
    expect(gate.held).toBe(1);
    expect(await metric(v.statusPort, /^vane_queue_rejected_total\{pool="default",reason="full"\} (\d+)$/m)).toBe(1);
    gate.release();
    await waitFor("the second at the target", () => gate.received === 2);
    gate.release();
    expect(await first.status).toBe(200);
    expect(await second.status).toBe(200);
  });

  it(
    "answers 503 to a request that waited past queue-timeout, and says why in the log",
    { timeout: 30_000 },
    async () => {
      const gate = await gateBackend();
      const v = await vane("http", [
        "--route",
        `*=127.0.0.1:${gate.port}`,
        "--maxconn",
        "1",
        "--queue-timeout",
        "300ms",
      ]);
      const first = request(v.port);
      await waitFor("the first request at the target", () => gate.held === 1);
      // Still held when the second gives up.
      expect(await request(v.port).status).toBe(503);
      expect(gate.held).toBe(1);
      expect(gate.received).toBe(1);
      const log = v.process.stdout() + v.process.stderr();
      expect(log).toContain("pool queue refused the request");
      expect(log).toContain("queue timeout");
      expect(await metric(v.statusPort, /^vane_queue_rejected_total\{pool="default",reason="timeout"\} (\d+)$/m)).toBe(
        1,
      );
      gate.release();
      expect(await first.status).toBe(200);
    },
  );

  it("gives the slot of a client that left mid-request to the next request", { timeout: 30_000 }, async () => {
    const gate = await gateBackend();
    const v = await vane("http", ["--route", `*=127.0.0.1:${gate.port}`, "--maxconn", "1"]);
    const leaver = request(v.port);
    await waitFor("the first request at the target", () => gate.held === 1);
    const next = request(v.port);
    await waitFor("the next in the queue", async () => (await queueLength(v.statusPort)) === 1);
    leaver.socket.destroy();
    // The target answers a client that is gone (as HAProxy without abortonclose, vane
    // waits for the answer): the write fails, and the slot goes to the next request.
    gate.release(1);
    await waitFor("the next request at the target", () => gate.received === 2 && gate.held === 1, 15_000);
    gate.release();
    expect(await next.status).toBe(200);
    await waitFor("every slot given back", async () => {
      return (await statusOf(v.statusPort)).pools.default.targets[0].activeConnections === 0;
    });
    expect(gate.maxHeld).toBe(1);
  });
});

describe("pool maxconn through the admin API", () => {
  it(
    "PUT /pools/NAME takes maxconn (queue and all), and names a queue key without it",
    { timeout: 30_000 },
    async () => {
      const gate = await gateBackend();
      const statusPort = await freePort();
      const token = "maxconn-test-token";
      spawnVane(
        ["--listen", "http://127.0.0.1:0", "--status", `127.0.0.1:${statusPort}`, "--workers", "1"].concat(
          ["--route", `*=127.0.0.1:${gate.port}`, "--health", "none"],
        ),
        { VANE_ADMIN_TOKEN: token },
      );
      const s = await serving(statusPort, 1);
      const port = Number(s.listeners[0].address.split(":").pop());
      const put = (body: unknown) =>
        fetch(`http://127.0.0.1:${statusPort}/pools/default`, {
          method: "PUT",
          headers: { Authorization: `Bearer ${token}` },
          body: JSON.stringify(body),
        });
      const target = `127.0.0.1:${gate.port}`;
      const bad = await put({ targets: [target], maxqueue: 3 });
      expect(bad.status).toBe(422);
      expect(((await bad.json()) as { errors: string[] }).errors[0]).toBe(
        "pools.default.maxqueue: expected maxqueue only alongside maxconn; got no maxconn",
      );
      expect((await put({ targets: [target], health: { check: "none" }, maxconn: 1, maxqueue: 5 })).status).toBe(200);
      await waitFor(
        "the pool with its queue",
        async () => (await statusOf(statusPort)).pools.default.queue !== undefined,
      );
      const requests = [request(port), request(port)];
      // The queue can show the second request before the first has reached the target
      // (it holds the slot while its connection and write are on their way): both are awaited.
      await waitFor(
        "one at the target, one in the queue",
        async () => gate.held === 1 && (await queueLength(statusPort)) === 1,
      );
      expect(gate.held).toBe(1);
      gate.release();
      await waitFor("the second at the target", () => gate.received === 2);
      gate.release();
      expect(await Promise.all(requests.map((r) => r.status))).toEqual([200, 200]);
      expect(gate.maxHeld).toBe(1);
    },
  );
});

describe("pool maxconn (tcp://)", () => {
  it("holds a connection beyond maxconn until one closes, and closes one the full queue refuses", {
    timeout: 30_000,
  }, async () => {
    let open = 0;
    let maxOpen = 0;
    const echo = await startServer((s) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      s.on("close", () => open--);
      s.on("data", (d) => s.write(d));
      s.on("end", () => s.end());
    });
    const v = await vane("tcp", ["--route", `*=127.0.0.1:${echo.port}`, "--maxconn", "1", "--maxqueue", "1"]);
    const first = await echoing(v.port, "one");
    const second = net.connect({ host: "127.0.0.1", port: v.port });
    second.on("error", () => {});
    await waitFor("the second connection in the queue", async () => (await queueLength(v.statusPort)) === 1);
    // A third finds the queue full: closed without reaching the target.
    const third = await echoing(v.port, "three").catch((err: Error) => err);
    expect(third).toBeInstanceOf(Error);
    expect(echo.accepted).toBe(1);
    const secondEcho = new Promise<string>((resolve) => second.once("data", (d) => resolve(d.toString())));
    second.write("two");
    first.destroy();
    expect(await secondEcho).toBe("two");
    expect(maxOpen).toBe(1);
    second.destroy();
    await waitFor("every slot given back", async () => {
      return (await statusOf(v.statusPort)).pools.default.targets[0].activeConnections === 0;
    });
  });
});

/** A connection through vane that echoed `text` back (rejects when vane closed it first). */
function echoing(port: number, text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => s.write(text));
    s.once("data", (d) => (d.toString() === text ? resolve(s) : reject(new Error(`got ${d}`))));
    s.once("close", () => reject(new Error("closed by vane")));
    s.on("error", reject);
  });
}

/**
 * An h2c target (node:http2, run by node as the gRPC tests do) that holds each request
 * 300 ms and counts how many it held at once; GET /max (asked directly) says the most.
 */
function h2cCounting(): Promise<number> {
  const script = `
const http2 = require("node:http2");
let held = 0, max = 0;
const s = http2.createServer((req, res) => {
  if (req.url === "/max") return res.end(String(max));
  held++;
  max = Math.max(max, held);
  req.resume();
  setTimeout(() => { held--; res.end("ok"); }, 300);
});
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  return nodeServer({ code: script }).then((s) => s.port);
}

describe("pool maxconn (h2c)", () => {
  it(
    "counts the HTTP/2 streams to a target: 4 requests at once, at most 1 at the target",
    { timeout: 30_000 },
    async () => {
      const target = await h2cCounting();
      const v = await vane("http", ["--route", `*=127.0.0.1:${target}`, "--protocol", "h2c", "--maxconn", "1"]);
      const requests = Array.from({ length: 4 }, () => request(v.port));
      expect(await Promise.all(requests.map((r) => r.status))).toEqual([200, 200, 200, 200]);
      const max = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${target}/max`]);
      expect(max.stdout.toString()).toBe("1");
      await waitFor("every slot given back", async () => {
        return (await statusOf(v.statusPort)).pools.default.targets[0].activeConnections === 0;
      });
    },
  );
});

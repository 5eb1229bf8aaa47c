/**
 * Hot reload of the executable under traffic: SIGHUP, a change of the file, and
 * POST /reload. A long TCP stream and a WebSocket opened before a reload keep going;
 * new connections follow the new flow; a broken file changes nothing; the listener
 * is not rebound and unchanged targets keep their health and counters.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type net from "node:net";
import { closeAll, echoServer, freePort } from "../helpers/net.ts";
import { connect, readBytes } from "../helpers/raw-client.ts";
import { curl, infoBackend, stopAllHttp, wsEchoBackend } from "../helpers/http-engine.ts";
import { killAll, spawnVane } from "../helpers/process.ts";
import { statusOf } from "../helpers/status.ts";
import { waitFor } from "../helpers/wait.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-reload-"));
afterEach(async () => {
  killAll();
  await closeAll();
  await stopAllHttp();
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  removeCerts();
});

interface Ports {
  listen: number;
  status: number;
  echo: number;
  ws: number;
  api: number;
}

/** The config under test; `api` is where HTTP for api.test goes. */
function config(p: Ports, apiPort: number, extra = ""): string {
  return `# reload test
listeners:
  - listen: tcp://127.0.0.1:${p.listen}
    flow:
      - when: { protocol: other }
        proxy: echo
      - when: { req.path: { prefix: /ws } }
        proxy: [127.0.0.1:${p.ws}]
      - when: { req.host: api.test }
        proxy: [127.0.0.1:${apiPort}]
${extra}
pools:
  echo:
    targets: [127.0.0.1:${p.echo}]
    health: { check: tcp, interval: 200ms }
control:
  listen: 127.0.0.1:${p.status}
  token: s3cret
log: { format: json }
`;
}

/** A request on a new connection (curl), as a new client would send it. */
async function apiName(listen: number): Promise<string> {
  const r = await curl(["-H", "Host: api.test", `http://127.0.0.1:${listen}/x`]);
  return JSON.parse(r.stdout.toString()).name;
}

/** One echo round trip on an open connection. */
async function roundTrip(s: net.Socket, text: string): Promise<string> {
  s.write(text);
  return (await readBytes(s, text.length)).toString();
}

function openWebSocket(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("websocket error"));
  });
}

function wsEcho(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.onmessage = (e) => resolve(String(e.data));
    ws.onclose = () => reject(new Error("websocket closed"));
    ws.send(text);
  });
}

describe("hot reload", () => {
  it("keeps a TCP stream and a WebSocket alive across reloads while new requests follow the new flow", async () => {
    const echo = await echoServer();
    const ws = await wsEchoBackend();
    const a = await infoBackend("a");
    const b = await infoBackend("b");
    const p: Ports = { listen: await freePort(), status: await freePort(), echo: echo.port, ws: ws.port, api: a.port };
    const file = join(dir, "vane.yaml");
    writeFileSync(file, config(p, a.port));
    const vane = spawnVane(["run", file]);
    await waitFor("vane serves its status", async () => {
      try {
        return (await statusOf(p.status)).config.generation === 1;
      } catch {
        return false;
      }
    }, 15000);
    await waitFor("the echo target is healthy", async () => (await statusOf(p.status)).pools.echo.targets[0].healthy);

    // In flight before any reload: a raw TCP stream and a WebSocket.
    const stream = await connect(p.listen);
    expect(await roundTrip(stream, "before\n")).toBe("before\n");
    const socket = await openWebSocket(p.listen);
    expect(await wsEcho(socket, "ws-before")).toBe("ws-before");
    expect(await apiName(p.listen)).toBe("a");

    // 1. SIGHUP after the file changed: api.test now goes to b.
    writeFileSync(file, config(p, b.port));
    process.kill(vane.child.pid!, "SIGHUP");
    await waitFor("generation 2", async () => (await statusOf(p.status)).config.generation >= 2);
    expect(await apiName(p.listen)).toBe("b");
    expect(await roundTrip(stream, "after-sighup\n")).toBe("after-sighup\n");
    expect(await wsEcho(socket, "ws-after-sighup")).toBe("ws-after-sighup");
    const gen = (await statusOf(p.status)).config.generation;

    // 2. A broken file through POST /reload: refused with positions, nothing changes.
    writeFileSync(file, config(p, a.port).replace("proxy: echo", "proxy: echoo"));
    const unauthorized = await fetch(`http://127.0.0.1:${p.status}/reload`, { method: "POST" });
    expect(unauthorized.status).toBe(401);
    const refused = await fetch(`http://127.0.0.1:${p.status}/reload`, {
      method: "POST",
      headers: { Authorization: "Bearer s3cret" },
    });
    expect(refused.status).toBe(422);
    const body = await refused.json();
    expect(body.ok).toBe(false);
    expect(body.errors.join("\n")).toMatch(
      /vane\.yaml:6:16: listeners\[0\]\.flow\[0\]\.proxy: .*"echoo".*did you mean "echo"/,
    );
    expect((await statusOf(p.status)).config.generation).toBe(gen);
    expect(await apiName(p.listen)).toBe("b");
    expect(await roundTrip(stream, "after-broken\n")).toBe("after-broken\n");

    // 3. A good file through POST /reload.
    writeFileSync(file, config(p, a.port));
    const ok = await fetch(`http://127.0.0.1:${p.status}/reload`, {
      method: "POST",
      headers: { Authorization: "Bearer s3cret" },
    });
    expect(ok.status).toBe(200);
    expect((await ok.json()).generation).toBeGreaterThan(gen);
    expect(await apiName(p.listen)).toBe("a");

    // 4. The file changes with no signal at all: the watcher reloads it.
    const before = (await statusOf(p.status)).config.generation;
    writeFileSync(file, config(p, b.port, "      - respond: { status: 204 }"));
    await waitFor("the watcher reloads", async () => (await statusOf(p.status)).config.generation > before, 20_000);
    expect(await apiName(p.listen)).toBe("b");

    // Through all of it: the stream, the WebSocket, the socket and the target's history.
    expect(await roundTrip(stream, "still-here\n")).toBe("still-here\n");
    expect(await wsEcho(socket, "ws-still-here")).toBe("ws-still-here");
    const s = await statusOf(p.status);
    expect(s.pools.echo.targets[0].healthy).toBe(true);
    expect(s.pools.echo.targets[0].totalConnections).toBe(1);
    expect(s.pools.echo.targets[0].activeConnections).toBe(1);
    const listening = vane.stderr().split("\n").filter((l) => l.includes('"msg":"listening"'));
    expect(listening).toHaveLength(1);
    expect(vane.stderr()).toContain('"msg":"reload refused');
    socket.close();
    stream.destroy();
  }, 60000);
});

describe("a reload that binds a listener anew", () => {
  for (const workers of [1, 2]) {
    it(`rebinds an address whose old socket it closed, beside a listener it adds (${workers} worker(s))`, async () => {
      const cert = makeCert("localhost");
      const [port, added, status] = [await freePort(), await freePort(), await freePort()];
      const answer = (listen: string, body: string) =>
        `  - listen: ${listen}
    flow:
      - respond: { status: 200, body: ${body} }`;
      const write = (listeners: string[]) =>
        writeFileSync(
          file,
          `listeners:
${listeners.join("\n")}
tls: [{ cert: ${cert.certPath}, key: ${cert.keyPath} }]
workers: ${workers}
control:
  listen: 127.0.0.1:${status}
`,
        );
      const file = join(dir, "rebind.yaml");
      write([answer(`http://127.0.0.1:${port}`, "plain")]);
      const vane = spawnVane(["run", file]);
      await waitFor("vane serves its status", async () => {
        try {
          return (await statusOf(status)).config.generation === 1;
        } catch {
          return false;
        }
      });
      // The same address as https (a socket of another kind: closed, then bound again) and a new listener.
      write([answer(`https://127.0.0.1:${port}`, "tls"), answer(`http://127.0.0.1:${added}`, "added")]);
      process.kill(vane.child.pid!, "SIGHUP");
      // The file's watcher may reload it too (generation 3 right after 2): either is the new file.
      await waitFor("the reload is done", async () => (await statusOf(status)).config.generation >= 2);
      // Every worker reloads on its own: wait until each has its TLS socket.
      await waitFor("every process serves TLS", async () => {
        const answers = await Promise.all(
          Array.from(
            { length: 4 },
            () => curl(["-sk", `https://127.0.0.1:${port}/`]).then((r) => r.stdout.toString(), () => ""),
          ),
        );
        return answers.every((a) => a === "tls");
      });
      expect((await curl([`http://127.0.0.1:${added}/`])).stdout.toString()).toBe("added");
      expect(vane.stderr() + vane.stdout()).not.toContain("cannot listen again after reload");
    }, 20_000);
  }
});

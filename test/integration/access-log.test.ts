/**
 * The access log (`--access-log`, `access-log:`), as an operator sees it: one line per
 * HTTP request and per L4 and UDP session in the file, JSON or nginx's combined layout;
 * the request id and `traceparent` the target receives; SIGUSR1 after logrotate's
 * rename; sampling; and `--workers 2` appending to one file.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { echoServer, freePort } from "../helpers/net.ts";
import { curl, curlStatus, startBackend } from "../helpers/http-engine.ts";
import { nodeServer, stopNodeServers } from "../helpers/node-server.ts";
import { spawnVane, type VaneProcess } from "../helpers/process.ts";
import { serving } from "../helpers/status.ts";
import { bindUdp } from "../helpers/udp.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { waitFor } from "../helpers/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "vane-access-log-"));
let files = 0;
afterEach(async () => {
  stopNodeServers();
  await stopAll();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newFile(): string {
  return join(dir, `access-${++files}.log`);
}

function linesOf(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
}

// deno-lint-ignore no-explicit-any
function recordsOf(file: string): any[] {
  return linesOf(file).map((l) => JSON.parse(l));
}

/** A target that keeps the headers of each request it received, keyed by path. */
async function recordingTarget(): Promise<{ port: number; got: Map<string, http.IncomingHttpHeaders> }> {
  const got = new Map<string, http.IncomingHttpHeaders>();
  const b = await startBackend((req, res) => {
    got.set(req.url!, req.headers);
    req.resume();
    req.on("end", () => res.end("ok"));
  });
  return { port: b.port, got };
}

/** One request on its own connection (no keep-alive), as a new client makes it. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
  });
}

/** vane with these flags, once it answers on `port`. */
async function vaneOn(port: number, args: string[]): Promise<VaneProcess> {
  const v = spawnVane(["--listen", `http://127.0.0.1:${port}`, "--status", "off", "--workers", "1", ...args]);
  await waitFor("vane listening", () => v.stderr().includes("listening"), 15_000);
  return v;
}

describe("the access log of HTTP requests", () => {
  it("writes one JSON line per request with its route, target, bytes, times and the request id the target received", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", file]);
    expect(await get(port, "/first?q=1", { "user-agent": "probe/1" })).toBe(200);
    expect(await get(port, "/second", { "x-request-id": "client-id-7" })).toBe(200);
    await waitFor("two lines", () => linesOf(file).length >= 2);
    const [first, second] = recordsOf(file);
    const sent = target.got.get("/first?q=1")!["x-request-id"] as string;
    expect(sent).toMatch(/^[0-9a-f]{16}-[0-9a-f]{6,}$/);
    expect(first).toMatchObject({
      type: "http",
      client: "127.0.0.1",
      listener: `http://127.0.0.1:${port}`,
      route: "default",
      pool: "default",
      target: `127.0.0.1:${target.port}`,
      method: "GET",
      path: "/first?q=1",
      protocol: "HTTP/1.1",
      status: 200,
      retries: 0,
      requestId: sent,
      userAgent: "probe/1",
      tls: null,
    });
    expect(first.bytesIn).toBeGreaterThan(0);
    expect(first.bytesOut).toBeGreaterThan(2);
    expect(first.durationMs).toBeGreaterThanOrEqual(0);
    expect(first.connectMs).toBeGreaterThanOrEqual(0);
    expect(first.firstByteMs).toBeGreaterThanOrEqual(0);
    expect(first.firstByteMs).toBeLessThanOrEqual(first.durationMs);
    expect(Date.parse(first.time)).toBeGreaterThan(Date.now() - 60_000);
    // Kept as the client sent it, both to the target and in the log.
    expect(target.got.get("/second")!["x-request-id"]).toBe("client-id-7");
    expect(second.requestId).toBe("client-id-7");
    expect(linesOf(file).length).toBe(2);
  });

  it("writes a line for a head vane refuses (400), with no method or path", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", file]);
    const answer = await new Promise<string>((resolve, reject) => {
      const c = net.connect(port, "127.0.0.1", () => c.write("GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n"));
      let got = "";
      c.on("data", (d) => (got += d));
      c.on("close", () => resolve(got));
      c.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await waitFor("one line", () => linesOf(file).length >= 1);
    expect(recordsOf(file)[0]).toMatchObject({ type: "http", status: 400, method: null, path: null, route: null });
  });

  it("passes traceparent on with the same trace id and flags and a new parent id, and starts none by default", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", file]);
    const trace = "0af7651916cd43dd8448eb211c80319c";
    await get(port, "/traced", { traceparent: `00-${trace}-b7ad6b7169203331-01` });
    await get(port, "/untraced");
    const sent = target.got.get("/traced")!.traceparent as string;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(sent);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(trace);
    expect(m![2]).not.toBe("b7ad6b7169203331");
    expect(m![2]).not.toBe("0000000000000000");
    expect(m![3]).toBe("01");
    expect(target.got.get("/untraced")!.traceparent).toBeUndefined();
    await waitFor("two lines", () => linesOf(file).length >= 2);
    expect(recordsOf(file).map((r) => r.traceId)).toEqual([trace, null]);
  });

  it("starts a trace for a request without one when access-log.trace is on (YAML)", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    const config = join(dir, `trace-${port}.yaml`);
    writeFileSync(
      config,
      `listeners:\n  - listen: http://127.0.0.1:${port}\n    flow:\n      - proxy: [127.0.0.1:${target.port}]\n` +
        `access-log: { path: ${file}, trace: true }\ncontrol: { listen: off }\nworkers: 1\n`,
    );
    const v = spawnVane(["--config", config]);
    await waitFor("vane listening", () => v.stderr().includes("listening"), 15_000);
    await get(port, "/new-trace");
    const sent = target.got.get("/new-trace")!.traceparent as string;
    expect(sent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await waitFor("one line", () => linesOf(file).length >= 1);
    expect(recordsOf(file)[0].traceId).toBe(sent.split("-")[1]);
  });

  it("writes nginx's combined layout with --access-log-format combined", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, [
      "--route",
      `*=127.0.0.1:${target.port}`,
      "--access-log",
      file,
      "--access-log-format",
      "combined",
    ]);
    await get(port, "/c?x=1", { "user-agent": 'agent "quoted"', referer: "http://ref.example/" });
    await waitFor("one line", () => linesOf(file).length >= 1);
    const [line] = linesOf(file);
    expect(line).toMatch(
      /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET \/c\?x=1 HTTP\/1\.1" 200 \d+ "http:\/\/ref\.example\/" "agent \\x22quoted\\x22"$/,
    );
  });

  it("writes every line with sample 1 and none with sample 0, while request ids still reach the target", async () => {
    const target = await recordingTarget();
    const [all, none] = [await freePort(), await freePort()];
    const [allFile, noneFile] = [newFile(), newFile()];
    await vaneOn(all, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", allFile, "--access-log-sample", "1"]);
    await vaneOn(none, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", noneFile, "--access-log-sample", "0"]);
    for (let i = 0; i < 20; i++) {
      await get(none, `/none/${i}`);
      await get(all, `/all/${i}`);
    }
    await waitFor("20 lines", () => linesOf(allFile).length === 20);
    // Written in the same timer turn as the other vane's would have been.
    await new Promise((r) => setTimeout(r, 200));
    expect(linesOf(noneFile)).toEqual([]);
    expect(target.got.get("/none/19")!["x-request-id"]).toMatch(/^[0-9a-f]{16}-/);
  });
});

/** An h2c target (node:http2, in its own node process) that answers with the headers it received, as JSON. */
function h2cHeaders(): Promise<number> {
  const script = `
const http2 = require("node:http2");
const s = http2.createServer((req, res) => { req.resume(); req.on("end", () => res.end(JSON.stringify(req.headers))); });
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  return nodeServer({ code: script }).then((s) => s.port);
}

/** An h2c target that runs `onStream` (with `st`, the stream) for each stream; resolves with its port. */
function h2cTarget(onStream: string): Promise<number> {
  const script = `
const http2 = require("node:http2");
const s = http2.createServer();
s.on("stream", (st) => { st.on("error", () => {}); ${onStream}; });
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  return nodeServer({ code: script }).then((s) => s.port);
}

describe("the access log of HTTP/2 requests", () => {
  it("logs a stream forwarded to an h2c pool, whose target gets the request id and traceparent", async () => {
    const target = await h2cHeaders();
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, ["--route", `*=127.0.0.1:${target}`, "--protocol", "h2c", "--access-log", file]);
    const trace = "0af7651916cd43dd8448eb211c80319c";
    const r = await curl([
      "--http2-prior-knowledge",
      "-H",
      `traceparent: 00-${trace}-b7ad6b7169203331-01`,
      `http://127.0.0.1:${port}/h2/x`,
    ]);
    const got = JSON.parse(r.stdout.toString());
    expect(got.traceparent).toMatch(new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
    expect(got.traceparent).not.toContain("b7ad6b7169203331");
    await waitFor("one line", () => linesOf(file).length >= 1);
    const [line] = recordsOf(file);
    expect(line).toMatchObject({
      protocol: "HTTP/2",
      method: "GET",
      path: "/h2/x",
      status: 200,
      pool: "default",
      target: `127.0.0.1:${target}`,
      retries: 0,
    });
    expect(line.requestId).toBe(got["x-request-id"]);
    expect(line.traceId).toBe(trace);
    // Written once the stream is over: the body is counted, and the times are in order.
    expect(line.bytesOut).toBeGreaterThan(r.stdout.length);
    expect(line.connectMs).toBeGreaterThanOrEqual(0);
    expect(line.firstByteMs).toBeGreaterThanOrEqual(line.connectMs);
    expect(line.durationMs).toBeGreaterThanOrEqual(line.firstByteMs);
  });

  it("logs the target that answered a retried stream, and the retries", async () => {
    const [resetting, answering] = [
      await h2cTarget("st.close(http2.constants.NGHTTP2_INTERNAL_ERROR)"),
      await h2cHeaders(),
    ];
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, [
      "--route",
      `*=127.0.0.1:${resetting},127.0.0.1:${answering}`,
      "--protocol",
      "h2c",
      "--retry-on",
      "empty-response",
      "--access-log",
      file,
    ]);
    // serial: the first stream meets the resetting target, and goes on to the other.
    expect(await curlStatus(["--http2-prior-knowledge", `http://127.0.0.1:${port}/r`])).toBe("200");
    await waitFor("one line", () => linesOf(file).length >= 1);
    const [line] = recordsOf(file);
    expect(line).toMatchObject({
      protocol: "HTTP/2",
      path: "/r",
      status: 200,
      target: `127.0.0.1:${answering}`,
      retries: 1,
    });
  });

  it("logs an HTTP/2 request to an HTTP/1.1 target as HTTP/2", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    await vaneOn(port, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", file]);
    expect((await curl(["--http2-prior-knowledge", `http://127.0.0.1:${port}/via-h2`])).stdout.toString()).toBe("ok");
    await waitFor("one line", () => linesOf(file).length >= 1);
    const [line] = recordsOf(file);
    expect(line).toMatchObject({
      protocol: "HTTP/2",
      path: "/via-h2",
      status: 200,
      target: `127.0.0.1:${target.port}`,
    });
    expect(line.requestId).toBe(target.got.get("/via-h2")!["x-request-id"]);
  });
});

describe("the access log of L4 and UDP sessions", () => {
  it("writes one line per TCP relay and one per UDP session as it ends", async () => {
    const tcpTarget = await echoServer();
    const udpTarget = await bindUdp((msg, rinfo, s) => s.send(msg, rinfo.port, rinfo.address));
    const [tcpPort, udpPort] = [await freePort(), await freePort()];
    const file = newFile();
    const config = join(dir, `l4-${tcpPort}.yaml`);
    writeFileSync(
      config,
      [
        "listeners:",
        `  - listen: tcp://127.0.0.1:${tcpPort}`,
        `    flow: [{ proxy: [127.0.0.1:${tcpTarget.port}] }]`,
        `  - listen: udp://127.0.0.1:${udpPort}`,
        `    flow: [{ proxy: [127.0.0.1:${udpTarget.address().port}] }]`,
        `access-log: ${file}`,
        "timeouts: { udp-idle: 300ms }",
        "control: { listen: off }",
        "workers: 1",
        "",
      ].join("\n"),
    );
    const v = spawnVane(["--config", config]);
    await waitFor("both listening", () => (v.stderr().match(/listening/g) ?? []).length >= 2, 15_000);

    const echoed = await new Promise<string>((resolve, reject) => {
      const c = net.connect(tcpPort, "127.0.0.1", () => c.write("hello"));
      let got = "";
      c.on("data", (d) => {
        got += d;
        if (got.length >= 5) c.end();
      });
      c.on("close", () => resolve(got));
      c.on("error", reject);
    });
    expect(echoed).toBe("hello");
    const client = await bindUdp(() => {});
    let replies = 0;
    client.on("message", () => replies++);
    client.send("ping", udpPort, "127.0.0.1");
    await waitFor("the UDP reply", () => replies === 1);

    await waitFor("a tcp and a udp line", () => recordsOf(file).filter((r) => r.type !== "http").length >= 2);
    const records = recordsOf(file);
    const tcp = records.filter((r) => r.type === "tcp");
    const udp = records.filter((r) => r.type === "udp");
    expect(tcp.length).toBe(1);
    expect(udp.length).toBe(1);
    expect(tcp[0]).toMatchObject({
      listener: `tcp://127.0.0.1:${tcpPort}`,
      target: `127.0.0.1:${tcpTarget.port}`,
      bytesIn: 5,
      bytesOut: 5,
      client: "127.0.0.1",
    });
    expect(tcp[0].durationMs).toBeGreaterThanOrEqual(0);
    expect(tcp[0].connectMs).toBeGreaterThanOrEqual(0);
    expect(udp[0]).toMatchObject({
      listener: `udp://127.0.0.1:${udpPort}`,
      target: `127.0.0.1:${udpTarget.address().port}`,
      bytesIn: 4,
      bytesOut: 4,
      clientPort: client.address().port,
    });
  });
});

/** `n` requests from `clients` concurrent clients, each path `${tag}/${client}/${i}`; resolves when all are answered. */
async function load(port: number, tag: string, clients: number, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < n; i++) expect(await get(port, `/${tag}/${c}/${i}`)).toBe(200);
    }),
  );
}

describe("reopening on SIGUSR1", () => {
  it("goes on in a new file after logrotate renamed the old one, losing no line", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const file = newFile();
    const v = await vaneOn(port, ["--route", `*=127.0.0.1:${target.port}`, "--access-log", file]);
    const during = load(port, "during", 3, 20);
    await waitFor("some lines", () => linesOf(file).length >= 10);
    renameSync(file, `${file}.1`);
    process.kill(v.child.pid!, "SIGUSR1");
    await during;
    await waitFor("the new file", () => existsSync(file));
    await load(port, "after", 2, 10);
    await waitFor("80 lines in both files", () => linesOf(file).length + linesOf(`${file}.1`).length >= 80);
    const old = recordsOf(`${file}.1`);
    const now = recordsOf(file);
    expect(old.length + now.length).toBe(80);
    expect(new Set([...old, ...now].map((r) => r.path)).size).toBe(80);
    // Everything sent after the new file appeared is in it.
    expect(now.filter((r) => r.path.startsWith("/after/")).length).toBe(20);
    expect(v.child.exitCode).toBeNull();
  });
});

describe("--workers 2", () => {
  it("appends both processes' lines to one file, none torn, and both reopen on the primary's SIGUSR1", async () => {
    const target = await recordingTarget();
    const port = await freePort();
    const statusPort = await freePort();
    const file = newFile();
    const v = spawnVane([
      "--listen",
      `http://127.0.0.1:${port}`,
      "--route",
      `*=127.0.0.1:${target.port}`,
      "--status",
      `127.0.0.1:${statusPort}`,
      "--workers",
      "2",
      "--access-log",
      file,
    ]);
    await serving(statusPort, 2);
    await load(port, "w", 4, 25);
    await waitFor("100 lines", () => linesOf(file).length >= 100);
    const records = recordsOf(file); // JSON.parse throws on a torn line
    expect(records.length).toBe(100);
    expect(new Set(records.map((r) => r.path)).size).toBe(100);
    /** A request id's process part. */
    const processes = (rs: { requestId: string }[]) => new Set(rs.map((r) => r.requestId.split("-")[0])).size;
    expect(processes(records)).toBe(2);

    renameSync(file, `${file}.1`);
    process.kill(v.child.pid!, "SIGUSR1");
    await waitFor("the new file", () => existsSync(file));
    // Each process reopens on its own signal: wait until both wrote to the new file.
    let sent = 0;
    await waitFor("lines of both processes in the new file", async () => {
      await get(port, `/after/${sent++}`);
      await new Promise((r) => setTimeout(r, 20));
      return processes(recordsOf(file)) === 2;
    }, 15_000);
    await waitFor("every line", () => linesOf(file).length + linesOf(`${file}.1`).length >= 100 + sent);
    expect(linesOf(file).length + linesOf(`${file}.1`).length).toBe(100 + sent);
    expect(v.child.exitCode).toBeNull();
  });
});

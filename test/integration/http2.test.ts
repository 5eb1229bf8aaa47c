/**
 * HTTP/2 from clients, as real clients speak it: curl (h2c with prior knowledge, and
 * h2 by ALPN over TLS), nghttp with concurrent streams, h2load, and a raw frame client
 * (test/helpers/h2raw.py, on Debian's python3-hyperframe and python3-hpack) that sends
 * what RFC 9113 forbids. What the target received is asserted (how many requests, their
 * Host, their body), not only what the client saw.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type http from "node:http";
import { startBackend } from "../helpers/http-engine.ts";
import { freePort } from "../helpers/net.ts";
import { signal, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { runCommand } from "../helpers/command.ts";
import { waitFor } from "../helpers/wait.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

const H2RAW = fileURLToPath(new URL("../helpers/h2raw.py", import.meta.url));
/** Debian's python, where python3-h2 lives (a python on PATH may be another). */
const PYTHON = "/usr/bin/python3";
const BIG = 1 << 20;
const dirs: string[] = [];

afterEach(async () => {
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A target that records every request whole, and answers by path. */
async function recordingTarget() {
  const seen: Seen[] = [];
  const big = Buffer.alloc(BIG, "b");
  const backend = await startBackend((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(parts) });
      if (req.url === "/big") return res.end(big);
      if (req.url === "/slow") return setTimeout(() => res.end("slow done"), 1500);
      if (req.url === "/echo") return res.end(Buffer.concat(parts));
      res.setHeader("x-target", "yes");
      res.end(`hello ${req.method} ${req.url}`);
    });
  });
  return { backend, seen };
}

async function startVane(args: string[]): Promise<{ vane: VaneProcess; port: number }> {
  const port = await freePort();
  const vane = spawnVane(["--status", "off", "--workers", "1", "--listen", `http://127.0.0.1:${port}`, ...args]);
  await waitFor("vane listening", () => vane.stderr().includes("listening"), 15_000);
  return { vane, port };
}

/** vane on a YAML config (one worker, no status endpoint) of which `rest` is the listeners and more. */
async function vaneWith(rest: string): Promise<VaneProcess> {
  const dir = mkdtempSync(join(tmpdir(), "vane-h2-"));
  dirs.push(dir);
  writeFileSync(join(dir, "vane.yaml"), `workers: 1\ncontrol: { listen: off }\n${rest}`);
  const vane = spawnVane(["--config", join(dir, "vane.yaml")]);
  await waitFor("vane listening", () => vane.stderr().includes("listening"), 15_000);
  return vane;
}

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function raw(scenario: string, port: number) {
  const r = await runCommand(PYTHON, [H2RAW, scenario, String(port)], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`h2raw ${scenario} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as {
    frames: Array<
      { type: string; stream: number; code?: number; bytes?: number; end?: boolean; debug?: string; status?: string }
    >;
    closed: boolean;
  };
}

const PROTOCOL_ERROR = 1;
const REFUSED_STREAM = 7;
const ENHANCE_YOUR_CALM = 0xb;

afterAll(removeCerts);

beforeAll(async () => {
  // The raw client needs Debian's python3-h2 (hyperframe, hpack): .ci/run installs it.
  const r = await runCommand(PYTHON, ["-c", "import hyperframe, hpack"]);
  if (r.code !== 0) throw new Error(`python3-h2 is missing: apt-get install python3-h2 (${r.stderr})`);
});

describe("HTTP/2 from clients", () => {
  it("curl --http2-prior-knowledge: h2c on an http:// listener, :authority as Host, one request at the target", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const r = await runCommand("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "-w",
      "\\n%{http_version} %{http_code}",
      "-H",
      "x-client: 1",
      `http://127.0.0.1:${port}/path?q=1`,
    ]);
    expect(r.stdout).toBe("hello GET /path?q=1\n2 200");
    expect(seen).toHaveLength(1);
    expect(seen[0].headers.host).toBe(`127.0.0.1:${port}`);
    expect(seen[0].headers["x-client"]).toBe("1");
    expect(seen[0].headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("nghttp: 20 concurrent streams on one connection, each answered, 20 requests at the target", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const r = await runCommand("nghttp", ["-n", "-s", "-m", "20", `http://127.0.0.1:${port}/n`], { timeoutMs: 20_000 });
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(20);
    expect(seen.every((s) => s.url === "/n")).toBe(true);
  });

  it("h2load: 2,000 requests over 4 connections of 10 streams, none failed, each one at the target", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const r = await runCommand("h2load", ["-n", "2000", "-c", "4", "-m", "10", `http://127.0.0.1:${port}/load`], {
      timeoutMs: 60_000,
    });
    expect(r.stdout).toMatch(/requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored/);
    expect(seen).toHaveLength(2000);
  }, 60_000);

  it("streams request and response bodies both ways, byte for byte (1 MiB up with and without content-length, 1 MiB down)", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const dir = mkdtempSync(join(tmpdir(), "vane-h2-"));
    dirs.push(dir);
    const upload = new Uint8Array(BIG).map((_, i) => (i * 7) & 0xff);
    writeFileSync(join(dir, "up.bin"), upload);
    const sent = await runCommand("curl", [
      "-sS",
      "--http2-prior-knowledge",
      "--data-binary",
      `@${join(dir, "up.bin")}`,
      `http://127.0.0.1:${port}/echo`,
      "-o",
      join(dir, "echo.bin"),
      "-w",
      "%{http_code}",
    ]);
    expect(sent.stdout).toBe("200");
    expect(sha(seen[0].body)).toBe(sha(upload));
    expect(seen[0].headers["content-length"]).toBe(String(BIG));
    // Without a length (chunked upload from curl's stdin): the target gets it chunked, whole.
    const chunked = await runCommand("sh", [
      "-c",
      `cat ${
        join(dir, "up.bin")
      } | curl -sS --http2-prior-knowledge -T - http://127.0.0.1:${port}/echo -o /dev/null -w '%{http_code}'`,
    ]);
    expect(chunked.stdout).toBe("200");
    expect(sha(seen[1].body)).toBe(sha(upload));
    expect(seen[1].headers["transfer-encoding"]).toBe("chunked");
    const down = await runCommand("curl", [
      "-sS",
      "--http2-prior-knowledge",
      `http://127.0.0.1:${port}/big`,
      "-o",
      join(dir, "big.bin"),
      "-w",
      "%{size_download}",
    ]);
    expect(down.stdout).toBe(String(BIG));
  });
});

describe("the flow per HTTP/2 stream", () => {
  it("routes by :authority and path, answers, redirects and edits headers per stream, as for HTTP/1.1", async () => {
    const a = await recordingTarget();
    const b = await recordingTarget();
    const port = await freePort();
    await vaneWith(`listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - set-headers:
          request: { X-Env: prod }
          response: { X-Served: vane }
      - remove-headers: { request: [Cookie] }
      - when: { req.path: /healthz }
        respond: { status: 200, body: "ok {{req.host}}\\n" }
      - when: { req.path: { prefix: /old/ } }
        redirect: { status: 301, location: "https://{{req.host}}/new{{req.path}}" }
      - when: { req.host: a.test }
        proxy: [127.0.0.1:${a.backend.port}]
      - when: { req.host: b.test, req.path: { prefix: /v1/ } }
        proxy: [127.0.0.1:${b.backend.port}]
`);
    const h2 = (host: string, path: string, extra: string[] = []) =>
      runCommand("curl", [
        "-sS",
        "--http2-prior-knowledge",
        "-D",
        "-",
        "-H",
        `Host: ${host}`,
        ...extra,
        `http://127.0.0.1:${port}${path}`,
      ]);
    const toA = await h2("a.test", "/x", ["-H", "Cookie: secret=1"]);
    expect(toA.stdout).toMatch(/^HTTP\/2 200 \r\n/);
    expect(toA.stdout).toContain("x-served: vane\r\n");
    expect((await h2("b.test", "/v1/y")).stdout).toMatch(/hello GET \/v1\/y$/);
    expect((await h2("b.test", "/other")).stdout).toMatch(/^HTTP\/2 404 \r\n/);
    expect((await h2("c.test", "/healthz")).stdout).toMatch(/^HTTP\/2 200[\s\S]*ok c.test\n$/);
    expect((await h2("c.test", "/old/page")).stdout).toMatch(
      /^HTTP\/2 301 \r\n[\s\S]*location: https:\/\/c.test\/new\/old\/page\r\n/,
    );
    expect(a.seen.map((s) => [s.url, s.headers.host, s.headers["x-env"], s.headers.cookie])).toEqual([
      ["/x", "a.test", "prod", undefined],
    ]);
    expect(b.seen.map((s) => s.url)).toEqual(["/v1/y"]);
  });
});

describe("limits and deadlines per HTTP/2 stream", () => {
  it(
    "a rate limit counts each stream as a request (429 past the burst), and the upstream timeout answers 504 per stream",
    async () => {
      const { backend, seen } = await recordingTarget();
      const port = await freePort();
      await vaneWith(`timeouts: { upstream: 500ms }
listeners:
  - listen: http://127.0.0.1:${port}
    flow:
      - rate-limit: { rate: 1/h, burst: 3 }
      - proxy: app
pools:
  # Passive health off: a timeout would otherwise take the only target out.
  app: { targets: [127.0.0.1:${backend.port}], passive: { failures: 0 } }
`);
      // One curl per request: curl 7.88 fails a second request on a prior-knowledge connection.
      const codes: string[] = [];
      for (const path of ["/a", "/slow", "/b", "/c"]) {
        const r = await runCommand("curl", [
          "-sS",
          "--http2-prior-knowledge",
          "-w",
          "%{http_version} %{http_code}",
          "-o",
          "/dev/null",
          `http://127.0.0.1:${port}${path}`,
        ]);
        codes.push(r.stdout);
      }
      expect(codes).toEqual(["2 200", "2 504", "2 200", "2 429"]);
      await new Promise((r) => setTimeout(r, 1500));
      expect(seen.map((s) => s.url).sort()).toEqual(["/a", "/b", "/slow"]);
    },
    20_000,
  );

  it("a reload (SIGHUP) sends GOAWAY NO_ERROR, and a stream in flight still gets its whole answer", async () => {
    const { backend } = await recordingTarget();
    const port = await freePort();
    const vane = await vaneWith(`listeners:
  - listen: http://127.0.0.1:${port}
    flow: [{ proxy: [127.0.0.1:${backend.port}] }]
`);
    const pending = raw("after-goaway", port);
    await new Promise((r) => setTimeout(r, 500));
    process.kill(vane.child.pid!, "SIGHUP");
    const out = await pending;
    expect(out.frames.find((f) => f.type === "goaway")?.code).toBe(0);
    expect(out.frames.filter((f) => f.type === "data" && f.stream === 1).at(-1)?.end).toBe(true);
    await waitFor("the reload", () => vane.stderr().includes("config loaded"), 5000);
  }, 20_000);
});

describe("HTTP/2 over TLS (ALPN h2)", () => {
  it("an https:// listener offers h2 first: curl --http2 speaks HTTP/2, --http1.1 still HTTP/1.1", async () => {
    const { backend, seen } = await recordingTarget();
    const cert = makeCert("h2.test");
    const port = await freePort();
    const vane = spawnVane([
      "--status",
      "off",
      "--workers",
      "1",
      "--listen",
      `https://127.0.0.1:${port}`,
      "--tls",
      `${cert.certPath},${cert.keyPath}`,
      "--route",
      `*=127.0.0.1:${backend.port}`,
    ]);
    await waitFor("vane listening", () => vane.stderr().includes("listening"), 15_000);
    const url = `https://h2.test:${port}/tls`;
    const resolve = ["--resolve", `h2.test:${port}:127.0.0.1`, "-k", "-sS", "-w", "\n%{http_version}"];
    expect((await runCommand("curl", [...resolve, "--http2", url])).stdout).toBe("hello GET /tls\n2");
    expect((await runCommand("curl", [...resolve, "--http1.1", url])).stdout).toBe("hello GET /tls\n1.1");
    expect(seen.map((s) => s.headers["x-forwarded-proto"])).toEqual(["https", "https"]);
    expect(seen[0].headers.host).toBe(`h2.test:${port}`);
  });

  it("TLS terminated inside a tcp:// listener's flow offers h2 too", async () => {
    const { backend, seen } = await recordingTarget();
    const cert = makeCert("term.test");
    const port = await freePort();
    await vaneWith(`tls: [{ cert: ${cert.certPath}, key: ${cert.keyPath} }]
listeners:
  - listen: tcp://127.0.0.1:${port}
    flow:
      - terminate:
          flow: [{ proxy: [127.0.0.1:${backend.port}] }]
`);
    const r = await runCommand("curl", [
      "--resolve",
      `term.test:${port}:127.0.0.1`,
      "-k",
      "-sS",
      "--http2",
      "-w",
      "\n%{http_version}",
      `https://term.test:${port}/t`,
    ]);
    expect(r.stdout).toBe("hello GET /t\n2");
    expect(seen).toHaveLength(1);
  });
});

describe("HTTP/2 protocol safety (raw frames)", () => {
  for (
    const scenario of [
      "uppercase-name",
      "connection-header",
      "transfer-encoding",
      "te-not-trailers",
      "crlf-in-value",
      "pseudo-after-regular",
      "host-differs",
    ]
  ) {
    it(`a request with ${scenario} gets RST_STREAM PROTOCOL_ERROR and never reaches the target`, async () => {
      const { backend, seen } = await recordingTarget();
      const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
      const out = await raw(scenario, port);
      expect(out.frames).toContainEqual({ type: "rststream", stream: 1, code: PROTOCOL_ERROR });
      expect(seen).toHaveLength(0);
    });
  }

  it("a body that disagrees with its content-length is reset, and the target never gets a whole request", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    for (const scenario of ["content-length-short", "content-length-long"]) {
      const out = await raw(scenario, port);
      expect(out.frames, scenario).toContainEqual({ type: "rststream", stream: 1, code: PROTOCOL_ERROR });
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toHaveLength(0);
  });

  it("rapid reset (CVE-2023-44487): streams opened and reset in a loop end the connection with ENHANCE_YOUR_CALM", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const out = await raw("rapid-reset", port);
    const goaway = out.frames.find((f) => f.type === "goaway");
    expect(goaway?.code).toBe(ENHANCE_YOUR_CALM);
    expect(out.closed).toBe(true);
    // Far fewer than the 1,000 streams opened ever reached the target.
    expect(seen.length).toBeLessThan(400);
  });

  for (
    const [scenario, code] of [
      ["continuation-flood", ENHANCE_YOUR_CALM],
      ["ping-flood", ENHANCE_YOUR_CALM],
      ["settings-flood", ENHANCE_YOUR_CALM],
    ] as const
  ) {
    it(`${scenario}: the connection ends with GOAWAY ${code === ENHANCE_YOUR_CALM ? "ENHANCE_YOUR_CALM" : code}`, async () => {
      const { backend } = await recordingTarget();
      const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
      const out = await raw(scenario, port);
      expect(out.frames.find((f) => f.type === "goaway")?.code).toBe(code);
      expect(out.closed).toBe(true);
    });
  }

  it("connection errors end with GOAWAY PROTOCOL_ERROR: SETTINGS_ENABLE_PUSH=2, a WINDOW_UPDATE of 0, an even stream id", async () => {
    const { backend } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    for (const scenario of ["bad-settings", "window-zero", "even-stream"]) {
      const out = await raw(scenario, port);
      expect(out.frames.find((f) => f.type === "goaway")?.code, scenario).toBe(PROTOCOL_ERROR);
      expect(out.closed, scenario).toBe(true);
    }
  });

  it("a header list over 64 KiB gets 431 on its stream, and the connection serves the next request", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    for (const scenario of ["too-large", "hpack-bomb"]) {
      const out = await raw(scenario, port);
      const statuses = out.frames.filter((f) => f.type === "headers").map((f) => [f.stream, f.status]);
      const refused = scenario === "too-large" ? [[1, "431"], [3, "200"]] : [[1, "200"], [3, "431"], [5, "200"]];
      expect(statuses, scenario).toEqual(refused);
      expect(out.frames.some((f) => f.type === "goaway"), scenario).toBe(false);
    }
    // Only the requests within the limit reached the target.
    expect(seen.map((s) => s.url)).toEqual(["/", "/", "/"]);
  });

  it("the stream past 100 at once is refused with REFUSED_STREAM; the other 100 are served", async () => {
    const { backend, seen } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const out = await raw("many-streams", port);
    expect(out.frames).toContainEqual({ type: "rststream", stream: 201, code: REFUSED_STREAM });
    await waitFor("the 100 slow requests at the target", () => seen.length === 100, 10_000);
  });

  it("a client that reads nothing is sent no more than its window (65,535 bytes of a 1 MiB answer)", async () => {
    const { backend } = await recordingTarget();
    const { port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
    const out = await raw("slow-reader", port);
    const sent = out.frames.filter((f) => f.type === "data").reduce((n, f) => n + (f.bytes ?? 0), 0);
    expect(sent).toBe(65_535);
  });

  it(
    "a client reading 64 MiB at about 1 MB/s holds the target back: vane buffers no more than its windows and socket buffers",
    async () => {
      let sent = 0;
      const total = 64 << 20;
      const chunk = new Uint8Array(64 * 1024).fill(104);
      const backend = await startBackend((_req, res) => {
        res.setHeader("content-length", total);
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end();
        };
        pump();
      });
      const { vane, port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`]);
      const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${vane.child.pid}/status`, "utf8"))?.[1] ?? 0);
      const before = rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rss())), 200);
      const r = await runCommand(PYTHON, [H2RAW, "slow-download", String(port), "/big", String(1 << 20), "4"], {
        timeoutMs: 20_000,
      });
      clearInterval(sampler);
      const read = JSON.parse(r.stdout) as { bytes: number; seconds: number };
      expect(read.bytes).toBeGreaterThan(1 << 20);
      expect(read.bytes).toBeLessThan(16 << 20);
      // What the target could write ran ahead of the reader by socket buffers at most, not by the body.
      expect(sent - read.bytes).toBeLessThan(24 << 20);
      expect(peak - before).toBeLessThan(40 * 1024);
    },
    30_000,
  );

  it("SIGTERM sends GOAWAY NO_ERROR, and a stream in flight still gets its whole answer", async () => {
    const { backend } = await recordingTarget();
    const { vane, port } = await startVane(["--route", `*=127.0.0.1:${backend.port}`, "--grace", "5s"]);
    const pending = raw("after-goaway", port);
    await new Promise((r) => setTimeout(r, 500));
    signal(vane, "SIGTERM");
    const out = await pending;
    const goaway = out.frames.find((f) => f.type === "goaway");
    expect(goaway?.code).toBe(0);
    expect(out.frames.filter((f) => f.type === "data" && f.stream === 1).at(-1)?.end).toBe(true);
    expect(await vane.exited).toBe(0);
  }, 20_000);
});

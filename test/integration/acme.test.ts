/**
 * Automatic HTTPS against a real ACME CA: Debian's pebble, with pebble-challtestsrv
 * as its DNS (test/helpers/pebble.ts), validating against vane's own ephemeral ports.
 * vane runs as a process, as an operator runs it; curl checks the certificate served
 * against pebble's root with --resolve. Nothing here touches the internet.
 */
import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import https from "node:https";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { startBackend } from "../helpers/http-engine.ts";
import { freePort } from "../helpers/net.ts";
import { signal, spawnVane, type VaneProcess } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";
import { runCommand, startCommand, stopCommands } from "../helpers/command.ts";
import { compiledVane } from "../helpers/compiled-vane.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Pebble, servedSerial, startPebble, stopPebbles } from "../helpers/pebble.ts";
import { statusOf } from "../helpers/status.ts";
import { generateKeyPairSync } from "node:crypto";
import { AcmeClient } from "../../src/tls/acme/client.ts";

const dirs: string[] = [];
const ariServers: https.Server[] = [];

afterEach(async () => {
  await stopAll();
  stopCommands();
  stopPebbles();
  for (const server of ariServers.splice(0)) server.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "vane-acme-"));
  dirs.push(d);
  return d;
}

interface Setup {
  pebble: Pebble;
  https: number;
  http: number;
  status: number;
  state: string;
  backend: number;
}

async function setup(validitySeconds?: number, nonceRejectPercent?: number): Promise<Setup> {
  const backend = await startBackend((req, res) => res.end(`target ${req.headers.host}`));
  const [https, http, status] = [await freePort(), await freePort(), await freePort()];
  const pebble = await startPebble({ httpPort: http, tlsPort: https, validitySeconds, nonceRejectPercent });
  return { pebble, https, http, status, state: join(tempDir(), "state"), backend: backend.port };
}

/** vane with ACME against pebble; `extra` adds flags (listeners are the caller's). */
function acmeVane(s: Setup, listeners: string[], extra: string[] = [], workers = 1): VaneProcess {
  return spawnVane([
    ...listeners.flatMap((l) => ["--listen", l]),
    ...["--route", `app.example.com=127.0.0.1:${s.backend}`],
    ...["--acme", "ops@example.com", "--acme-directory", s.pebble.directory, "--acme-ca-root", s.pebble.caRoot],
    ...["--state-dir", s.state, "--status", `127.0.0.1:${s.status}`, "--workers", String(workers)],
    ...extra,
  ]);
}

function count(text: string, what: string): number {
  return text.split(what).length - 1;
}

/** curl over HTTPS to `host`, verifying against pebble's issuing root. */
function curlHttps(s: Setup, host: string, path = "/") {
  return runCommand("curl", [
    ...["-sS", "--cacert", s.pebble.issuerRoot, "--resolve", `${host}:${s.https}:127.0.0.1`],
    ...["-w", " %{http_code}", `https://${host}:${s.https}${path}`],
  ]);
}

describe("ACME (pebble)", () => {
  it(
    "obtains a certificate over HTTP-01, serves it, and a restart reuses the stored one without a new order",
    async () => {
      const s = await setup();
      const listeners = [`https://127.0.0.1:${s.https}`, `http://127.0.0.1:${s.http}`];
      let vane = acmeVane(s, listeners);
      // The first test of the file pays for cold starts (pebble, the runtime) under a
      // loaded suite: a generous bound, and what vane and pebble said if it is not met.
      await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 60_000).catch(
        (err) => {
          throw new Error(
            `${err.message}\nvane: ${vane.stderr().slice(-2000)}\npebble: ${s.pebble.output().slice(-2000)}`,
          );
        },
      );
      expect(vane.stderr()).toMatch(/certificate obtained name=app\.example\.com .*challenge=http-01/);
      const got = await curlHttps(s, "app.example.com");
      expect(got.stderr).toBe("");
      expect(got.stdout).toBe(`target app.example.com:${s.https} 200`);
      expect(count(s.pebble.output(), "POST /chalZ/")).toBeGreaterThan(0);
      expect(s.pebble.orders()).toBe(1);
      const st = await statusOf(s.status);
      expect(st.certificates).toEqual([
        expect.objectContaining({ name: "app.example.com", state: "valid", lastError: null }),
      ]);
      expect(st.certificates![0].expiresInSeconds).toBeGreaterThan(86_400);
      const metrics = await (await fetch(`http://127.0.0.1:${s.status}/metrics`)).text();
      expect(metrics).toMatch(/^vane_tls_certificate_expiry_seconds\{name="app\.example\.com"\} \d+$/m);
      // Private: directories 0700, files 0600.
      const certDir = join(s.state, "acme", `127.0.0.1-${new URL(s.pebble.directory).port}-dir`);
      expect(statSync(s.state).mode & 0o777).toBe(0o700);
      expect(statSync(join(certDir, "account.key")).mode & 0o777).toBe(0o600);
      expect(statSync(join(certDir, "certs", "app.example.com", "key.pem")).mode & 0o777).toBe(0o600);
      const serial = await servedSerial(s.https, "app.example.com");
      expect(serial).toMatch(/^serial=/);

      signal(vane, "SIGTERM");
      await vane.exited;
      vane = acmeVane(s, listeners);
      await waitFor("certificate loaded", () => vane.stderr().includes("certificate loaded"), 20_000);
      expect((await curlHttps(s, "app.example.com")).stdout).toBe(`target app.example.com:${s.https} 200`);
      expect(await servedSerial(s.https, "app.example.com")).toBe(serial);
      expect(s.pebble.orders()).toBe(1);
      expect(vane.stderr()).not.toContain("certificate obtained");
    },
    120_000,
  );

  it("reads tls.acme from YAML and answers HTTP-01 on a listener that redirects everything else with 308", async () => {
    const s = await setup();
    const file = join(tempDir(), "vane.yaml");
    writeFileSync(
      file,
      `workers: 1
control: { listen: 127.0.0.1:${s.status} }
state-dir: ${s.state}
tls:
  acme: { email: ops@example.com, directory: "${s.pebble.directory}", ca-root: ${s.pebble.caRoot}, challenge: http-01 }
listeners:
  - listen: http://127.0.0.1:${s.http}
    redirect: https
  - listen: https://127.0.0.1:${s.https}
    flow: [{ when: { host: app.example.com }, proxy: [127.0.0.1:${s.backend}] }]
`,
    );
    const vane = spawnVane(["--config", file]);
    await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 30_000);
    expect((await curlHttps(s, "app.example.com", "/x")).stdout).toBe(`target app.example.com:${s.https} 200`);
    const plain = await runCommand("curl", [
      ...["-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", "Host: app.example.com"],
      `http://127.0.0.1:${s.http}/x`,
    ]);
    expect(plain.stdout).toBe(`308 https://app.example.com:${s.https}/x`);
  }, 60_000);

  it("obtains a certificate over TLS-ALPN-01 with no http:// listener, serving acme-tls/1 only to the CA", async () => {
    const s = await setup();
    const vane = acmeVane(s, [`https://127.0.0.1:${s.https}`], ["--acme-challenge", "tls-alpn-01"]);
    if ("Deno" in globalThis) {
      // Deno's rustls refuses to serve a certificate with an unknown critical extension,
      // which RFC 8737 requires: vane says so at start rather than failing every validation.
      expect(await vane.exited).not.toBe(0);
      expect(vane.stderr()).toMatch(
        /tls-alpn-01: not on deno, whose TLS refuses the challenge certificate's critical acmeIdentifier extension/,
      );
      expect(s.pebble.orders()).toBe(0);
      return;
    }
    await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 30_000);
    expect(vane.stderr()).toMatch(/certificate obtained name=app\.example\.com .*challenge=tls-alpn-01/);
    expect((await curlHttps(s, "app.example.com")).stdout).toBe(`target app.example.com:${s.https} 200`);
    // Nothing listens for HTTP: no port 80 listener was added for tls-alpn-01.
    expect(vane.stderr()).not.toMatch(/listening listen=http:/);
  }, 60_000);

  it("registers the account once when several names ask for it at the same moment", async () => {
    // Two newAccount requests for one key at once made pebble answer "Error saving
    // account" to one of them (CI, 2026-12-07): names ordered together share one. Pebble
    // refuses no nonce here: a badNonce (5% by default) is retried, a second POST.
    const s = await setup(undefined, 0);
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const client = new AcmeClient(s.pebble.directory, privateKey, { ca: readFileSync(s.pebble.caRoot, "utf8") });
    const urls = await Promise.all([1, 2, 3].map(() => client.account("ops@example.com")));
    expect(new Set(urls).size).toBe(1);
    expect(urls[0]).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
    // Pebble's log line reaches its pipe before its answer, but may be read after it.
    await waitFor("pebble's log of newAccount", () => count(s.pebble.output(), "POST /sign-me-up") > 0, 5_000);
    expect(count(s.pebble.output(), "POST /sign-me-up")).toBe(1);
    expect(await client.account("ops@example.com")).toBe(urls[0]);
    expect(count(s.pebble.output(), "POST /sign-me-up")).toBe(1);
  });

  it("reports a failed challenge in the log and /status, and keeps serving the other names", async () => {
    const s = await setup();
    // The CA looks for bad.example.com where vane does not listen.
    await s.pebble.setA("bad.example.com", "127.0.0.2");
    const vane = acmeVane(s, [`https://127.0.0.1:${s.https}`, `http://127.0.0.1:${s.http}`], [
      ...["--route", `bad.example.com=127.0.0.1:${s.backend}`],
    ]);
    await waitFor(
      "both attempts done",
      () => /certificate failed/.test(vane.stderr()) && /certificate obtained/.test(vane.stderr()),
      30_000,
    ).catch((err) => {
      throw new Error(`${err.message}\nvane:\n${vane.stderr()}\npebble:\n${s.pebble.output().slice(-4000)}`);
    });
    const line = vane.stderr().split("\n").find((l) => l.includes("certificate failed"))!;
    expect(line).toMatch(/ERROR/);
    expect(line).toContain("host=bad.example.com");
    expect(line).toContain("challenge=http-01");
    expect(line).toMatch(/error=".*(connection|refused).*"/i);
    const st = await statusOf(s.status);
    const bad = st.certificates!.find((c) => c.name === "bad.example.com")!;
    expect(bad.state).toBe("failed");
    expect(bad.lastError).toMatch(/^http-01: .*(connection|refused)/i);
    expect(st.certificates!.find((c) => c.name === "app.example.com")!.state).toBe("valid");
    expect((await curlHttps(s, "app.example.com")).stdout).toBe(`target app.example.com:${s.https} 200`);
    // A name without its certificate: the handshake waits (10 s) and is closed, no other certificate served.
    const started = Date.now();
    const held = await curlHttps(s, "bad.example.com");
    expect(held.code).not.toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(9_000);
    expect(held.stderr).not.toMatch(/certificate|verify/i);
  }, 60_000);

  it(
    "renews at two thirds of a short lifetime without a restart: new handshakes get the new certificate, an open connection goes on",
    async () => {
      const s = await setup(30);
      const vane = acmeVane(s, [`https://127.0.0.1:${s.https}`, `http://127.0.0.1:${s.http}`]);
      await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 30_000);
      const first = await servedSerial(s.https, "app.example.com");
      const open = await openTls(s, "app.example.com");
      expect(await open.get("/before")).toContain("200 OK");
      await waitFor("certificate renewed", () => vane.stderr().includes("certificate renewed"), 40_000);
      expect(s.pebble.orders()).toBe(2);
      const second = await servedSerial(s.https, "app.example.com");
      expect(second).toMatch(/^serial=/);
      expect(second).not.toBe(first);
      expect(await open.get("/after")).toContain("200 OK");
      open.close();
      expect((await curlHttps(s, "app.example.com")).stdout).toBe(`target app.example.com:${s.https} 200`);
    },
    90_000,
  );

  it(
    "renews when the CA's renewal information (ARI) says so, long before two thirds of the lifetime",
    async () => {
      // pebble 2.4 has no renewalInfo, so its directory is served here with one added,
      // pointing at an ARI responder of this test (on pebble's own certificate, which
      // vane trusts by --acme-ca-root). The first certificate's window is in 4 s; any other
      // certificate's is a month away, so exactly one renewal follows.
      const s = await setup(); // pebble's default lifetime: 5 years, two thirds far off
      const asked: string[] = [];
      let firstId: string | null = null;
      const ari = await startAri(s.pebble, (id) => {
        asked.push(id);
        firstId ??= id;
        // The first window opens a few seconds on, so the first certificate is still the
        // one served when the test reads its serial.
        const start = id === firstId ? Date.now() + 4_000 : Date.now() + 30 * 86_400_000;
        return {
          suggestedWindow: { start: new Date(start).toISOString(), end: new Date(start + 2_000).toISOString() },
        };
      });
      const vane = spawnVane([
        ...["--listen", `https://127.0.0.1:${s.https}`, "--listen", `http://127.0.0.1:${s.http}`],
        ...["--route", `app.example.com=127.0.0.1:${s.backend}`],
        ...["--acme", "ops@example.com", "--acme-directory", ari.directory, "--acme-ca-root", s.pebble.caRoot],
        ...["--state-dir", s.state, "--status", `127.0.0.1:${s.status}`, "--workers", "1"],
      ]);
      await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 30_000);
      const first = await servedSerial(s.https, "app.example.com");
      await waitFor("certificate renewed", () => vane.stderr().includes("certificate renewed"), 40_000);
      await waitFor("the new certificate's window asked for", () => asked.length >= 2, 20_000);
      expect(s.pebble.orders()).toBe(2);
      expect(await servedSerial(s.https, "app.example.com")).not.toBe(first);
      // Asked by certificate: the first id, then the renewed certificate's own.
      expect(asked[0]).toBe(firstId);
      expect(asked[asked.length - 1]).not.toBe(firstId);
      expect(asked[0]).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      expect((await curlHttps(s, "app.example.com")).stdout).toBe(`target app.example.com:${s.https} 200`);
    },
    90_000,
  );

  it("with --workers 2, the primary alone orders; both processes serve the certificate", async () => {
    const s = await setup();
    const vane = acmeVane(s, [`https://127.0.0.1:${s.https}`, `http://127.0.0.1:${s.http}`], [], 2);
    await waitFor("workers serving", () => vane.stderr().includes("workers serving"), 30_000);
    await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 30_000);
    // Connections spread over both processes (SO_REUSEPORT): each must have the certificate.
    for (let i = 0; i < 16; i++) {
      const r = await curlHttps(s, "app.example.com", `/${i}`);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`target app.example.com:${s.https} 200`);
    }
    const st = await statusOf(s.status);
    expect(st.workers.map((w) => w.worker)).toEqual([0, 1]);
    expect(st.workers.every((w) => w.connections > 0)).toBe(true);
    expect(st.certificates).toEqual([expect.objectContaining({ name: "app.example.com", state: "valid" })]);
    expect(count(vane.stderr(), "certificate obtained")).toBe(1);
    expect(s.pebble.orders()).toBe(1);
  }, 60_000);

  it(
    "with --workers 2, a renewal over HTTP-01 reaches both processes (the CA's request may land on either)",
    async () => {
      const s = await setup(30);
      const vane = acmeVane(
        s,
        [`https://127.0.0.1:${s.https}`, `http://127.0.0.1:${s.http}`],
        ["--acme-challenge", "http-01"],
        2,
      );
      await waitFor("workers serving", () => vane.stderr().includes("workers serving"), 30_000);
      await waitFor("certificate obtained", () => vane.stderr().includes("certificate obtained"), 30_000);
      const first = await servedSerial(s.https, "app.example.com");
      // The renewal's validation connects to the http:// port, which both processes
      // listen on (SO_REUSEPORT): the worker must know the token the primary was given.
      await waitFor("certificate renewed", () => vane.stderr().includes("certificate renewed"), 40_000);
      expect(vane.stderr()).not.toContain("certificate failed");
      expect(s.pebble.orders()).toBe(2);
      // New connections spread over both processes: every one gets the new certificate.
      const serials = new Set<string>();
      for (let i = 0; i < 12; i++) serials.add(await servedSerial(s.https, "app.example.com"));
      expect([...serials]).toHaveLength(1);
      expect([...serials][0]).not.toBe(first);
      const st = await statusOf(s.status);
      expect(st.workers.every((w) => w.connections > 0)).toBe(true);
    },
    90_000,
  );

  it("obtains and serves a certificate through the compiled binary (dist/vane), as operators run it", async () => {
    const bin = await compiledVane();
    const s = await setup();
    const vane = startCommand(bin, [
      ...["--listen", `https://127.0.0.1:${s.https}`, "--listen", `http://127.0.0.1:${s.http}`],
      ...["--route", `app.example.com=127.0.0.1:${s.backend}`],
      ...["--acme", "ops@example.com", "--acme-directory", s.pebble.directory, "--acme-ca-root", s.pebble.caRoot],
      ...["--state-dir", s.state, "--workers", "1"],
    ]);
    await waitFor("certificate obtained", () => vane.output().includes("certificate obtained"), 60_000);
    const r = await curlHttps(s, "app.example.com");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`target app.example.com:${s.https} 200`);
    expect(s.pebble.orders()).toBe(1);
  }, 240_000);
});

/** One TLS connection kept open (keep-alive), trusting pebble's root. */
async function openTls(s: Setup, host: string) {
  const socket = tls.connect({
    host: "127.0.0.1",
    port: s.https,
    servername: host,
    ca: readFileSync(s.pebble.issuerRoot, "utf8"),
  });
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  return {
    get(path: string): Promise<string> {
      return new Promise((resolve) => {
        let text = "";
        const onData = (d: Uint8Array) => {
          text += new TextDecoder().decode(d);
          if (/\r\n\r\n[\s\S]*target/.test(text)) {
            socket.off("data", onData);
            resolve(text);
          }
        };
        socket.on("data", onData);
        socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      });
    },
    close: () => socket.destroy(),
  };
}

/**
 * pebble's directory with `renewalInfo` added, and an ARI responder answering
 * `window(certID)` (RFC 9773), over HTTPS on pebble's own certificate and key.
 */
async function startAri(
  pebble: Pebble,
  window: (certId: string) => object,
): Promise<{ directory: string }> {
  const dir = dirname(pebble.caRoot);
  const ca = readFileSync(pebble.caRoot, "utf8");
  const server = https.createServer(
    { cert: ca, key: readFileSync(join(dir, "key.pem"), "utf8") },
    (req, res) => {
      const url = req.url ?? "";
      if (url.startsWith("/ari/")) {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(window(decodeURIComponent(url.slice("/ari/".length)))));
        return;
      }
      https.get(pebble.directory, { ca }, (up) => {
        let body = "";
        up.setEncoding("utf8");
        up.on("data", (d: string) => (body += d));
        up.on("end", () => {
          const d = JSON.parse(body);
          d.renewalInfo = `https://127.0.0.1:${port}/ari/`;
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify(d));
        });
      }).on("error", (err) => res.writeHead(502).end(String(err)));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  ariServers.push(server);
  return { directory: `https://127.0.0.1:${port}/dir` };
}

/**
 * TLS test fixtures: self-signed certificates made with the openssl CLI, TLS
 * backends on node:tls that name themselves, and openssl s_client as the real client.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import type { TestServer } from "./net.ts";

export interface Cert {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

// Made on first use and forgotten on removal: bun runs every test file in one process
// with this module shared, so one file's cleanup must not pull the folder from another.
let dir: string | null = null;

/** Cleans up the certificate folder; call in afterAll. */
export function removeCerts(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
}

/** A self-signed P-256 certificate for `names` (the first is the CN). */
export function makeCert(...names: string[]): Cert {
  return selfSigned(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "", names);
}

/**
 * A self-signed RSA 2048 certificate for `names`: the key type that also allows suites
 * without forward secrecy (RSA key exchange), so a test can show they are refused.
 */
export function makeRsaCert(...names: string[]): Cert {
  return selfSigned(["-newkey", "rsa:2048"], "-rsa", names);
}

function selfSigned(keyArgs: string[], suffix: string, names: string[]): Cert {
  dir ??= mkdtempSync(join(tmpdir(), "vane-tls-"));
  const base = join(dir, names[0].replace(/[^a-z0-9.-]/gi, "_") + suffix);
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    ...keyArgs,
    "-nodes",
    "-keyout",
    `${base}.key`,
    "-out",
    `${base}.crt`,
    "-days",
    "2",
    "-subj",
    `/CN=${names[0]}`,
    "-addext",
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
  ], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return {
    cert: readFileSync(`${base}.crt`, "utf8"),
    key: readFileSync(`${base}.key`, "utf8"),
    certPath: `${base}.crt`,
    keyPath: `${base}.key`,
  };
}

/** A TLS server on 127.0.0.1 that answers every connection with `hello-from-NAME` and closes. */
export function tlsNameServer(name: string, cert: Cert): Promise<TestServer> {
  return new Promise((resolve, reject) => {
    const server = tls.createServer({ key: cert.key, cert: cert.cert }, (s) => {
      s.on("error", () => {});
      s.end(`hello-from-${name}\n`);
    });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const handle: TestServer = {
        port: (server.address() as { port: number }).port,
        accepted: 0,
        close: () => new Promise((done) => server.close(() => done())),
      };
      server.on("secureConnection", () => handle.accepted++);
      resolve(handle);
    });
  });
}

export interface SClientResult {
  /** The subject CN of the certificate the client was shown. */
  peerCN: string | null;
  /** The NAME of a `hello-from-NAME` line the server sent after the handshake, or null. */
  greeting: string | null;
  output: string;
}

/** Runs `openssl s_client` against 127.0.0.1:port with SNI (or none) and collects what it saw. */
export function sClient(port: number, servername: string | null): Promise<SClientResult> {
  const args = ["s_client", "-connect", `127.0.0.1:${port}`, "-ign_eof"];
  if (servername) args.push("-servername", servername);
  else args.push("-noservername");
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      const cn = out.match(/^subject=.*?CN\s*=\s*([^\s,/]+)/m)?.[1] ?? null;
      // s_client interleaves the server's bytes with its own summary: look for the marker.
      const greeting = out.match(/^hello-from-(\S+)$/m)?.[1] ?? null;
      resolve({ peerCN: cn, greeting, output: out });
    });
  });
}

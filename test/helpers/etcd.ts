/**
 * A real etcd (Debian's etcd-server, 3.4) for tests: one member on loopback ports with a
 * temporary data directory, which a test can kill (SIGKILL, as a crash) and start again
 * on the same directory and ports, as an operator's bad day would. `etcdctl` runs
 * against it for what the client under test does not do itself (auth setup, compaction).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.ts";
import { waitFor } from "./wait.ts";

export const ETCD = "/usr/bin/etcd";
export const haveEtcd = () => existsSync(ETCD);

export interface TestEtcd {
  url: string;
  /** Kills the member at once (SIGKILL): its data stays. */
  kill(): Promise<void>;
  /** Starts the member again on the same data and ports; resolves once it answers. */
  start(): Promise<void>;
  /** Runs etcdctl against it: its stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Kills it and removes its data. */
  stop(): Promise<void>;
}

const running = new Set<TestEtcd>();

/** PEM files of a test CA, a server certificate for 127.0.0.1 and a client certificate, all by that CA. */
export interface EtcdPki {
  ca: string;
  caPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCert: string;
  clientKey: string;
}

/** etcd's /health over https with the client certificate (fetch cannot present one on both runtimes). */
function healthOverTls(url: string, pki: EtcdPki): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/health`, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
  });
}

function openssl(args: string[]): void {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
}

function makePki(dir: string): EtcdPki {
  const f = (name: string) => join(dir, name);
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"].concat(
    ["-keyout", f("ca.key"), "-out", f("ca.crt"), "-subj", "/CN=vane test etcd CA"],
  ));
  const issue = (name: string, subject: string, ext: string) => {
    openssl(
      ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f(`${name}.key`)].concat(
        ["-out", f(`${name}.csr`), "-subj", subject],
      ),
    );
    writeFileSync(f(`${name}.ext`), ext);
    openssl(["x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key")].concat(
      ["-CAcreateserial", "-days", "2", "-out", f(`${name}.crt`), "-extfile", f(`${name}.ext`)],
    ));
  };
  issue("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n");
  issue("client", "/CN=vane", "extendedKeyUsage=clientAuth\n");
  return {
    ca: readFileSync(f("ca.crt"), "utf8"),
    caPath: f("ca.crt"),
    serverCertPath: f("server.crt"),
    serverKeyPath: f("server.key"),
    clientCert: readFileSync(f("client.crt"), "utf8"),
    clientKey: readFileSync(f("client.key"), "utf8"),
  };
}

/**
 * One etcd member. With `tls`, it serves https only and requires a client certificate
 * signed by the test CA (`pki`). Its ports are picked free and then bound by etcd, so
 * another process may take one in between: a member that exits before it answers is
 * started again on other ports (up to 3 times), and the last one's error says why.
 */
export async function startEtcd(opts: { tls?: boolean } = {}): Promise<TestEtcd & { pki: EtcdPki | null }> {
  const dir = mkdtempSync(join(tmpdir(), "vane-etcd-"));
  const pki = opts.tls ? makePki(dir) : null;
  for (let attempt = 1;; attempt++) {
    const client = await freePort();
    let peer = await freePort();
    while (peer === client) peer = await freePort();
    const h = member(dir, pki, client, peer);
    running.add(h);
    try {
      await h.start();
      return h;
    } catch (err) {
      running.delete(h);
      await h.kill();
      if (!(err instanceof EtcdExited) || attempt === 3) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      rmSync(join(dir, "data"), { recursive: true, force: true });
    }
  }
}

/** etcd ended before it answered (a port taken, say): what it said on stderr. */
class EtcdExited extends Error {}

/** The member on `dir` and these ports (startEtcd's: see there). */
function member(dir: string, pki: EtcdPki | null, client: number, peer: number): TestEtcd & { pki: EtcdPki | null } {
  const url = `${pki ? "https" : "http"}://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const args = [
    "--name=t",
    `--data-dir=${join(dir, "data")}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=t=${peerUrl}`,
    "--log-level=error",
    ...(pki
      ? [
        `--cert-file=${pki.serverCertPath}`,
        `--key-file=${pki.serverKeyPath}`,
        `--trusted-ca-file=${pki.caPath}`,
        "--client-cert-auth",
      ]
      : []),
  ];
  const tlsArgs = pki ? [`--cacert=${pki.caPath}`, `--cert=${pki.serverCertPath}`, `--key=${pki.serverKeyPath}`] : [];
  const ctl = (...a: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile(
        "etcdctl",
        [`--endpoints=${url}`, ...tlsArgs, ...a],
        { env: { ...process.env, ETCDCTL_API: "3" } },
        (e, out, err) => e ? reject(new Error(`etcdctl ${a.join(" ")}: ${err || e.message}`)) : resolve(out),
      )
    );
  const h: TestEtcd & { pki: EtcdPki | null } = {
    url,
    pki,
    async start() {
      child = spawn(ETCD, args, { stdio: ["ignore", "ignore", "pipe"] });
      const c = child;
      // The end of what etcd says (errors only), for when it ends before answering.
      let said = "";
      c.stderr?.on("data", (d: Buffer) => (said = (said + d.toString()).slice(-2000)));
      let gone = false;
      exited = new Promise((r) => c.on("exit", () => r()));
      exited.then(() => (gone = true));
      await waitFor("etcd answers", async () => {
        if (gone) throw new EtcdExited(`etcd exited before answering on ${url}: ${said.trim() || "(nothing said)"}`);
        try {
          if (pki) return await healthOverTls(url, pki);
          return (await fetch(`${url}/health`)).ok;
        } catch {
          return false;
        }
      }, 20_000);
    },
    async kill() {
      child?.kill("SIGKILL");
      await exited;
      child = null;
    },
    ctl,
    async stop() {
      running.delete(h);
      await h.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Stops every etcd still running (afterEach/afterAll). */
export async function stopAllEtcd(): Promise<void> {
  await Promise.all([...running].map((e) => e.stop()));
}

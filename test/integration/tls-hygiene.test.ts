/**
 * What vane's TLS server offers, measured with openssl s_client on both runtimes: TLS
 * 1.2 and 1.3 only, on TLS 1.2 only ECDHE suites with AEAD ciphers (an RSA certificate,
 * so that suites without forward secrecy could be chosen if they were offered);
 * `tls-min-version` and `tls-ciphers` (refused at load on Deno, whose TLS takes no
 * cipher list); sessions resumed on a later connection, TLS 1.2 and 1.3 alike; and
 * no OCSP staple, which neither runtime's TLS server can send (the day node:tls emits
 * 'OCSPRequest' on one, the canary below fails: implement stapling then).
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import tls from "node:tls";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopAll } from "../helpers/cleanup.ts";
import { spawnVane } from "../helpers/process.ts";
import { CONTROL, startYaml, yamlConfig } from "../helpers/vane.ts";
import { type Cert, makeRsaCert, removeCerts } from "../helpers/tls.ts";
import { runtime } from "../../src/runtime/mod.ts";

const dirs: string[] = [];
afterEach(async () => {
  await stopAll();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(removeCerts);

const REQUEST = "GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";

interface Handshake {
  /** "TLSv1.2", "TLSv1.3", or null when no session was made. */
  protocol: string | null;
  cipher: string | null;
  reused: boolean;
  output: string;
}

/** `openssl s_client` to 127.0.0.1:port with SNI a.test, one request, until the server closes. */
function handshake(port: number, args: string[]): Promise<Handshake> {
  const argv = ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "a.test", "-ign_eof", ...args];
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", argv, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.stdin.on("error", () => {}); // a refused handshake closes before the request is taken
    child.stdin.end(REQUEST);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      const line = /^(New|Reused), (\S+), Cipher is (\S+)/m.exec(out);
      const made = line !== null && line[3] !== "(NONE)";
      const protocol = /^\s*Protocol\s*: (\S+)/m.exec(out)?.[1] ?? null;
      resolve({
        protocol: made ? protocol : null,
        cipher: made ? line![3] : null,
        reused: line?.[1] === "Reused",
        output: out,
      });
    });
  });
}

/** An https:// listener answering "ok"; `certs` are its certificates, chosen by SNI (a.test). */
function httpsYaml(cert: Cert | Cert[], extra = ""): string {
  const list = [cert].flat().map((c) => `{ cert: ${c.certPath}, key: ${c.keyPath} }`).join(", ");
  return `${CONTROL}
listeners:
  - listen: https://127.0.0.1:0
    tls: [${list}]
${extra}    flow:
      - respond: { status: 200, body: "ok\\n" }
`;
}

describe("TLS server defaults", () => {
  it("refuses TLS 1.1, and on TLS 1.2 suites without forward secrecy or without AEAD; accepts ECDHE with GCM and TLS 1.3", async () => {
    const t = await startYaml(httpsYaml(makeRsaCert("a.test")));
    expect((await handshake(t.port, ["-tls1_1"])).protocol).toBeNull();
    // RSA key exchange (no forward secrecy), then ECDHE with CBC (no AEAD).
    expect((await handshake(t.port, ["-tls1_2", "-cipher", "AES128-SHA256"])).cipher).toBeNull();
    expect((await handshake(t.port, ["-tls1_2", "-cipher", "AES128-GCM-SHA256"])).cipher).toBeNull();
    expect((await handshake(t.port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"])).cipher).toBeNull();
    expect((await handshake(t.port, ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"])).cipher).toBeNull();
    const fs = await handshake(t.port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]);
    expect([fs.protocol, fs.cipher]).toEqual(["TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"]);
    expect(fs.output).toContain("ok");
    expect((await handshake(t.port, ["-tls1_3"])).protocol).toBe("TLSv1.3");
  });

  it("tls-min-version: 1.3 refuses TLS 1.2 and accepts TLS 1.3", async () => {
    const t = await startYaml(httpsYaml(makeRsaCert("a.test"), '    tls-min-version: "1.3"\n'));
    expect((await handshake(t.port, ["-tls1_2"])).protocol).toBeNull();
    expect((await handshake(t.port, ["-tls1_3"])).protocol).toBe("TLSv1.3");
  });

  it("a reload that sets tls-min-version: 1.3 applies it to the next connection", async () => {
    const cert = makeRsaCert("a.test");
    const t = await startYaml(httpsYaml(cert));
    expect((await handshake(t.port, ["-tls1_2"])).protocol).toBe("TLSv1.2");
    const outcome = await t.vane.reload(yamlConfig(httpsYaml(cert, '    tls-min-version: "1.3"\n')));
    expect(outcome.ok).toBe(true);
    const port = t.vane.listeners[0].addr.port;
    expect((await handshake(port, ["-tls1_2"])).protocol).toBeNull();
    expect((await handshake(port, ["-tls1_3"])).protocol).toBe("TLSv1.3");
  });

  it("tls-ciphers narrows the TLS 1.2 suites where the runtime takes a cipher list; elsewhere (Deno) the file is refused at its line", async () => {
    const cert = makeRsaCert("a.test");
    const yaml = httpsYaml(cert, "    tls-ciphers: ECDHE-RSA-AES256-GCM-SHA384\n");
    if (runtime().tlsCiphers) {
      const t = await startYaml(yaml);
      expect((await handshake(t.port, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"])).cipher).toBeNull();
      expect((await handshake(t.port, ["-tls1_2"])).cipher).toBe("ECDHE-RSA-AES256-GCM-SHA384");
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), "vane-hygiene-"));
    dirs.push(dir);
    writeFileSync(join(dir, "vane.yaml"), yaml);
    const p = spawnVane(["check", join(dir, "vane.yaml")]);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain(`vane.yaml:5:18: listeners[0].tls-ciphers: Deno's TLS (rustls) takes no cipher list`);
  });
});

describe("TLS session resumption", () => {
  for (const version of ["-tls1_2", "-tls1_3"]) {
    it(`resumes a ${version.slice(1)} session on a later connection to the same listener, and not on another vane's`, async () => {
      // a.test is not the default certificate: SNI picks it, and the session is its.
      const certs = [makeRsaCert("default.test"), makeRsaCert("a.test")];
      const t = await startYaml(httpsYaml(certs));
      const other = await startYaml(httpsYaml(certs));
      const dir = mkdtempSync(join(tmpdir(), "vane-sess-"));
      dirs.push(dir);
      const sess = join(dir, "session.pem");
      const first = await handshake(t.port, [version, "-sess_out", sess]);
      expect([first.reused, first.output]).toEqual([false, expect.stringContaining("ok")]);
      const again = await handshake(t.port, [version, "-sess_in", sess]);
      expect([again.reused, again.output]).toEqual([true, expect.stringContaining("ok")]);
      // Another process has its own ticket keys: a full handshake, not a resumption.
      expect((await handshake(other.port, [version, "-sess_in", sess])).reused).toBe(false);
    });
  }

  it("resumes on a terminate step of a tcp:// listener too", async () => {
    const cert = makeRsaCert("a.test");
    const t = await startYaml(`${CONTROL}
listeners:
  - listen: tcp://127.0.0.1:0
    flow:
      - when: { tls.sni: a.test }
        terminate:
          tls: [{ cert: ${cert.certPath}, key: ${cert.keyPath} }]
          flow: [{ respond: { status: 200, body: "ok\\n" } }]
`);
    const dir = mkdtempSync(join(tmpdir(), "vane-sess-"));
    dirs.push(dir);
    const sess = join(dir, "session.pem");
    for (const version of ["-tls1_2", "-tls1_3"]) {
      expect((await handshake(t.port, [version, "-sess_out", sess])).reused).toBe(false);
      expect((await handshake(t.port, [version, "-sess_in", sess])).reused).toBe(true);
    }
  });
});

describe("OCSP stapling", () => {
  it("is not there: node:tls never emits OCSPRequest on this runtime, and vane's listener sends no staple", async () => {
    const cert = makeRsaCert("a.test");
    let asked = 0;
    const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
      s.on("error", () => {});
      s.end("ok\n");
    });
    server.on("OCSPRequest", (_cert: Buffer, _issuer: Buffer, done: (err: Error | null, resp?: Buffer) => void) => {
      asked++;
      done(null, Buffer.from("staple"));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const probe = await handshake(port, ["-status", "-tls1_2"]);
      expect([asked, probe.output]).toEqual([0, expect.stringContaining("OCSP response: no response sent")]);
    } finally {
      server.close();
    }
    const t = await startYaml(httpsYaml(cert));
    for (const version of ["-tls1_2", "-tls1_3"]) {
      expect((await handshake(t.port, ["-status", version])).output).toContain("OCSP response: no response sent");
    }
  });
});

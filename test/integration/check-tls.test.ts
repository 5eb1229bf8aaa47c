/**
 * `vane check` on the TLS files a config names, as an operator runs it: every
 * certificate, key and CA file must be there and parse, each key must match its
 * certificate, the certificates must cover the names routed to them; certificates
 * close to their end are warned about. One line per finding at the YAML key that
 * names the file, exit 1 on errors, never a stack trace.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnVane } from "../helpers/process.ts";
import { stopAll } from "../helpers/cleanup.ts";

let dir = "";
afterEach(stopAll);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function folder(): string {
  dir ||= mkdtempSync(join(tmpdir(), "vane-check-tls-"));
  return dir;
}

/** A self-signed P-256 certificate for `names`, valid for `days`; returns its two paths. */
function cert(file: string, days: number, ...names: string[]): { cert: string; key: string } {
  const base = join(folder(), file);
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    `${base}.key`,
    "-out",
    `${base}.pem`,
    "-days",
    String(days),
    "-subj",
    `/CN=${names[0]}`,
    "-addext",
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`,
  ], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr}`);
  return { cert: `${base}.pem`, key: `${base}.key` };
}

function yamlFile(name: string, text: string): string {
  const path = join(folder(), name);
  writeFileSync(path, text);
  return path;
}

describe("vane check: TLS files", () => {
  it("says ok for certificates, keys and CAs that are there, parse, match and cover every routed name", async () => {
    const site = cert("site", 90, "a.test", "*.b.test");
    const clients = cert("clients", 90, "clients.test");
    const client = cert("client", 90, "client.test");
    const path = yamlFile(
      "good.yaml",
      `tls: [{ cert: ${site.cert}, key: ${site.key} }]
listeners:
  - listen: https://127.0.0.1:8443
    client-auth: { ca: ${clients.cert} }
    flow:
      - when: { host: [a.test, x.b.test] }
        proxy: app
      - when: { req.host: { prefix: "10." } }
        proxy: app
  - listen: tcp://127.0.0.1:8444
    flow:
      - when: { tls.sni: y.b.test }
        terminate: { flow: [{ proxy: app }] }
pools:
  app:
    targets: [127.0.0.1:9000]
    tls: { ca: ${clients.cert}, cert: ${client.cert}, key: ${client.key} }
`,
    );
    const p = spawnVane(["check", path]);
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toBe("");
    expect(p.stdout().trim()).toBe(`${path}: ok (2 listeners, 1 pools)`);
  }, 20000);

  it(
    "names every missing, unparsable or mismatched file and every uncovered name at its key, and exits 1",
    async () => {
      const a = cert("a", 90, "a.test");
      const other = cert("other", 90, "other.test");
      const soon = cert("soon", 10, "soon.test");
      const missing = join(folder(), "missing.pem");
      const path = yamlFile(
        "broken.yaml",
        `listeners:
  - listen: https://127.0.0.1:8443
    tls:
      - { cert: ${a.cert}, key: ${other.key} }
      - { cert: ${soon.cert}, key: ${soon.key} }
    client-auth: { ca: ${missing} }
    flow:
      - when: { host: [a.test, soon.test, nobody.test] }
        proxy: app
  - listen: tcp://127.0.0.1:8444
    flow:
      - when: { tls.sni: c.test }
        terminate:
          tls: [{ cert: ${other.cert}, key: ${a.cert} }]
          flow: [{ proxy: app }]
pools:
  app:
    targets: [127.0.0.1:9000]
    tls: { ca: ${a.key}, cert: ${missing}, key: ${other.key} }
`,
      );
      const p = spawnVane(["check", path]);
      expect(await p.exited).toBe(1);
      expect(p.stdout()).toBe("");
      expect(p.stderr().trim().split("\n")).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${path}:5:17: listeners\\[0\\]\\.tls\\[1\\]\\.cert: warning: certificate ${soon.cert}: expires in [89] days \\(\\d{4}-\\d\\d-\\d\\d\\)$`,
          ),
        ),
        `${path}:4:${
          24 + a.cert.length
        }: listeners[0].tls[0].key: key ${other.key}: does not match certificate ${a.cert} (their public keys differ)`,
        `${path}:2:13: listeners[0].listen: nobody.test is routed here over TLS, but no certificate covers it (${a.cert}, ${soon.cert})`,
        `${path}:14:${
          32 + other.cert.length
        }: listeners[1].flow[0].terminate.tls[0].key: key ${a.cert}: no PEM private key in it (expected -----BEGIN PRIVATE KEY-----)`,
        `${path}:14:11: listeners[1].flow[0].terminate: c.test is routed here over TLS, but no certificate covers it (${other.cert})`,
        `${path}:6:24: listeners[0].client-auth.ca: client CA bundle ${missing}: no such file`,
        `${path}:19:16: pools.app.tls.ca: CA bundle ${a.key}: no PEM certificate in it (expected -----BEGIN CERTIFICATE-----)`,
        `${path}:19:${24 + a.key.length}: pools.app.tls.cert: certificate ${missing}: no such file`,
        `${path}: 7 errors; nothing was started`,
      ]);
      expect(p.stderr()).not.toMatch(/\s+at\s|Error:/);
    },
    20000,
  );
});

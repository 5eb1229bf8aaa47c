/**
 * The TLS part of `vane check` without a process: files come from a map, the clock is
 * given. Which names each place that terminates TLS must cover, what counts as
 * covered, expiry, one report per file however often it is named, and lines for
 * values that came from flags rather than the file.
 */
import { afterAll, describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import { checkTlsFiles, type TlsFinding } from "../../src/cli/check-tls.ts";
import { findingLine } from "../../src/cli/check-report.ts";
import { fileErrorText } from "../../src/cli/pem-files.ts";
import { tlsSites } from "../../src/cli/routed-names.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import type { Config } from "../../src/config/model.ts";
import { makeCert, removeCerts } from "../helpers/tls.ts";

afterAll(removeCerts);

function load(text: string): Config {
  const r = loadConfigText(text);
  if (!r.ok) throw new Error(r.issues.map((i) => formatIssue("t.yaml", i)).join("\n"));
  return r.config;
}

/** Reads from `files`; a missing name fails as Deno does (NotFound). */
function reader(files: Record<string, string>) {
  return (path: string) =>
    path in files
      ? Promise.resolve(files[path])
      : Promise.reject(Object.assign(new Error(`No such file or directory: ${path}`), { name: "NotFound" }));
}

const site = makeCert("a.test", "*.b.test");
const FILES = { "/a.pem": site.cert, "/a.key": site.key };
const line = (f: TlsFinding) => `${f.level} ${f.at.join(".")}: ${f.message}`;
const DAY = 86_400_000;

describe("tlsSites", () => {
  it("holds an https:// listener to every host name its flow names, and skips prefixes, regexes and IPs", () => {
    const c = load(`tls: [{ cert: /a.pem, key: /a.key }]
listeners:
  - listen: https://:443
    flow:
      - when: { host: { any: [A.test., { in: [x.b.test, y.b.test] }] } }
        proxy: [127.0.0.1:1]
      - when: { req.host: { prefix: api. }, conn.ip: 10.0.0.0/8 }
        proxy: [127.0.0.1:1]
      - when: { req.host: { regex: "^z" } }
        proxy: [127.0.0.1:1]
      - when: { req.host: 192.0.2.1 }
        proxy: [127.0.0.1:1]
      - when: { tls.sni: "*.b.test" }
        flow: [{ when: { req.host: deep.test }, proxy: [127.0.0.1:1] }]
`);
    expect(tlsSites(c)).toEqual([{
      at: ["listeners", 0, "listen"],
      files: [{ certPath: "/a.pem", keyPath: "/a.key" }],
      filesAt: ["tls"],
      names: ["a.test", "x.b.test", "y.b.test", "*.b.test", "deep.test"],
    }]);
  });

  it("holds a terminate step to the SNI that leads to it and the hosts inside it, not to names routed elsewhere", () => {
    const c = load(`listeners:
  - listen: tcp://:443
    flow:
      - when: { tls.sni: pass.test }
        proxy: [127.0.0.1:1]
      - when: { tls.sni: in.test }
        terminate:
          tls: [{ cert: /a.pem, key: /a.key }]
          flow: [{ when: { req.host: inner.test }, proxy: [127.0.0.1:1] }]
`);
    expect(tlsSites(c)).toEqual([{
      at: ["listeners", 0, "flow", 1, "terminate"],
      files: [{ certPath: "/a.pem", keyPath: "/a.key" }],
      filesAt: ["listeners", 0, "flow", 1, "terminate", "tls"],
      names: ["in.test", "inner.test"],
    }]);
  });
});

describe("checkTlsFiles", () => {
  it("takes a wildcard certificate to cover one label only, as clients do (RFC 6125)", async () => {
    const c = load(`tls: [{ cert: /a.pem, key: /a.key }]
listeners:
  - listen: https://:443
    flow:
      - when: { host: [a.test, x.b.test, "*.b.test", b.test, x.y.b.test] }
        proxy: [127.0.0.1:1]
`);
    const found = await checkTlsFiles(c, reader(FILES), new Date());
    expect(found.filter((f) => f.level === "error").map(line)).toEqual([
      "error listeners.0.listen: b.test is routed here over TLS, but no certificate covers it (/a.pem)",
      "error listeners.0.listen: x.y.b.test is routed here over TLS, but no certificate covers it (/a.pem)",
    ]);
  });

  it("counts the names ACME obtains certificates for as covered, beside certificate files for others", async () => {
    const c = load(`tls:
  certs: [{ cert: /a.pem, key: /a.key }]
  acme: { email: ops@a.test }
listeners:
  - listen: https://:443
    flow:
      - when: { host: [a.test, x.b.test, app.c.test] }
        proxy: [127.0.0.1:1]
`);
    const found = await checkTlsFiles(c, reader(FILES), new Date());
    expect(found.filter((f) => f.level === "error").map(line)).toEqual([]);
  });

  it("reports a file named in several places once, where it is first written", async () => {
    const c = load(`tls: [{ cert: /gone.pem, key: /a.key }]
listeners:
  - { listen: "https://:443", flow: [{ proxy: [127.0.0.1:1] }] }
  - { listen: "https://:8443", flow: [{ proxy: [127.0.0.1:1] }] }
`);
    const found = await checkTlsFiles(c, reader(FILES), new Date());
    expect(found.map(line)).toEqual(["error tls.0.cert: certificate /gone.pem: no such file"]);
  });

  it("warns about a certificate that expired or ends within 30 days, not about one further off", async () => {
    const c = load(`tls: [{ cert: /a.pem, key: /a.key }]
listeners: [{ listen: "https://:443", flow: [{ proxy: [127.0.0.1:1] }] }]
`);
    const end = new Date(new X509Certificate(site.cert).validTo);
    const day = end.toISOString().slice(0, 10);
    const at = async (now: Date) => (await checkTlsFiles(c, reader(FILES), now)).map(line);
    expect(await at(new Date(end.getTime() + DAY))).toEqual([
      `warning tls.0.cert: certificate /a.pem: expired on ${day}`,
    ]);
    expect(await at(new Date(end.getTime() - 12.5 * DAY))).toEqual([
      `warning tls.0.cert: certificate /a.pem: expires in 12 days (${day})`,
    ]);
    expect(await at(new Date(end.getTime() - 31 * DAY))).toEqual([]);
  });
});

describe("findingLine and fileErrorText", () => {
  it("places a finding at its key, or says it came from the command line when the file does not have the key", () => {
    const text = "tls:\n  - { cert: /a.pem, key: /a.key }\n";
    expect(findingLine("v.yaml", text, ["tls", 0, "cert"], "m")).toBe("v.yaml:2:13: tls[0].cert: m");
    expect(findingLine("v.yaml", text, ["tls", 1, "cert"], "m")).toBe("v.yaml: tls[1].cert (from the command line): m");
  });

  it("says a missing file the same way on both runtimes", () => {
    expect(fileErrorText(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe("no such file");
    expect(fileErrorText(Object.assign(new Error("x"), { name: "NotFound" }))).toBe("no such file");
    expect(fileErrorText(new Error("disk on fire"))).toBe("disk on fire");
  });
});

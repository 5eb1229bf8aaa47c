import { describe, expect, it } from "vitest";
import { parseCli } from "../../src/cli/args.ts";
import { CliError } from "../../src/cli/errors.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";
import { printConfig } from "../../src/config/print.ts";
import type { Config } from "../../src/config/model.ts";

function config(...argv: string[]): Config {
  const result = parseCli(argv);
  if (result.kind !== "run") throw new Error(`expected a run result, got ${result.kind}`);
  return result.config!;
}

function failure(...argv: string[]): string {
  try {
    parseCli(argv);
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    expect(err.message).not.toContain("\n");
    return err.message;
  }
  throw new Error(`parseCli(${JSON.stringify(argv)}) did not throw`);
}

function errors(text: string): string[] {
  const r = loadConfigText(text);
  return r.ok ? [] : r.issues.map((i) => formatIssue("vane.yaml", i));
}

const ROUTE = ["--listen", "https://:443", "--route", "app.example.com=10.0.0.5:8080"];

describe("--acme", () => {
  it("asks for certificates for the routes' hosts from Let's Encrypt by default, and adds http://:80 for HTTP-01", () => {
    const c = config(...ROUTE, "--acme", "you@example.com");
    expect(c.acme).toEqual({
      email: "you@example.com",
      directory: "https://acme-v02.api.letsencrypt.org/directory",
      caRoot: null,
      challenge: "auto",
    });
    expect(c.listeners.map((l) => l.address.raw)).toEqual(["https://:443", "http://:80"]);
    expect(c.listeners[1].flow[0].action).toEqual(expect.objectContaining({ kind: "redirect", status: 308 }));
  });

  it("adds no http://:80 listener for tls-alpn-01, nor when an http:// listener exists", () => {
    expect(config(...ROUTE, "--acme", "a@example.com", "--acme-challenge", "tls-alpn-01").listeners).toHaveLength(1);
    const c = config(...ROUTE, "--listen", "http://:8080", "--acme", "a@example.com");
    expect(c.listeners.map((l) => l.address.raw)).toEqual(["https://:443", "http://:8080"]);
  });

  it("reads the directory, CA root, challenge and state directory", () => {
    const c = config(
      ...ROUTE,
      ...["--acme", "a@example.com", "--acme-directory", "https://ca.internal/dir", "--acme-ca-root", "/etc/ca.pem"],
      ...["--acme-challenge", "http-01", "--state-dir", "/var/lib/vane"],
    );
    expect(c.acme).toEqual({
      email: "a@example.com",
      directory: "https://ca.internal/dir",
      caRoot: "/etc/ca.pem",
      challenge: "http-01",
    });
    expect(c.stateDir).toBe("/var/lib/vane");
  });

  it("refuses bad values in one line naming the flag", () => {
    expect(failure(...ROUTE, "--acme", "nobody")).toBe(
      '--acme: expected an email address like you@example.com; got "nobody"',
    );
    expect(failure(...ROUTE, "--acme", "a@example.com", "--acme-directory", "http://ca/dir")).toBe(
      '--acme-directory: expected an https:// URL of an ACME directory; got "http://ca/dir"',
    );
    expect(failure(...ROUTE, "--acme", "a@example.com", "--acme-challenge", "dns-01")).toBe(
      '--acme-challenge: expected auto, http-01 or tls-alpn-01; got "dns-01"',
    );
    expect(failure(...ROUTE, "--acme-directory", "https://ca/dir")).toBe(
      "--acme-directory: expected --acme EMAIL too (it configures ACME); got no --acme",
    );
  });

  it("refuses a wildcard host (DNS-01 is not supported yet) and a config with no host name", () => {
    expect(failure("--listen", "https://:443", "--route", "*.example.com=10.0.0.5:80", "--acme", "a@example.com"))
      .toMatch(
        /^--acme: cannot obtain a certificate for "\*\.example\.com" by ACME: a wildcard needs the DNS-01 challenge, which vane does not support yet/,
      );
    expect(failure("--listen", "https://:443", "--route", "*=10.0.0.5:80", "--acme", "a@example.com")).toMatch(
      /^--acme: expected a route with a host name for an https:\/\/ listener/,
    );
  });

  it("prints tls.acme and state-dir so that the printed YAML loads to the same config", () => {
    const c = config(...ROUTE, "--acme", "a@example.com", "--state-dir", "/srv/vane");
    const loaded = loadConfigText(printConfig(c));
    expect(loaded.ok && loaded.config.acme).toEqual(c.acme);
    expect(loaded.ok && loaded.config.stateDir).toBe("/srv/vane");
    expect(loaded.ok && loaded.config.listeners.length).toBe(2);
  });
});

describe("tls.acme in YAML", () => {
  const listeners = `listeners:
  - listen: https://:443
    flow: [{ when: { host: app.example.com }, proxy: [10.0.0.5:80] }]
`;

  it("keeps the list form of tls working and reads the map form with acme", () => {
    const r = loadConfigText(`tls:\n  acme: { email: a@example.com, challenge: tls-alpn-01 }\n${listeners}`);
    expect(r.ok && r.config.acme).toEqual({
      email: "a@example.com",
      directory: "https://acme-v02.api.letsencrypt.org/directory",
      caRoot: null,
      challenge: "tls-alpn-01",
    });
    const list = loadConfigText(`tls: [{ cert: a.pem, key: a.key }]\n${listeners}`);
    expect(list.ok && list.config.tls).toEqual([{ certPath: "a.pem", keyPath: "a.key" }]);
  });

  it("reports bad values with file:line:column", () => {
    expect(errors(`tls:\n  acme: { email: nobody, directory: ftp://x, challenge: dns-01, days: 3 }\n${listeners}`))
      .toEqual([
        'vane.yaml:2:18: tls.acme.email: expected an email address like you@example.com; got "nobody"',
        'vane.yaml:2:37: tls.acme.directory: expected an https:// URL of an ACME directory; got "ftp://x"',
        'vane.yaml:2:57: tls.acme.challenge: expected auto, http-01 or tls-alpn-01; got "dns-01"',
        'vane.yaml:2:65: tls.acme.days: unknown key "days"; expected one of email, directory, ca-root or challenge',
      ]);
  });

  it("refuses a wildcard host at tls.acme", () => {
    const text = `tls:\n  acme: { email: a@example.com }\nlisteners:
  - listen: https://:443
    flow: [{ when: { host: "*.example.com" }, proxy: [10.0.0.5:80] }]
`;
    expect(errors(text)).toEqual([
      expect.stringMatching(
        /^vane\.yaml:2:9: tls\.acme: cannot obtain a certificate for "\*\.example\.com" by ACME: a wildcard needs the DNS-01 challenge/,
      ),
    ]);
  });
});

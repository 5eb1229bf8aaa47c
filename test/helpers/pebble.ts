/**
 * A real ACME CA on loopback for the ACME tests: Debian's `pebble` with
 * `pebble-challtestsrv` as its DNS server (every name answers 127.0.0.1 unless a test
 * says otherwise), both on ephemeral ports, validating against the ports vane listens
 * on. Its HTTPS certificate is made here with openssl; the root it issues from is
 * fetched from its management interface. `stopPebbles()` ends them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.ts";
import { runCommand, startCommand, type StartedCommand } from "./command.ts";
import { waitFor } from "./wait.ts";

export interface Pebble {
  /** The ACME directory URL. */
  directory: string;
  /** PEM file of pebble's own HTTPS certificate (for --acme-ca-root). */
  caRoot: string;
  /** PEM file of the root pebble issues certificates from. */
  issuerRoot: string;
  /** Orders pebble was asked for so far. */
  orders(): number;
  output(): string;
  /** Makes challtestsrv answer `host` with `ip` (A). */
  setA(host: string, ip: string): Promise<void>;
}

const started: Array<{ dir: string; procs: StartedCommand[] }> = [];

export interface PebbleOptions {
  /** vane's ports pebble validates against. */
  httpPort: number;
  tlsPort: number;
  /** Validity of issued certificates. @default pebble's (5 years) */
  validitySeconds?: number;
  /**
   * Percent of nonces pebble refuses as badNonce, which clients must retry (RFC 8555
   * §6.5): a test counting requests sets 0. @default pebble's (5)
   */
  nonceRejectPercent?: number;
}

export async function startPebble(o: PebbleOptions): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), "vane-pebble-"));
  const entry: { dir: string; procs: StartedCommand[] } = { dir, procs: [] };
  started.push(entry);
  const caRoot = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const gen = await runCommand("openssl", [
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"],
    ...["-keyout", key, "-out", caRoot, "-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1"],
  ]);
  if (gen.code !== 0) throw new Error(`openssl: ${gen.stderr}`);
  const [acme, mgmt, dns, chall] = [await freePort(), await freePort(), await freePort(), await freePort()];
  writeFileSync(
    join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acme}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: caRoot,
        privateKey: key,
        httpPort: o.httpPort,
        tlsPort: o.tlsPort,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
        ...(o.validitySeconds ? { certificateValidityPeriod: o.validitySeconds } : {}),
      },
    }),
  );
  const dnsSrv = startCommand("pebble-challtestsrv", [
    ...["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", `127.0.0.1:${dns}`],
    ...["-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${chall}`],
  ]);
  entry.procs.push(dnsSrv);
  await waitFor("challtestsrv", () => dnsSrv.output().includes("Starting challenge servers"), 10_000);
  // Every validation at once (no random sleeps), and authorizations never reused, so
  // that each order proves its names again.
  const env: Record<string, string> = { PEBBLE_VA_NOSLEEP: "1", PEBBLE_AUTHZREUSE: "0" };
  if (o.nonceRejectPercent !== undefined) env.PEBBLE_WFE_NONCEREJECT = String(o.nonceRejectPercent);
  const pebble = startCommand("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dns}`], {
    env,
  });
  entry.procs.push(pebble);
  await waitFor("pebble", () => pebble.output().includes("ACME directory available"), 10_000);
  const issuerRoot = join(dir, "root.pem");
  writeFileSync(issuerRoot, await get(`https://127.0.0.1:${mgmt}/roots/0`, caRoot));
  return {
    directory: `https://127.0.0.1:${acme}/dir`,
    caRoot,
    issuerRoot,
    orders: () => (pebble.output().match(/Added order/g) ?? []).length,
    output: () => pebble.output(),
    setA: async (host, ip) => {
      const r = await fetch(`http://127.0.0.1:${chall}/add-a`, {
        method: "POST",
        body: JSON.stringify({ host: host.endsWith(".") ? host : `${host}.`, addresses: [ip] }),
      });
      await r.body?.cancel();
      if (!r.ok) throw new Error(`challtestsrv add-a: ${r.status}`);
    },
  };
}

function get(url: string, caFile: string): Promise<string> {
  return runCommand("curl", ["-sS", "--fail", "--cacert", caFile, url]).then((r) => {
    if (r.code !== 0) throw new Error(`curl ${url}: ${r.stderr}`);
    return r.stdout;
  });
}

export function stopPebbles(): void {
  for (const { dir, procs } of started.splice(0)) {
    for (const p of procs) p.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The serial of the certificate `host` gets on 127.0.0.1:`port` (openssl s_client), or "" when none. */
export async function servedSerial(port: number, host: string): Promise<string> {
  const r = await runCommand("bash", [
    "-c",
    `openssl s_client -connect 127.0.0.1:${port} -servername ${host} </dev/null 2>/dev/null | openssl x509 -noout -serial`,
  ], { timeoutMs: 20_000 });
  return r.stdout.trim();
}

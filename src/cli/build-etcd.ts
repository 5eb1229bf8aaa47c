/**
 * --etcd, --etcd-prefix, --etcd-user, --etcd-password-file, --etcd-ca, --etcd-cert and
 * --etcd-key: where the config comes from when it lives in etcd (config/etcd/source.ts).
 */
import { DEFAULT_ETCD_PREFIX, type EtcdSourceConfig } from "../config/etcd/source.ts";
import { q } from "../config/target.ts";
import { CliError } from "./errors.ts";
import type { Values } from "./flags.ts";

const FILE_FLAGS = ["etcd-password-file", "etcd-ca", "etcd-cert", "etcd-key"] as const;

/** The etcd source the flags name, or null without --etcd (then no other --etcd-* flag may be given). */
export function etcdSource(v: Values): EtcdSourceConfig | null {
  if (v.etcd === undefined) {
    const stray = (["etcd-prefix", "etcd-user", ...FILE_FLAGS] as const).find((f) => v[f] !== undefined);
    if (stray) throw new CliError(`--${stray}: only with --etcd URL`);
    return null;
  }
  const endpoints = v.etcd.split(",").map((e) => e.trim()).filter((e) => e !== "");
  if (endpoints.length === 0) throw new CliError(`--etcd: expected etcd URLs, like http://10.0.0.2:2379; got ""`);
  for (const e of endpoints) {
    let u: URL | null = null;
    try {
      u = new URL(e);
    } catch {
      // said below
    }
    if (u === null || (u.protocol !== "http:" && u.protocol !== "https:") || u.pathname.length > 1) {
      throw new CliError(
        `--etcd: expected http:// or https:// URLs of etcd members, like http://10.0.0.2:2379; got ${q(e)}`,
      );
    }
  }
  const prefix = (v["etcd-prefix"] ?? DEFAULT_ETCD_PREFIX).replace(/\/+$/, "");
  if (!prefix.startsWith("/") || prefix.length < 2 || /\s/.test(prefix)) {
    throw new CliError(
      `--etcd-prefix: expected a key prefix starting with /, like /vane/edge-eu; got ${q(v["etcd-prefix"] ?? "")}`,
    );
  }
  if ((v["etcd-cert"] === undefined) !== (v["etcd-key"] === undefined)) {
    throw new CliError(
      `--${v["etcd-cert"] === undefined ? "etcd-key" : "etcd-cert"}: expected --etcd-cert and --etcd-key together`,
    );
  }
  if (v["etcd-password-file"] !== undefined && v["etcd-user"] === undefined) {
    throw new CliError("--etcd-password-file: only with --etcd-user");
  }
  const spec: EtcdSourceConfig = { endpoints, prefix };
  if (v["etcd-user"] !== undefined) spec.user = v["etcd-user"];
  if (v["etcd-password-file"] !== undefined) spec.passwordFile = v["etcd-password-file"];
  if (v["etcd-ca"] !== undefined) spec.ca = v["etcd-ca"];
  if (v["etcd-cert"] !== undefined) spec.cert = v["etcd-cert"];
  if (v["etcd-key"] !== undefined) spec.key = v["etcd-key"];
  return spec;
}

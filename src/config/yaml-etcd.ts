/**
 * An etcd cluster as YAML: the top-level `etcd:` key of a config (the cluster of
 * `etcd:` targets and fleet-wide drains) and `source.etcd` of a bootstrap file (where
 * the config itself is) read the same keys, with errors by line and column:
 *
 *   etcd:
 *     endpoints: [https://10.0.0.2:2379, https://10.0.0.3:2379]
 *     prefix: /vane/edge-eu        # vane's own keys (drains); default /vane
 *     user: vane
 *     password-file: /etc/vane/etcd.pw
 *     ca: /etc/vane/etcd-ca.pem
 *     cert: /etc/vane/etcd-client.pem
 *     key: /etc/vane/etcd-client.key
 */
import { isScalar } from "yaml";
import { DEFAULT_ETCD_PREFIX, type EtcdClusterConfig } from "./model.ts";
import type { Entry, Reader } from "./yaml-reader.ts";

export const ETCD_KEYS = ["endpoints", "prefix", "user", "password-file", "ca", "cert", "key"];
const URLS = "etcd URLs (a list, or one comma-separated string), like http://10.0.0.2:2379";

/** The cluster under `entry` (a map with endpoints, prefix, ...), or undefined after reporting what is wrong. */
export function readEtcdCluster(r: Reader, entry: Entry): EtcdClusterConfig | undefined {
  const e = r.entries(entry.value, entry.path, "a map with endpoints and prefix", ETCD_KEYS);
  if (!e) return undefined;
  const ep = r.required(e, "endpoints", entry.value, entry.path);
  const endpoints = ep ? readUrls(r, ep) : undefined;
  const p = e.get("prefix");
  const prefix = p ? readPrefix(r, p) : DEFAULT_ETCD_PREFIX;
  if (!endpoints || prefix === undefined) return undefined;
  const spec: EtcdClusterConfig = { endpoints, prefix };
  const text = (key: string, expected: string) => {
    const x = e.get(key);
    return x && r.nonEmpty(x.value, x.path, expected);
  };
  const user = text("user", "an etcd user name");
  const passwordFile = text("password-file", "a FILE whose first line is the password");
  const [ca, cert, key] = [text("ca", "a PEM FILE"), text("cert", "a PEM FILE"), text("key", "a PEM FILE")];
  if (user !== undefined) spec.user = user;
  if (passwordFile !== undefined) spec.passwordFile = passwordFile;
  if (passwordFile !== undefined && user === undefined) {
    r.fail(e.get("password-file")!.value, `${entry.path}.password-file`, "a user beside it (user:)");
  }
  if ((cert === undefined) !== (key === undefined)) {
    const given = e.get(cert === undefined ? "key" : "cert")!;
    r.fail(given.value, given.path, "cert and key together");
  }
  if (ca !== undefined) spec.ca = ca;
  if (cert !== undefined) spec.cert = cert;
  if (key !== undefined) spec.key = key;
  return spec;
}

function readUrls(r: Reader, entry: Entry): string[] | undefined {
  const v = entry.value;
  const raw = isScalar(v) && typeof v.value === "string"
    ? v.value.split(",").map((s) => s.trim()).filter((s) => s !== "")
    : (r.list(v, entry.path, URLS) ?? []).map((n) => (isScalar(n) && typeof n.value === "string" ? n.value : ""));
  if (raw.length === 0 || !raw.every(isMemberUrl)) return r.fail(v, entry.path, URLS);
  return raw;
}

function isMemberUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return (u.protocol === "http:" || u.protocol === "https:") && u.pathname.length <= 1;
  } catch {
    return false;
  }
}

function readPrefix(r: Reader, entry: Entry): string | undefined {
  const v = entry.value;
  const text = isScalar(v) && typeof v.value === "string" ? v.value.replace(/\/+$/, "") : "";
  if (!text.startsWith("/") || text.length < 2 || /\s/.test(text)) {
    return r.fail(v, entry.path, "a key prefix starting with /, like /vane/edge-eu");
  }
  return text;
}

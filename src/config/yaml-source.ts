/**
 * A bootstrap file (`source: etcd`): a YAML file that does not hold the config but says
 * where it is, for units and images that start `vane run /etc/vane/vane.yaml` on every
 * VM of a fleet:
 *
 *   source:
 *     etcd:
 *       endpoints: [https://10.0.0.2:2379, https://10.0.0.3:2379]
 *       prefix: /vane/edge-eu
 *       user: vane
 *       password-file: /etc/vane/etcd.pw
 *       ca: /etc/vane/etcd-ca.pem
 *   state-dir: /var/lib/vane
 *
 * The same as `--etcd ... --etcd-prefix ...`; nothing else may sit beside `source`
 * (the config's keys belong in etcd, where one value holds them all).
 */
import { isMap, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { DEFAULT_ETCD_PREFIX, type EtcdSourceConfig } from "./etcd/source.ts";
import { type ConfigIssue, type Entry, Reader } from "./yaml-reader.ts";

export type SourceFile =
  | { kind: "config" }
  | { kind: "etcd"; spec: EtcdSourceConfig; stateDir?: string }
  | { kind: "error"; issues: ConfigIssue[] };

const TOP = ["source", "state-dir"];
const ETCD_KEYS = ["endpoints", "prefix", "user", "password-file", "ca", "cert", "key"];
const URLS = "etcd URLs (a list, or one comma-separated string), like http://10.0.0.2:2379";

/** Whether `text` is a bootstrap file, and its etcd source; `config` for every other file (read as a config). */
export function readSourceFile(text: string): SourceFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return { kind: "config" };
  if (!doc.contents.items.some((p) => isScalar(p.key) && p.key.value === "source")) return { kind: "config" };
  const r = new Reader(doc, lines);
  const top = r.entries(doc.contents as Node, "", "a map with source and state-dir", TOP);
  const source = top?.get("source");
  const etcd = source && r.entries(source.value, source.path, "a map with etcd", ["etcd"]);
  const e = etcd && r.required(etcd, "etcd", source!.value, source!.path);
  const spec = e && readEtcd(r, e);
  const sd = top?.get("state-dir");
  const stateDir = sd && r.nonEmpty(sd.value, sd.path, "a DIRECTORY");
  if (r.issues.length > 0 || !spec) return { kind: "error", issues: r.issues };
  return { kind: "etcd", spec, ...(stateDir !== undefined ? { stateDir } : {}) };
}

function readEtcd(r: Reader, entry: Entry): EtcdSourceConfig | undefined {
  const e = r.entries(entry.value, entry.path, "a map with endpoints and prefix", ETCD_KEYS);
  if (!e) return undefined;
  const ep = r.required(e, "endpoints", entry.value, entry.path);
  const endpoints = ep ? readUrls(r, ep) : undefined;
  const p = e.get("prefix");
  const prefix = p ? readPrefix(r, p) : DEFAULT_ETCD_PREFIX;
  if (!endpoints || prefix === undefined) return undefined;
  const spec: EtcdSourceConfig = { endpoints, prefix };
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

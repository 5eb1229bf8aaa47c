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
import type { EtcdSourceConfig } from "./etcd/source.ts";
import { type ConfigIssue, Reader } from "./yaml-reader.ts";
import { readEtcdCluster } from "./yaml-etcd.ts";

export type SourceFile =
  | { kind: "config" }
  | { kind: "etcd"; spec: EtcdSourceConfig; stateDir?: string }
  | { kind: "error"; issues: ConfigIssue[] };

const TOP = ["source", "state-dir"];

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
  const spec = e && readEtcdCluster(r, e);
  const sd = top?.get("state-dir");
  const stateDir = sd && r.nonEmpty(sd.value, sd.path, "a DIRECTORY");
  if (r.issues.length > 0 || !spec) return { kind: "error", issues: r.issues };
  return { kind: "etcd", spec, ...(stateDir !== undefined ? { stateDir } : {}) };
}

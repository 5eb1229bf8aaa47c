/**
 * `etcd:` targets need a cluster to read from: the config's `etcd:` key or, when the
 * config itself comes from etcd, that cluster (the executable lays it in with
 * `withEtcdCluster`). A target left without one is a config error, said where the
 * target is written, rather than a pool that stays empty at run time.
 */
import { isScalar, LineCounter, parseDocument, visit } from "yaml";
import type { Config, EtcdClusterConfig } from "./model.ts";
import type { ConfigIssue } from "./yaml-reader.ts";
import { parseTarget } from "./target.ts";

export const NO_CLUSTER =
  "expected an etcd cluster for etcd: targets: add a top-level etcd: {endpoints: [...]} key, or take the config from etcd (--etcd)";

/** The first etcd: target of a config that has no cluster: its pool and text. Null when none or a cluster is known. */
export function etcdTargetWithoutCluster(config: Config): { pool: string; raw: string } | null {
  if (config.etcd !== undefined) return null;
  for (const p of Object.values(config.pools)) {
    const t = [...p.targets, ...p.fallback].find((t) => t.kind === "etcd");
    if (t) return { pool: p.name, raw: t.raw };
  }
  return null;
}

/** `config` with `cluster` as its etcd cluster unless it names its own. */
export function withEtcdCluster(config: Config, cluster: EtcdClusterConfig): Config {
  return config.etcd === undefined ? { ...config, etcd: cluster } : config;
}

/** The issue for `found` in the config's text, at the first place the target is written. */
export function noClusterIssue(text: string, found: { pool: string; raw: string }): ConfigIssue {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  let at: { line: number; col: number } = { line: 1, col: 1 };
  let seen = false;
  visit(doc, {
    Pair(_, pair) {
      // `{etcd: /PREFIX}` as well as the text `etcd:/PREFIX`.
      if (seen || !isScalar(pair.key) || pair.key.value !== "etcd" || !isScalar(pair.value)) return;
      if (isTarget(`etcd:${String(pair.value.value)}`, found.raw) && pair.value.range) {
        seen = true;
        at = lines.linePos(pair.value.range[0]);
      }
    },
    Scalar(_, node) {
      if (seen || typeof node.value !== "string" || !node.range) return;
      if (node.value.split(",").some((item) => isTarget(item.trim(), found.raw))) {
        seen = true;
        at = lines.linePos(node.range[0]);
      }
    },
  });
  return { ...at, path: `pools.${found.pool}`, message: `${found.raw}: ${NO_CLUSTER}` };
}

function isTarget(text: string, raw: string): boolean {
  if (!text.toLowerCase().startsWith("etcd:")) return false;
  try {
    return parseTarget(text).raw === raw;
  } catch {
    return false;
  }
}

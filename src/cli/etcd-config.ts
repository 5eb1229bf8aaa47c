/**
 * The config in etcd, for the executable (main.ts): the first one (from etcd, else its
 * cached copy), each one after (for a reload, from what the watch saw), and the watch
 * that asks for those reloads. Bad values are refused as a bad file is, named by key.
 */
import type { Runtime } from "../runtime/types.ts";
import type { Config } from "../config/model.ts";
import { EtcdConfigSource, type EtcdSourceConfig, type SourceRead } from "../config/etcd/source.ts";
import { errorText } from "../errors/mod.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type Loaded, loadText } from "./load-config.ts";
import { readSourceFile } from "../config/yaml-source.ts";
import { formatIssue } from "../config/yaml-load.ts";

type Apply = (base: Config) => Config;
type Token = { flag: string | null };

/** The first config, and how it was had: `rejected` lists a bad etcd value the cached copy stood in for. */
export type EtcdStart =
  | {
    ok: true;
    source: EtcdConfigSource;
    config: Config;
    text: string;
    revision: number;
    from: "etcd" | "cache";
    rejected: string[];
  }
  | { ok: false; errors: string[] };

function named(source: EtcdConfigSource, read: Extract<SourceRead, { ok: true }>): string {
  return read.from === "etcd" ? source.name : `${source.name} (cached copy)`;
}

export async function firstFromEtcd(
  rt: Runtime,
  spec: EtcdSourceConfig,
  stateDir: string,
  apply: Apply,
  token: Token | undefined,
): Promise<EtcdStart> {
  let source: EtcdConfigSource;
  try {
    source = await EtcdConfigSource.open(spec, stateDir);
  } catch (err) {
    return { ok: false, errors: [errorText(err)] };
  }
  const read = await source.read();
  if (!read.ok) return { ok: false, errors: [read.error] };
  const loaded = await loadText(rt, named(source, read), read.text, apply, token);
  if (loaded.ok) return { source, ...loaded, revision: read.revision, from: read.from, rejected: [] };
  // A bad value at start: the last good one, when kept, serves, as a reload would keep it.
  const cached = read.from === "etcd" ? await source.cached() : null;
  if (cached) {
    const fallback = await loadText(rt, named(source, cached), cached.text, apply, token);
    if (fallback.ok) {
      return { source, ...fallback, revision: cached.revision, from: "cache", rejected: loaded.errors };
    }
  }
  return loaded;
}

/** The config for a reload: the value the watch saw last, else read now. */
export async function nextFromEtcd(rt: Runtime, source: EtcdConfigSource, apply: Apply, token: Token): Promise<Loaded> {
  const seen = source.latest;
  const read: SourceRead = seen === undefined
    ? await source.read()
    : seen.text === null
    ? { ok: false, error: `${source.name}: the key was deleted; the running config stays` }
    : { ok: true, text: seen.text, revision: seen.revision, from: "etcd" };
  if (!read.ok) return { ok: false, errors: [read.error] };
  if (read.from === "cache") {
    return { ok: false, errors: [`${source.name}: etcd cannot be reached; the running config stays`] };
  }
  return await loadText(rt, source.name, read.text, apply, token);
}

/**
 * Watches the key from `fromRevision` and calls `reload` for each value that differs
 * from the one serving (`current`); keeps each value that loaded for a start without
 * etcd. Returns the call that stops the watch.
 */
export function followEtcd(
  source: EtcdConfigSource,
  fromRevision: number,
  current: () => string | null,
  reload: () => Promise<{ ok: boolean }>,
  log: Logger,
): () => void {
  return source.follow(fromRevision, (text, revision) => {
    if (text === null) {
      log.error("the config key was deleted from etcd; the running config stays", { key: source.key, revision });
      return;
    }
    if (text === current()) return;
    log.info("reloading", { reason: "etcd changed", key: source.key, revision });
    void reload().then((o) => {
      if (o.ok) {
        return source.keep(text, revision).catch((err) =>
          log.warn("cannot keep a copy of the etcd config", { error: errorText(err) })
        );
      }
    });
  }, (error) => {
    if (error !== null) {
      log.warn("etcd watch broken; serving the last good config and retrying", { key: source.key, error });
    } else log.info("etcd watch resumed", { key: source.key, endpoint: source.client.endpoint });
  });
}

/**
 * A config file that is a bootstrap (`source: etcd`, config/yaml-source.ts): its etcd
 * source; null for an ordinary config file (or one that cannot be read: loadFile says so).
 */
export async function bootstrapOf(
  rt: Runtime,
  file: string,
): Promise<{ ok: true; spec: EtcdSourceConfig; stateDir?: string } | { ok: false; errors: string[] } | null> {
  let text: string;
  try {
    text = await rt.readTextFile(file);
  } catch {
    return null;
  }
  const got = readSourceFile(text);
  if (got.kind === "config") return null;
  if (got.kind === "error") return { ok: false, errors: got.issues.map((i) => formatIssue(file, i)) };
  return { ok: true, spec: got.spec, ...(got.stateDir !== undefined ? { stateDir: got.stateDir } : {}) };
}

/**
 * The config from etcd (`--etcd URL --etcd-prefix P`): the key `P/config` holds one YAML
 * document, exactly what a config file would hold. One key rather than a key per pool
 * or route: a change is then one atomic put that is valid or not as a whole, the same
 * `vane check` that passes a file passes the value, and `etcdctl put P/config < file`
 * is the whole workflow; per-pool keys would need a merge order and could be seen half
 * applied by a vane watching mid-change.
 *
 * Each good value is cached under the state directory (`--state-dir`), so a vane that
 * starts while etcd is down serves the last config it knew. The watch (watch.ts)
 * resumes from its revision after an outage.
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EtcdClient } from "./client.ts";
import { openEtcdClient } from "./open.ts";
import type { EtcdClusterConfig } from "../model.ts";
import { PrefixWatch } from "./watch.ts";
import { errorText } from "../../errors/mod.ts";

/** Where and how to reach etcd, as the flags (or YAML `source`) give it; the config is `PREFIX/config`. */
export type EtcdSourceConfig = EtcdClusterConfig;

export { DEFAULT_ETCD_PREFIX } from "../model.ts";

/** A value read: its text and the store's revision, and whether it came from etcd or the cache. */
export type SourceRead =
  | { ok: true; text: string; revision: number; from: "etcd" | "cache" }
  | { ok: false; error: string };

export class EtcdConfigSource {
  /** The key that holds the config. */
  readonly key: string;
  /** How errors name the value: `etcd:/vane/edge/config` (then `:line:column`). */
  readonly name: string;
  /** The newest value the watch saw (null: deleted), or undefined before any. */
  latest: { text: string | null; revision: number } | undefined;
  readonly #cacheDir: string;

  constructor(readonly client: EtcdClient, readonly spec: EtcdSourceConfig, stateDir: string) {
    this.key = `${spec.prefix}/config`;
    this.name = `etcd:${this.key}`;
    this.#cacheDir = join(stateDir, "etcd");
  }

  /** Makes the client: reads the password and PEM files the spec names (errors name the flag). */
  static async open(spec: EtcdSourceConfig, stateDir: string): Promise<EtcdConfigSource> {
    return new EtcdConfigSource(await openEtcdClient(spec), spec, stateDir);
  }

  /** The value now: from etcd, else (etcd unreachable) from the cache, else why neither. */
  async read(): Promise<SourceRead> {
    let reason: string;
    try {
      const { kv, revision } = await this.client.get(this.key);
      if (kv === null) return { ok: false, error: `${this.name}: no such key in etcd (put the YAML config there)` };
      return { ok: true, text: kv.value, revision, from: "etcd" };
    } catch (err) {
      reason = `${this.name}: cannot read from etcd (${this.spec.endpoints.join(", ")}): ${errorText(err)}`;
    }
    const cached = await this.cached();
    return cached ?? { ok: false, error: `${reason}; and no cached copy in ${this.#cacheDir}` };
  }

  /** The last good value kept under the state directory, if any. */
  async cached(): Promise<Extract<SourceRead, { ok: true }> | null> {
    try {
      const meta = JSON.parse(await readFile(this.#cachePath("json"), "utf8")) as { key?: string; revision?: number };
      if (meta.key !== this.key) return null;
      const text = await readFile(this.#cachePath("yaml"), "utf8");
      return { ok: true, text, revision: meta.revision ?? 0, from: "cache" };
    } catch {
      return null;
    }
  }

  /** Keeps `text` (a value that loaded) for a start while etcd is down. 0600: it may hold secrets. */
  async keep(text: string, revision: number): Promise<void> {
    await mkdir(this.#cacheDir, { recursive: true, mode: 0o700 });
    for (const [ext, body] of [["yaml", text], ["json", JSON.stringify({ key: this.key, revision })]]) {
      const path = this.#cachePath(ext);
      const tmp = `${path}.tmp`;
      await writeFile(tmp, body, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, path);
    }
  }

  /**
   * Follows the key from `fromRevision`: `onChange` gets each new value (null when the
   * key was deleted); `onState` says when the watch broke (an error) and came back (null).
   * Returns the call that stops it.
   */
  follow(
    fromRevision: number,
    onChange: (text: string | null, revision: number) => void,
    onState: (error: string | null) => void,
  ): () => void {
    const w = new PrefixWatch(this.client, this.key, {
      fromRevision,
      onEvents: (events) => {
        // The watch is on the key as a prefix: `config` only, not `config-old`.
        const mine = events.filter((e) => e.kv.key === this.key);
        const last = mine.at(-1);
        if (last === undefined) return;
        this.latest = { text: last.type === "put" ? last.kv.value : null, revision: last.kv.modRevision };
        onChange(this.latest.text, this.latest.revision);
      },
      onReset: async () => {
        // Compacted past us: the current value is all that matters.
        const { kv, revision } = await this.client.get(this.key);
        this.latest = { text: kv?.value ?? null, revision };
        onChange(this.latest.text, revision);
        return revision;
      },
      onState,
    });
    return () => w.close();
  }

  #cachePath(ext: string): string {
    return join(this.#cacheDir, `${this.key.replace(/[^A-Za-z0-9.-]+/g, "_")}.${ext}`);
  }
}

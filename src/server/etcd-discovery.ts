/**
 * Follows the `etcd:` targets of the newest generation: each prefix is read (a range)
 * before the generation serves, waiting a bounded time, then watched from the revision
 * read, so every put and delete (a lease that expires deletes its keys) re-expands the
 * pools that list the prefix. What came and went is handed to `onChange` (the health
 * checks follow it: a registered target serves once a check passes).
 *
 * A prefix is watched once whatever the number of pools naming it, and a reload that
 * keeps it keeps its watch and its values, so its targets (and their health) stay. With
 * etcd down at start the pools serve without these targets and the range is retried;
 * when the watch breaks, the targets known stay until it resumes from its revision
 * (changes made meanwhile are then seen; after a compaction, the prefix is read again).
 */
import type { Logger } from "../telemetry/logger.ts";
import type { TargetHealth } from "../health/registry.ts";
import type { Generation } from "./generation.ts";
import type { EtcdClient } from "../config/etcd/client.ts";
import { openEtcdClient, YAML_NAMES } from "../config/etcd/open.ts";
import { PrefixMirror } from "../config/etcd/mirror.ts";
import { expandEtcd } from "../resolve/etcd-expand.ts";
import { errorText } from "../errors/mod.ts";

export type EtcdChange = (added: TargetHealth[], removed: TargetHealth[]) => void;

/** How long a generation waits for a prefix's first read before it serves without it. */
export const START_WAIT_MS = 3000;

/** One watched prefix, kept across generations. */
interface Watched {
  mirror: PrefixMirror;
  /** Bad values already warned about (key -> the value), so each is said once. */
  warned: Map<string, string>;
}

export class EtcdDiscovery {
  #gen: Generation | null = null;
  /** True while `start` sets a generation up: changes wait for its own expansion. */
  #starting = false;
  #cluster: { id: string; client: EtcdClient } | null = null;
  readonly #watched = new Map<string, Watched>();
  /** What was said last about a missing cluster or client, so it is said once. */
  #said: string | null = null;

  readonly #log: Logger;
  readonly #onChange: EtcdChange;
  readonly #startWaitMs: number;
  constructor(log: Logger, onChange: EtcdChange, options: { startWaitMs?: number } = {}) {
    this.#log = log;
    this.#onChange = onChange;
    this.#startWaitMs = options.startWaitMs ?? START_WAIT_MS;
  }

  /** Expands the etcd prefixes of `gen` into its pools (waiting a bounded time for etcd), then follows them. */
  async start(gen: Generation): Promise<void> {
    this.#gen = gen;
    this.#starting = true;
    try {
      const client = await this.#clientFor(gen);
      const prefixes = client === null ? new Set<string>() : prefixesOf(gen);
      for (const [prefix, w] of this.#watched) if (!prefixes.has(prefix)) this.#close(prefix, w);
      const fresh = [...prefixes].filter((p) => !this.#watched.has(p)).map((p) => this.#follow(client!, p));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#startWaitMs)));
      await Promise.race([Promise.all(fresh.map((w) => w.mirror.first)), bound]);
      clearTimeout(timer);
    } finally {
      this.#starting = false;
    }
    if (this.#gen !== gen) return;
    for (const [prefix, w] of this.#watched) this.#apply(gen, prefix, w, false);
  }

  stop(): void {
    this.#gen = null;
    for (const [prefix, w] of this.#watched) this.#close(prefix, w);
  }

  /** The client of the generation's `etcd` (kept while it does not change); null without prefixes or cluster. */
  async #clientFor(gen: Generation): Promise<EtcdClient | null> {
    const cluster = gen.config.etcd;
    if (prefixesOf(gen).size === 0) return this.#cluster?.client ?? null;
    if (cluster === undefined) {
      this.#say("etcd: targets need an etcd cluster (the config's etcd: key); they stay empty");
      return null;
    }
    const id = JSON.stringify(cluster);
    if (this.#cluster?.id === id) return this.#cluster.client;
    for (const [prefix, w] of this.#watched) this.#close(prefix, w);
    try {
      this.#cluster = { id, client: await openEtcdClient(cluster, YAML_NAMES) };
      this.#said = null;
      return this.#cluster.client;
    } catch (err) {
      this.#cluster = null;
      this.#say(`cannot reach etcd for etcd: targets; they stay empty: ${errorText(err)}`);
      return null;
    }
  }

  #say(message: string): void {
    if (this.#said === message) return;
    this.#said = message;
    this.#log.error(message);
  }

  #follow(client: EtcdClient, prefix: string): Watched {
    const w: Watched = { mirror: null!, warned: new Map() };
    w.mirror = new PrefixMirror(client, prefix, {
      // While a generation starts, its own expansion (at the end of start) takes the values.
      onChange: () => {
        const gen = this.#gen;
        if (gen !== null && !this.#starting && !w.mirror.closed) this.#apply(gen, prefix, w, true);
      },
      onReadState: (error) => {
        if (error !== null) {
          this.#log.warn("cannot read etcd: targets; serving without them until etcd answers", { prefix, error });
        } else this.#log.info("etcd answers; etcd: targets read", { prefix });
      },
      onWatchState: (error) => {
        if (error !== null) {
          this.#log.warn("etcd watch broken; the etcd: targets known stay, retrying", { prefix, error });
        } else this.#log.info("etcd watch resumed", { prefix, endpoint: client.endpoint });
      },
    });
    this.#watched.set(prefix, w);
    return w;
  }

  #apply(gen: Generation, prefix: string, w: Watched, notify: boolean): void {
    const bad = new Map<string, string>();
    const specs = expandEtcd(prefix, w.mirror.values, (key, value, reason) => {
      bad.set(key, value);
      if (w.warned.get(key) !== value) {
        this.#log.warn("etcd: a registered value is not a target; skipped", { key, error: reason });
      }
    });
    w.warned = bad;
    const added: TargetHealth[] = [];
    const removed: TargetHealth[] = [];
    for (const pool of gen.pools.values()) {
      for (const { role, spec } of pool.discoveredTargets()) {
        if (spec.kind !== "etcd" || spec.prefix !== prefix) continue;
        const change = pool.expand(role, spec, specs);
        added.push(...change.added);
        removed.push(...change.removed);
        if (notify && change.added.length + change.removed.length > 0) {
          this.#log.info("etcd targets changed", {
            pool: pool.name,
            prefix,
            added: change.added.map((e) => e.key).join(",") || "-",
            removed: change.removed.map((e) => e.key).join(",") || "-",
          });
        }
      }
    }
    if (notify && added.length + removed.length > 0) this.#onChange(added, removed);
  }

  #close(prefix: string, w: Watched): void {
    w.mirror.close();
    this.#watched.delete(prefix);
  }
}

/** Every prefix the generation's pools list. */
function prefixesOf(gen: Generation): Set<string> {
  const out = new Set<string>();
  for (const pool of gen.pools.values()) {
    for (const { spec } of pool.discoveredTargets()) if (spec.kind === "etcd") out.add(spec.prefix);
  }
  return out;
}

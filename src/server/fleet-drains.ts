/**
 * Drains that hold across a fleet: `POST .../drain {"fleet": true}` (`vane ctl drain
 * --fleet`) writes the key `PREFIX/drain/POOL/TARGET` in etcd (PREFIX: the config's
 * `etcd.prefix`, or `--etcd-prefix`), and every vane of the fleet, watching
 * `PREFIX/drain/`, drains that target; undrain deletes the key. The drain is an
 * override like an admin's (control/runtime-state.ts `fleetDrain`), so it reaches the
 * workers and outlives reloads the same way; a local undrain does not lift it.
 *
 * Only a primary (or a vane without workers) watches: workers get the overrides from it.
 */
import type { Generation } from "./generation.ts";
import type { VaneContext } from "./context.ts";
import type { EtcdClient } from "../config/etcd/client.ts";
import { openEtcdClient, YAML_NAMES } from "../config/etcd/open.ts";
import { PrefixMirror } from "../config/etcd/mirror.ts";
import { applyOverrides } from "../control/runtime-state.ts";
import { errorText } from "../errors/mod.ts";
import { START_WAIT_MS } from "./etcd-discovery.ts";

export type FleetOutcome = { ok: true; key: string } | { ok: false; status: 409 | 503; error: string };

export const NO_FLEET =
  "fleet: no etcd cluster to share the drain through: set the config's etcd: key (or take the config from etcd with --etcd)";

export class FleetDrains {
  readonly #ctx: VaneContext;
  #cluster: { id: string; client: EtcdClient; dir: string } | null = null;
  #mirror: PrefixMirror | null = null;

  constructor(ctx: VaneContext) {
    this.#ctx = ctx;
  }

  /** Follows the drains in `gen`'s etcd cluster (kept while the cluster does not change). */
  async start(gen: Generation): Promise<void> {
    if (this.#ctx.options.cluster?.follow) return; // a worker: the primary sends the overrides
    const cluster = gen.config.etcd;
    const id = cluster === undefined ? null : JSON.stringify(cluster);
    if (id === (this.#cluster?.id ?? null)) return;
    this.stop();
    if (cluster === undefined) return;
    let client: EtcdClient;
    try {
      client = await openEtcdClient(cluster, YAML_NAMES);
    } catch (err) {
      this.#ctx.log.error("cannot reach etcd for fleet drains", { error: errorText(err) });
      return;
    }
    const dir = `${cluster.prefix}/drain/`;
    this.#cluster = { id: id!, client, dir };
    const mirror = this.#mirror = new PrefixMirror(client, dir, {
      onChange: (values) => this.#sync(dir, values),
      onReadState: (error) => {
        if (error !== null) this.#ctx.log.warn("cannot read the fleet drains; retrying", { prefix: dir, error });
        else this.#ctx.log.info("fleet drains read", { prefix: dir });
      },
      onWatchState: (error) => {
        if (error !== null) {
          this.#ctx.log.warn("the fleet drains' watch broke; the drains as last known stay", { prefix: dir, error });
        } else this.#ctx.log.info("fleet drains followed again", { prefix: dir });
      },
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([mirror.first, new Promise((resolve) => (timer = setTimeout(resolve, START_WAIT_MS)))]);
    clearTimeout(timer);
  }

  stop(): void {
    this.#mirror?.close();
    this.#mirror = null;
    const had = this.#cluster;
    this.#cluster = null;
    // Without a cluster there are no fleet drains any more.
    if (had) this.#sync(had.dir, new Map());
  }

  /** Writes (drain) or deletes (undrain) the target's key; applied here at once, elsewhere by their watches. */
  async set(pool: string, target: string, drain: boolean, by: string): Promise<FleetOutcome> {
    const c = this.#cluster;
    if (c === null) return { ok: false, status: 409, error: NO_FLEET };
    const key = `${c.dir}${pool}/${target}`;
    const value = JSON.stringify({ by, at: new Date().toISOString() });
    try {
      if (drain) await c.client.put(key, value);
      else await c.client.delete(key);
    } catch (err) {
      return { ok: false, status: 503, error: `fleet: cannot write ${key} in etcd: ${errorText(err)}` };
    }
    const mirror = this.#mirror;
    if (mirror !== null && !mirror.closed) {
      if (drain) mirror.values.set(key, value);
      else mirror.values.delete(key);
      this.#sync(c.dir, mirror.values);
    }
    return { ok: true, key };
  }

  /** Puts `fleetDrain` on exactly the targets with a key under `dir`, then in force here and in the workers. */
  #sync(dir: string, values: ReadonlyMap<string, string>): void {
    const drained = new Set<string>();
    for (const key of values.keys()) {
      const rest = key.slice(dir.length);
      const slash = rest.indexOf("/");
      if (slash > 0 && slash < rest.length - 1) drained.add(`${rest.slice(0, slash)}\u0000${rest.slice(slash + 1)}`);
    }
    const overrides = this.#ctx.runtime.overrides;
    let changed = false;
    for (const [pool, targets] of Object.entries(overrides)) {
      for (const [target, o] of Object.entries(targets)) {
        if (!o.fleetDrain || drained.has(`${pool}\u0000${target}`)) continue;
        delete o.fleetDrain;
        changed = true;
        if (Object.keys(o).length === 0) delete targets[target];
      }
      if (Object.keys(targets).length === 0) delete overrides[pool];
    }
    for (const id of drained) {
      const [pool, target] = id.split("\u0000");
      const o = (overrides[pool] ??= {})[target] ??= {};
      if (o.fleetDrain) continue;
      o.fleetDrain = true;
      changed = true;
    }
    if (!changed) return;
    this.#ctx.log.info("fleet drains", { drained: [...drained].map((d) => d.replace("\u0000", " ")).join(",") || "-" });
    if (this.#ctx.gen) applyOverrides(this.#ctx.gen.entries(), overrides);
    void this.#ctx.options.cluster?.overrides?.(overrides);
  }
}

/**
 * The runtime state: what an admin changed (docs/admin-api.md), one plain object layered
 * over the loaded config. Two layers:
 *
 * - per-target overrides (drain, weight, manual up/down) are set on the health entries
 *   in place: no new generation, the balancer sees them at its next pick. Workers are
 *   sent the overrides over the cluster channel.
 * - structural changes (targets added or removed, pools put, host routes added) are
 *   applied to the config as a document, which is loaded again like the file: a new
 *   generation that workers receive like a reload.
 *
 * A reload of the file applies both again (merged, not lost): each change whose pool,
 * target or listener is still there. Applying is idempotent, so a config saved with the
 * changes in it (`POST /config/save`) and read back stays the same.
 */

/** What an admin set on one target. */
export interface TargetOverride {
  /** Drained: no new connection or request; open ones finish. */
  drain?: boolean;
  /** In place of the target's `@WEIGHT`. */
  weight?: number;
  /** Marked up or down by hand: overrides the checks until cleared. */
  manual?: "up" | "down";
  /**
   * Drained fleet-wide: its key is under `PREFIX/drain/` in etcd (server/fleet-drains.ts
   * keeps this in step with the key; a local undrain leaves it).
   */
  fleetDrain?: boolean;
}

/** Pool name -> target (as configured, without `@WEIGHT`) -> override. */
export type TargetOverrides = Record<string, Record<string, TargetOverride>>;

/** `PUT /routes`: requests for `host` on the listener `listener` go to `pool`. */
export interface HostRoute {
  /** The listener's `listen` as configured (e.g. `http://127.0.0.1:8080`). */
  listener: string;
  host: string;
  pool: string;
}

export interface RuntimeState {
  overrides: TargetOverrides;
  /** Pool -> targets added (as written, `ADDR:PORT[@WEIGHT]`). */
  added: Record<string, string[]>;
  /** Pool -> targets removed (without `@WEIGHT`). */
  removed: Record<string, string[]>;
  /** Pools put whole (`PUT /pools/NAME`): the pool as YAML would write it. */
  pools: Record<string, unknown>;
  routes: HostRoute[];
}

export function emptyRuntimeState(): RuntimeState {
  return { overrides: {}, added: {}, removed: {}, pools: {}, routes: [] };
}

/** Whether the state changes the config itself (then it is applied as a document). */
export function hasStructure(s: RuntimeState): boolean {
  return Object.keys(s.added).length > 0 || Object.keys(s.removed).length > 0 ||
    Object.keys(s.pools).length > 0 || s.routes.length > 0;
}

/** A target as written in a list, without its `@WEIGHT`. */
export function targetRaw(text: string): string {
  const at = text.lastIndexOf("@");
  return at < 0 ? text : text.slice(0, at);
}

type Doc = Record<string, unknown>;

function poolTargets(doc: Doc, pool: string): unknown[] | null {
  const pools = doc.pools as Record<string, Doc> | undefined;
  const p = pools?.[pool];
  return p && Array.isArray(p.targets) ? p.targets : null;
}

/**
 * Applies the structural changes to a config document (configToDocument's shape), in
 * place: pools put, then targets removed and added, then host routes (first in their
 * listener's flow). A change whose pool or listener is gone is left out.
 */
export function applyToDocument(doc: Doc, s: RuntimeState): void {
  const pools = (doc.pools ??= {}) as Record<string, unknown>;
  for (const [name, body] of Object.entries(s.pools)) pools[name] = structuredClone(body);
  for (const [pool, list] of Object.entries(s.removed)) {
    const targets = poolTargets(doc, pool);
    if (!targets) continue;
    const gone = new Set(list);
    (pools[pool] as Doc).targets = targets.filter((t) => typeof t !== "string" || !gone.has(targetRaw(t)));
  }
  for (const [pool, list] of Object.entries(s.added)) {
    const targets = poolTargets(doc, pool);
    if (!targets) continue;
    for (const text of list) {
      const raw = targetRaw(text);
      if (!targets.some((t) => typeof t === "string" && targetRaw(t) === raw)) targets.push(text);
    }
  }
  const listeners = Array.isArray(doc.listeners) ? doc.listeners as Doc[] : [];
  for (const r of s.routes) {
    const l = listeners.find((x) => x.listen === r.listener);
    if (!l || !(r.pool in pools) || !Array.isArray(l.flow)) continue;
    const flow = l.flow as Doc[];
    const same = (x: Doc) => (x.when as Doc | undefined)?.host === r.host && x.proxy === r.pool;
    if (!flow.some(same)) flow.unshift({ when: { host: r.host }, proxy: r.pool });
  }
}

/** Writes the weight overrides into a document's target lists (for `POST /config/save`). */
export function weightsToDocument(doc: Doc, overrides: TargetOverrides): void {
  for (const [pool, targets] of Object.entries(overrides)) {
    const list = poolTargets(doc, pool);
    if (!list) continue;
    for (let i = 0; i < list.length; i++) {
      const t = list[i];
      if (typeof t !== "string") continue;
      const w = targets[targetRaw(t)]?.weight;
      if (w !== undefined) list[i] = w === 1 ? targetRaw(t) : `${targetRaw(t)}@${w}`;
    }
  }
}

/** The parts of a health entry an override sets (health/registry.ts's TargetHealth). */
export interface OverridableEntry {
  readonly pool: string;
  readonly key: string;
  readonly spec: { weight: number };
  weight: number;
  draining: boolean;
  forced: boolean | null;
}

/** Sets each entry's drain, weight and manual state from `overrides` (cleared where none). */
export function applyOverrides(entries: Iterable<OverridableEntry>, overrides: TargetOverrides): void {
  for (const e of entries) {
    const o = overrides[e.pool]?.[e.key];
    e.draining = o?.drain === true || o?.fleetDrain === true;
    e.forced = o?.manual === undefined ? null : o.manual === "up";
    e.weight = e.draining ? 0 : o?.weight ?? e.spec.weight;
  }
}

/** What `GET /pools` says of a target: drained ones by whether their last request finished. */
export type TargetState = "up" | "down" | "draining" | "drained";

export function targetState(healthy: boolean, draining: boolean, active: number): TargetState {
  if (draining) return active > 0 ? "draining" : "drained";
  return healthy ? "up" : "down";
}

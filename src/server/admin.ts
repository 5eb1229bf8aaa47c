/**
 * The admin API's changes (control/admin-routes.ts), applied to the running vane: drains,
 * weights and manual marks on the health entries at once (and sent to the workers);
 * targets added or removed, pools and host routes put, as a new generation built like
 * a reload (which reaches every worker before it answers). Each change is logged with
 * who made it and published to /events; `POST /config/save` writes the config in service
 * back to its file (the old one kept as FILE.bak).
 */
import { copyFileSync, existsSync, renameSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import type { ReloadOutcome } from "../control/app.ts";
import type { AdminActor, AdminChange, AdminOps, AdminOutcome, AdminPool } from "../control/admin-routes.ts";
import type { EventHub } from "../control/events.ts";
import type { StatusSnapshot } from "../control/snapshot.ts";
import {
  applyOverrides,
  type RuntimeState,
  type TargetOverride,
  targetRaw,
  targetState,
  weightsToDocument,
} from "../control/runtime-state.ts";
import type { TargetHealth } from "../health/registry.ts";
import { configToDocument, PRINT_HEADER } from "../config/print.ts";
import { isPoolName, MAX_WEIGHT, parseTarget, q } from "../config/target.ts";
import { errorText } from "../errors/mod.ts";
import type { VaneContext } from "./context.ts";
import { effectiveConfig } from "./effective-config.ts";
import type { FleetDrains } from "./fleet-drains.ts";

export interface AdminDeps {
  /** The status snapshot with every worker's counters (in-flight requests per target). */
  snapshot(): Promise<StatusSnapshot>;
  /** Builds and installs a new generation from `base` (with the runtime state): a reload. */
  reload(base: NonNullable<VaneContext["base"]>): Promise<ReloadOutcome>;
  /** Drains shared through etcd (`{"fleet": true}`). */
  fleet: FleetDrains;
}

type Refusal = Extract<AdminOutcome, { ok: false }>;
const refuse = (status: Refusal["status"], error: string): Refusal => ({ ok: false, status, errors: [error] });

export class AdminService implements AdminOps {
  readonly #ctx: VaneContext;
  readonly #deps: AdminDeps;

  constructor(ctx: VaneContext, deps: AdminDeps) {
    this.#ctx = ctx;
    this.#deps = deps;
    // Health verdicts that turn go to /events (the primary's checks decide them).
    ctx.registry.hooks.transition = (e, up, reason) =>
      ctx.events.publish("health", { pool: e.pool, role: e.role, target: e.key, up, reason });
  }

  get events(): EventHub {
    return this.#ctx.events;
  }

  async listeners(): Promise<unknown[]> {
    return (await this.#deps.snapshot()).listeners;
  }

  async pools(): Promise<Record<string, AdminPool>> {
    const snap = await this.#deps.snapshot();
    const out: Record<string, AdminPool> = {};
    for (const p of this.#ctx.gen!.pools.values()) {
      const shown = snap.pools[p.name];
      const row = (e: TargetHealth, list: StatusSnapshot["pools"][string]["targets"] | undefined) => {
        const t = list?.find((x) => x.target === e.key);
        const active = t?.activeConnections ?? e.activeConnections;
        const healthy = t?.healthy ?? e.alive(performance.now());
        return {
          target: e.key,
          role: e.role,
          address: t?.address ?? e.address,
          state: targetState(healthy, e.draining, active),
          healthy,
          manual: e.forced === null ? null : e.forced ? "up" as const : "down" as const,
          draining: e.draining,
          weight: this.#ctx.runtime.overrides[p.name]?.[e.key]?.weight ?? e.spec.weight,
          activeConnections: active,
          totalConnections: t?.totalConnections ?? e.totalConnections,
          lastError: t?.lastError ?? e.lastError,
          ...(t?.ejected ? { ejected: t.ejected } : {}),
        };
      };
      out[p.name] = {
        strategy: p.config.strategy,
        targets: [...p.primary.map((e) => row(e, shown?.targets)), ...p.fallback.map((e) => row(e, shown?.fallback))],
      };
    }
    return out;
  }

  async change(who: AdminActor, change: AdminChange): Promise<AdminOutcome> {
    const outcome = await this.#apply(change, `${who.address} (${who.auth})`);
    if (!outcome.ok) return outcome;
    const by = `${who.address} (${who.auth})`;
    const { op, ...what } = change;
    const fields = Object.fromEntries(Object.entries(what).filter(([k]) => k !== "body"));
    this.#ctx.log.info("admin change", { by, change: op, ...fields });
    this.#ctx.events.publish("admin", { by, change: op, ...fields });
    return outcome;
  }

  #apply(c: AdminChange, by: string): Promise<AdminOutcome> | AdminOutcome {
    switch (c.op) {
      case "drain":
      case "undrain":
        if (c.fleet) return this.#fleetDrain(c.pool, c.target, c.op === "drain", by);
        return this.#override(c.pool, c.target, (o) => (c.op === "drain" ? (o.drain = true) : delete o.drain));
      case "weight":
        if (c.weight < 0 || c.weight > MAX_WEIGHT) {
          return refuse(422, `weight: expected 0..${MAX_WEIGHT}; got ${c.weight}`);
        }
        return this.#override(c.pool, c.target, (o) => (o.weight = c.weight));
      case "mark":
        return this.#override(c.pool, c.target, (o) => (c.state === "auto" ? delete o.manual : (o.manual = c.state)));
      case "add":
        return this.#add(c.pool, c.target);
      case "remove":
        return this.#remove(c.pool, c.target);
      case "put-pool":
        return this.#putPool(c.pool, c.body);
      case "put-route":
        return this.#putRoute(c.listener, c.host, c.pool);
      case "save":
        return this.#save();
    }
  }

  /** The entries of `pool`'s `target` in service, or why there are none. */
  #find(pool: string, target: string): TargetHealth[] | Refusal {
    const p = this.#ctx.gen!.pools.get(pool);
    if (!p) return refuse(404, `no pool ${q(pool)}; pools: ${[...this.#ctx.gen!.pools.keys()].join(", ")}`);
    const found = p.entries().filter((e) => e.key === targetRaw(target));
    if (found.length > 0) return found;
    return refuse(
      404,
      `no target ${q(target)} in pool ${q(pool)}; targets: ${p.entries().map((e) => e.key).join(", ")}`,
    );
  }

  /** Writes the drain to etcd for the whole fleet (server/fleet-drains.ts); this vane applies it at once. */
  async #fleetDrain(pool: string, target: string, drain: boolean, by: string): Promise<AdminOutcome> {
    const found = this.#find(pool, target);
    if (!Array.isArray(found)) return found;
    const raw = found[0].key;
    const written = await this.#deps.fleet.set(pool, raw, drain, by);
    if (!written.ok) return refuse(written.status, written.error);
    return { ok: true, pool, target: raw, fleet: { key: written.key } };
  }

  /** Changes one target's override and puts the overrides in force here and in every worker. */
  async #override(pool: string, target: string, edit: (o: TargetOverride) => unknown): Promise<AdminOutcome> {
    const found = this.#find(pool, target);
    if (!Array.isArray(found)) return found;
    const key = found[0].key;
    const overrides = this.#ctx.runtime.overrides;
    const o = { ...overrides[pool]?.[key] };
    edit(o);
    const targets = overrides[pool] ??= {};
    if (Object.keys(o).length > 0) targets[key] = o;
    else delete targets[key];
    if (Object.keys(targets).length === 0) delete overrides[pool];
    applyOverrides(this.#ctx.gen!.entries(), overrides);
    await this.#ctx.options.cluster?.overrides?.(overrides);
    return { ok: true, pool, target: key, override: o };
  }

  #add(pool: string, target: string): Promise<AdminOutcome> | AdminOutcome {
    if (!this.#ctx.gen!.pools.has(pool)) return this.#find(pool, target) as Refusal;
    let raw: string;
    try {
      raw = parseTarget(target).raw;
    } catch (err) {
      return refuse(422, `target: ${errorText(err)}`);
    }
    if (Array.isArray(this.#find(pool, raw))) return refuse(409, `pool ${q(pool)} already has the target ${q(raw)}`);
    return this.#restructure((s) => {
      s.removed[pool] = (s.removed[pool] ?? []).filter((t) => t !== raw);
      if (s.removed[pool].length === 0) delete s.removed[pool];
      (s.added[pool] ??= []).push(target);
    });
  }

  #remove(pool: string, target: string): Promise<AdminOutcome> | AdminOutcome {
    const found = this.#find(pool, target);
    if (!Array.isArray(found)) return found;
    const raw = found[0].key;
    return this.#restructure((s) => {
      s.added[pool] = (s.added[pool] ?? []).filter((t) => targetRaw(t) !== raw);
      if (s.added[pool].length === 0) delete s.added[pool];
      (s.removed[pool] ??= []).push(raw);
    });
  }

  #putPool(pool: string, body: unknown): Promise<AdminOutcome> | AdminOutcome {
    if (!isPoolName(pool)) return refuse(422, `pool name ${q(pool)}: expected a name without spaces, ":" or ","`);
    return this.#restructure((s) => {
      // The pool as put is the pool: earlier additions and removals in it are spent.
      delete s.added[pool];
      delete s.removed[pool];
      s.pools[pool] = body;
    });
  }

  #putRoute(listener: string, host: string, pool: string): Promise<AdminOutcome> | AdminOutcome {
    const listeners = this.#ctx.gen!.config.listeners;
    if (!listeners.some((l) => l.address.raw === listener)) {
      return refuse(404, `no listener ${q(listener)}; listeners: ${listeners.map((l) => l.address.raw).join(", ")}`);
    }
    if (!this.#ctx.gen!.pools.has(pool)) return this.#find(pool, "") as Refusal;
    return this.#restructure((s) => {
      s.routes = s.routes.filter((r) => !(r.listener === listener && r.host === host));
      s.routes.push({ listener, host, pool });
    });
  }

  /** Checks the changed state against the config, then serves it as a new generation. */
  async #restructure(edit: (s: RuntimeState) => void): Promise<AdminOutcome> {
    const ctx = this.#ctx;
    const next = structuredClone(ctx.runtime);
    edit(next);
    const base = ctx.base ?? ctx.initial;
    const checked = effectiveConfig(base, next, new Set(ctx.functions.keys()));
    if (!checked.ok) return { ok: false, status: 422, errors: checked.errors };
    const before = ctx.runtime;
    ctx.runtime = next;
    const outcome = await this.#deps.reload(base);
    if (outcome.ok) return { ok: true, generation: outcome.generation };
    ctx.runtime = { ...before, overrides: ctx.runtime.overrides };
    return { ok: false, status: 500, errors: outcome.errors };
  }

  /** Writes the config in service (with the admin's weights) to the config file; the old one stays as FILE.bak. */
  #save(): AdminOutcome {
    const file = this.#ctx.options.configFile;
    if (file === undefined) return refuse(409, "vane was started without a config file; nothing to save to");
    const doc = configToDocument(this.#ctx.gen!.config);
    weightsToDocument(doc, this.#ctx.runtime.overrides);
    const text = PRINT_HEADER + stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 });
    try {
      if (existsSync(file)) copyFileSync(file, `${file}.bak`);
      writeFileSync(`${file}.tmp`, text, { mode: 0o644 });
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      return refuse(500, `cannot write ${file}: ${errorText(err)}`);
    }
    return { ok: true, file, backup: `${file}.bak` };
  }
}

/**
 * The one health registry of the process. The checker and the forwarders write
 * outcomes into it; pools read it to choose. Each entry is one target of one pool
 * (its primary set or its fallback), so the same address in two pools is judged
 * separately, as its pools' checks may differ.
 */
import {
  DEFAULT_PASSIVE,
  type EndpointSpec,
  type EtcdOrigin,
  type HealthConfig,
  type PassiveConfig,
  type PassiveKind,
  type SrvOrigin,
} from "../config/model.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import type { Failure } from "../errors/mod.ts";
import { OutlierDetector, type OutlierTrack } from "./outlier.ts";
import type { OutlierConfig } from "../config/model.ts";

export type TargetRole = "primary" | "fallback";

/** One entry's health as the primary sends it to workers (plain data). */
export interface SharedHealth {
  id: string;
  up: boolean;
  latencyMs: number | null;
  lastError: string | null;
  address: string | null;
  /** Time left on a passive bench (targets without checks), in ms. */
  benchedForMs: number;
}

/** Weight of the newest sample in the latency moving average. */
const LATENCY_EWMA_ALPHA = 0.3;

// A TargetHealth is what the strategies pick among (balance/strategy.ts's Candidate:
// key, weight, latencyMs, activeConnections): structurally, so health/ stays below
// balance/, which reads the registry.
export class TargetHealth {
  /** Pool, role and target: the same in every process that loads the same config. */
  readonly id: string;
  readonly key: string;
  /** The weight strategies read: the target's `@WEIGHT`, or an admin's (0 while draining; control/runtime-state.ts). */
  weight: number;
  /** Set by an admin (`vane ctl drain`): no new connection or request, open ones finish. */
  draining = false;
  /** Marked up (true) or down (false) by an admin: overrides the checks until cleared (null). */
  forced: boolean | null = null;
  up = false;
  /** Consecutive outcomes, the run that counts toward rise or fall. */
  successes = 0;
  failures = 0;
  latencyMs: number | null = null;
  lastError: string | null = null;
  /** The address last connected to or checked, `IP:PORT`. */
  address: string | null = null;
  activeConnections = 0;
  totalConnections = 0;
  /** HTTP responses to requests sent to it (a retry counts on the target that answered), and those 5xx. */
  requests = 0;
  errors = 0;
  /** With active checks off, a passive failure benches the target until then. */
  benchedUntil = 0;
  /** Failures seen while forwarding, in a row (of the kinds the pool counts); reset by a success. */
  passiveFailures = 0;
  /**
   * The run holds a failure after a connect that worked (a timeout or a reset): only
   * an answer ends it, not the next connect (a hung target accepts every one).
   */
  passiveAfterConnect = false;
  /** Ejected by the pool's outlier detection until then (a clock time); 0: not ejected. */
  ejectedUntil = 0;
  /** Its runs and ejections when the pool has `outlier` (health/outlier.ts); null otherwise. */
  outlier: OutlierTrack | null = null;

  /** The SRV name and priority this target came from; null for a target written as such. */
  readonly srv: SrvOrigin | null;
  /** The etcd prefix and key this target was registered under; null when not from etcd. */
  readonly etcd: EtcdOrigin | null;

  constructor(
    readonly pool: string,
    readonly role: TargetRole,
    readonly spec: EndpointSpec,
    readonly health: HealthConfig,
    readonly passive: PassiveConfig = DEFAULT_PASSIVE,
  ) {
    this.id = entryId(pool, role, spec);
    this.key = spec.raw;
    this.weight = spec.weight;
    this.srv = spec.kind === "node" ? null : spec.srv ?? null;
    this.etcd = spec.kind === "node" ? null : spec.etcd ?? null;
  }

  /** Whether traffic may go here now. */
  alive(now: number): boolean {
    if (this.forced !== null) return this.forced;
    if (this.ejectedUntil > 0 && this.outlier!.detector.ejected(this, now)) return false;
    if (this.health.check === "none") return now >= this.benchedUntil;
    return this.up;
  }

  observeLatency(ms: number): void {
    this.latencyMs = this.latencyMs === null ? ms : this.latencyMs + LATENCY_EWMA_ALPHA * (ms - this.latencyMs);
  }
}

/**
 * Where a registry's news goes besides its own entries, for workers that share one
 * health state: the primary publishes every change, a worker reports what it saw
 * while forwarding (the primary's checks decide, and it tells everyone).
 */
export interface HealthHooks {
  /** An entry's verdict, latency or error changed (checks or passive failures). */
  changed?(e: TargetHealth): void;
  /**
   * Something failed while forwarding (`error`, of `kind`), or after failures a connect
   * worked (null, "connect") or a target answered (null, "answer").
   */
  passive?(e: TargetHealth, error: string | null, kind: PassiveKind | "answer"): void;
  /** The checks' verdict turned (the primary's checks, not a worker adopting it): for /events. */
  transition?(e: TargetHealth, up: boolean, reason: string): void;
}

export class HealthRegistry {
  readonly #entries = new Map<string, TargetHealth>();
  /** Per pool name: kept across reloads while the pool's `outlier` stays the same. */
  readonly #outliers = new Map<string, OutlierDetector>();
  hooks: HealthHooks = {};

  readonly #log: Logger;
  readonly #now: () => number;
  constructor(log: Logger, now: () => number = () => performance.now()) {
    this.#log = log;
    this.#now = now;
  }

  byId(id: string): TargetHealth | undefined {
    return this.#entries.get(id);
  }

  /**
   * The entry for a pool's target, created on first use. A reload that keeps the
   * target with the same settings gets the same entry back, health state and all; a
   * change of its health or passive settings starts it afresh.
   */
  entry(
    pool: string,
    role: TargetRole,
    spec: EndpointSpec,
    health: HealthConfig,
    passive: PassiveConfig = DEFAULT_PASSIVE,
  ): TargetHealth {
    const id = entryId(pool, role, spec);
    let e = this.#entries.get(id);
    const settings = JSON.stringify([spec, health, passive]);
    if (e && JSON.stringify([e.spec, e.health, e.passive]) !== settings) e = undefined;
    if (!e) {
      e = new TargetHealth(pool, role, spec, health, passive);
      // Without active checks there is nothing to wait for: start in service.
      if (health.check === "none") e.up = true;
      this.#entries.set(e.id, e);
    }
    return e;
  }

  all(): TargetHealth[] {
    return [...this.#entries.values()];
  }

  /** Forgets one entry (a target an SRV answer no longer lists); connections to it finish. */
  forget(e: TargetHealth): void {
    if (this.#entries.get(e.id) === e) this.#entries.delete(e.id);
  }

  /** Forgets every entry not in `keep` (targets a reload removed). */
  retain(keep: Iterable<TargetHealth>): void {
    const wanted = new Set(keep);
    for (const [id, e] of this.#entries) if (!wanted.has(e)) this.#entries.delete(id);
  }

  /**
   * The pool's outlier detection over `targets` (its primary and fallback entries), or
   * none (`config` null). The same settings keep the detector, and each kept target its
   * runs and ejection; new settings start afresh.
   */
  outlierDetection(pool: string, config: OutlierConfig | null, targets: readonly TargetHealth[]): void {
    let d = this.#outliers.get(pool);
    if (config === null) {
      this.#outliers.delete(pool);
      for (const e of targets) {
        e.outlier = null;
        e.ejectedUntil = 0;
      }
      return;
    }
    if (d === undefined || JSON.stringify(d.config) !== JSON.stringify(config)) {
      d = new OutlierDetector(pool, config, this.#log, this.#now);
      this.#outliers.set(pool, d);
    }
    d.judge(targets);
  }

  /**
   * An HTTP target sent a response head with `status`: passive health hears it was
   * answered, outlier detection counts 5xx. The caller tests first that either cares.
   */
  answered(e: TargetHealth, status: number): void {
    if (e.passiveFailures > 0) this.passiveSuccess(e, ANSWERED);
    if (e.outlier !== null) e.outlier.detector.answered(e, status);
  }

  /** The first check at start decides the state directly; rise/fall apply after it. */
  initial(e: TargetHealth, outcome: { ok: true; latencyMs: number } | Failure): void {
    if (outcome.ok) {
      e.observeLatency(outcome.latencyMs);
      e.lastError = null;
      e.successes = 1;
      this.#transition(e, true, "initial check passed");
    } else {
      // Entries start down, so this is no transition; say it once all the same.
      e.lastError = outcome.reason;
      e.failures = 1;
      e.up = false;
      this.#log.warn("target down", { pool: e.pool, role: e.role, target: e.key, reason: outcome.reason });
    }
    this.hooks.changed?.(e);
  }

  /**
   * A connect while forwarding worked, or (`answered`) an HTTP target sent a response
   * head: the passive run starts over; a run with a timeout or reset in it only on an
   * answer. Called per request: the usual case is one comparison.
   */
  passiveSuccess(e: TargetHealth, answered: boolean = false): void {
    if (e.outlier !== null && e.outlier.runResets > 0 && !answered) e.outlier.detector.connected(e);
    if (e.passiveFailures === 0 || (e.passiveAfterConnect && !answered)) return;
    this.hooks.passive?.(e, null, answered ? "answer" : "connect");
    e.passiveFailures = 0;
    e.passiveAfterConnect = false;
  }

  success(e: TargetHealth, latencyMs: number): void {
    e.observeLatency(latencyMs);
    e.failures = 0;
    e.successes++;
    if (!e.up && e.successes >= e.health.rise) {
      this.#transition(e, true, `${e.successes} checks passed`);
    }
    this.hooks.changed?.(e);
  }

  /** An active check failed: DOWN after `fall` in a row. */
  failure(e: TargetHealth, error: string): void {
    e.lastError = error;
    e.successes = 0;
    e.failures++;
    if (e.up && e.failures >= e.health.fall) this.#transition(e, false, error);
    this.hooks.changed?.(e);
  }

  /**
   * Something failed while forwarding: a connect (`kind` "connect"), or an HTTP target
   * that said nothing within the upstream timeout ("timeout") or closed before a
   * response head ("reset"). It is the target's `lastError` either way; it counts when
   * the pool's `passive.on` names its kind. After `passive.failures` in a row (default
   * 1) the target is taken out at once (HAProxy's `on-error mark-down`), since clients
   * just paid for it; checks bring it back. 0 turns passive health off.
   */
  passiveFailure(e: TargetHealth, error: string, kind: PassiveKind = "connect"): void {
    const wasAlive = e.alive(this.#now());
    if (e.outlier !== null) e.outlier.detector.failed(e, kind !== "connect");
    this.hooks.passive?.(e, error, kind);
    e.lastError = error;
    if (!e.passive.on.includes(kind)) return;
    e.passiveFailures++;
    if (kind !== "connect") e.passiveAfterConnect = true;
    if (e.passive.failures === 0 || e.passiveFailures < e.passive.failures) return;
    // The run is spent on this verdict; the next one counts afresh.
    e.passiveFailures = 0;
    e.passiveAfterConnect = false;
    e.successes = 0;
    e.failures = Math.max(e.failures + 1, e.health.fall);
    if (e.health.check === "none") {
      // No checks to bring it back: the bench runs out by itself, so each bench of a
      // target that was in service is its own transition to log.
      e.benchedUntil = this.#now() + e.health.intervalMs;
      if (wasAlive) {
        this.#log.warn("target down", {
          pool: e.pool,
          role: e.role,
          target: e.key,
          reason: passiveReason(error, kind),
        });
      }
    } else {
      this.#transition(e, false, passiveReason(error, kind));
    }
    this.hooks.changed?.(e);
  }

  /** The state another process decided (a worker following the primary's verdicts). */
  adopt(e: TargetHealth, s: SharedHealth): void {
    if (e.up !== s.up) {
      e.up = s.up;
      this.#log.debug(s.up ? "target up" : "target down", {
        pool: e.pool,
        role: e.role,
        target: e.key,
        reason: "primary",
      });
    }
    e.latencyMs = s.latencyMs;
    e.lastError = s.lastError;
    e.address = s.address ?? e.address;
    e.benchedUntil = s.benchedForMs > 0 ? this.#now() + s.benchedForMs : 0;
  }

  /** What a worker needs of an entry to judge it as the primary does. */
  share(e: TargetHealth): SharedHealth {
    return {
      id: e.id,
      up: e.up,
      latencyMs: e.latencyMs,
      lastError: e.lastError,
      address: e.address,
      benchedForMs: Math.max(0, e.benchedUntil - this.#now()),
    };
  }

  /**
   * A connect or check to `e` failed on this host (health/local-error.ts: out of
   * descriptors, ports or buffers): it does not count against the target, and its
   * lastError stays. Logged at once, then counted per target (telemetry/log-limit.ts).
   */
  localFailure(e: TargetHealth, error: string): void {
    limited(this.#log).error("connect failed on this host, not counted against the target", "target", {
      pool: e.pool,
      target: e.key,
      error,
    });
  }

  #transition(e: TargetHealth, up: boolean, reason: string): void {
    if (e.up === up) return;
    e.up = up;
    this.hooks.transition?.(e, up, reason);
    if (up) this.#log.info("target up", { pool: e.pool, role: e.role, target: e.key, reason });
    else this.#log.warn("target down", { pool: e.pool, role: e.role, target: e.key, reason });
  }
}

/**
 * Pool, role and target; a target from an SRV answer is also keyed by its SRV name (one
 * from etcd by its prefix), so it is not the same entry as the same HOST:PORT written in
 * the list (or found by another name or prefix).
 */
function entryId(pool: string, role: TargetRole, spec: EndpointSpec): string {
  if (spec.kind === "node") return `${pool}\u0000${role}\u0000${spec.raw}`;
  const from = spec.srv ? `srv:${spec.srv.name}\u0000` : spec.etcd ? `etcd:${spec.etcd.prefix}\u0000` : "";
  return `${pool}\u0000${role}\u0000${from}${spec.raw}`;
}

/** Why a target went down for a failure seen while forwarding, as the log says it. */
function passiveReason(error: string, kind: PassiveKind): string {
  return kind === "connect" ? `connect failed: ${error}` : error;
}

/** For passiveSuccess: an HTTP target sent a response head (not only accepted the connect). */
export const ANSWERED = true;

/**
 * Passive outlier ejection, per pool (Envoy's outlier detection): a target that answers
 * N 5xx in a row, or fails N times in a row (connect failures, resets, timeouts), takes
 * no new requests for a while, however its active checks judge it. The k-th ejection of
 * a target lasts k × base (capped); the multiplier goes down by one per base period the
 * target then serves without an ejection, as Envoy's does. At most a share of the
 * pool's targets is out at once, and never all of them: ejecting the last one would
 * turn a few bad answers into none at all.
 *
 * The state lives on each target (an OutlierTrack) and is read per pick through
 * `ejectedUntil`; the clock is read only while a target is out, and the return is
 * noticed (and logged) by the first pick or status read after its time.
 */
import type { OutlierConfig } from "../config/model.ts";
import type { Logger } from "../telemetry/logger.ts";
import { formatDuration } from "../config/duration.ts";

/** Why a target was ejected, as logs, `/status` and metrics name it. */
export type EjectionReason = "5xx" | "resets";

/** What a detector needs of a target (health/registry.ts's TargetHealth has it). */
export interface Ejectable {
  readonly key: string;
  /** A clock time until which the target takes no new requests; 0: not ejected. */
  ejectedUntil: number;
  outlier: OutlierTrack | null;
}

/** One target's runs and ejections. */
export class OutlierTrack {
  /** 5xx answers in a row. */
  run5xx = 0;
  /** Connect failures, resets and timeouts in a row. */
  runResets = 0;
  /** The resets run holds a failure after a connect that worked: only an answer ends it. */
  afterConnect = false;
  /** The ejection multiplier: the next ejection lasts (multiplier + 1) × base. */
  multiplier = 0;
  /** When the target last came back (a clock time), for the multiplier's decay. */
  returnedAt = 0;
  /** The current (or last) ejection's reason. */
  reason: EjectionReason | null = null;
  /** Ejections so far, by reason (for metrics). */
  readonly ejections: Record<EjectionReason, number> = { "5xx": 0, resets: 0 };

  constructor(readonly detector: OutlierDetector) {}
}

export class OutlierDetector {
  readonly #members: Ejectable[] = [];
  readonly #log: Logger;
  readonly #now: () => number;

  constructor(readonly pool: string, readonly config: OutlierConfig, log: Logger, now: () => number) {
    this.#log = log;
    this.#now = now;
  }

  /** The pool's targets, now (a reload may change them); a target keeps its track when it had one here. */
  judge(targets: readonly Ejectable[]): void {
    this.#members.length = 0;
    for (const e of targets) {
      if (e.outlier?.detector !== this) {
        e.outlier = new OutlierTrack(this);
        e.ejectedUntil = 0;
      }
      this.#members.push(e);
    }
  }

  /** A response head with `status` came from `e`. */
  answered(e: Ejectable, status: number): void {
    const t = e.outlier!;
    t.runResets = 0;
    t.afterConnect = false;
    if (status < 500 || status > 599) {
      t.run5xx = 0;
      return;
    }
    t.run5xx++;
    const n = this.config.consecutive5xx;
    if (n > 0 && t.run5xx >= n) this.#eject(e, "5xx");
  }

  /** A connect to `e` failed (`connect`), or the target reset or timed out after one. */
  failed(e: Ejectable, afterConnect: boolean): void {
    const t = e.outlier!;
    t.runResets++;
    if (afterConnect) t.afterConnect = true;
    const n = this.config.consecutiveResets;
    if (n > 0 && t.runResets >= n) this.#eject(e, "resets");
  }

  /** A connect to `e` worked: the resets run ends unless it holds a failure after a connect. */
  connected(e: Ejectable): void {
    const t = e.outlier!;
    if (!t.afterConnect) t.runResets = 0;
  }

  /** Whether `e` is out at `now`; the first call after its time brings it back. */
  ejected(e: Ejectable, now: number): boolean {
    if (e.ejectedUntil === 0) return false;
    if (now < e.ejectedUntil) return true;
    e.ejectedUntil = 0;
    const t = e.outlier!;
    t.returnedAt = now;
    t.run5xx = 0;
    t.runResets = 0;
    t.afterConnect = false;
    this.#log.info("target back from ejection", { pool: this.pool, target: e.key, reason: t.reason ?? "" });
    return false;
  }

  /** How many of the pool's targets may be out at once: the share, less one if it would be all. */
  get maxEjected(): number {
    const n = this.#members.length;
    return Math.min(Math.floor((n * this.config.maxEjectedPercent) / 100), n - 1);
  }

  #eject(e: Ejectable, reason: EjectionReason): void {
    const now = this.#now();
    const t = e.outlier!;
    if (this.ejected(e, now)) return;
    let out = 0;
    for (const m of this.#members) if (m !== e && this.ejected(m, now)) out++;
    if (out >= this.maxEjected) {
      // The run stays at the threshold: the next failure asks again, when others may be back.
      this.#log.debug("target not ejected: the pool's max-ejected share is out", { pool: this.pool, target: e.key });
      return;
    }
    const { baseEjectionMs: base, maxEjectionMs: max } = this.config;
    // Envoy's decay: one step down per base period served since the last return.
    if (t.returnedAt > 0 && base > 0) {
      t.multiplier = Math.max(0, t.multiplier - Math.floor((now - t.returnedAt) / base));
    }
    t.multiplier++;
    const ms = Math.min(t.multiplier * base, Math.max(max, base));
    e.ejectedUntil = now + ms;
    t.reason = reason;
    t.ejections[reason]++;
    t.run5xx = 0;
    t.runResets = 0;
    t.afterConnect = false;
    this.#log.warn("target ejected", {
      pool: this.pool,
      target: e.key,
      reason: reason === "5xx"
        ? `${this.config.consecutive5xx} consecutive 5xx`
        : `${this.config.consecutiveResets} consecutive connect failures, resets or timeouts`,
      duration: formatDuration(ms),
    });
  }
}

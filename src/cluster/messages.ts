/**
 * What the primary and its workers say to each other: one JSON object per line on the
 * worker's stdin (primary -> worker) and stdout (worker -> primary). Logs stay on
 * stderr, which workers share with the primary.
 */
import type { SharedHealth } from "../health/registry.ts";
import type { PassiveKind } from "../config/model.ts";
import type { StatusSnapshot } from "../control/snapshot.ts";
import type { ChallengeAnswer } from "../tls/challenges.ts";
import type { TargetOverrides } from "../control/runtime-state.ts";
import type { RateAsk, RateGrants } from "./rate-messages.ts";

/** The environment variable that makes a started vane a worker, and its number. */
export const WORKER_ENV = "VANE_WORKER";

export type ToWorker =
  /**
   * Serve `config` (YAML, as --print-config writes it) with the primary's health verdicts.
   * `generation`: the primary's number for that config, which names its rate limits'
   * counts (cluster/rate-leases.ts); `workers`: how many processes serve, the primary included.
   */
  | { type: "start"; index: number; config: string; health: SharedHealth[]; generation: number; workers: number }
  | { type: "reload"; id: number; config: string; health: SharedHealth[]; generation: number }
  /** Verdicts that changed since the last message. */
  | { type: "health"; states: SharedHealth[] }
  | { type: "snapshot"; id: number }
  /**
   * Close the listening sockets and say so: the first step of a handover to a new
   * process (vane upgrade), so that no process of the old vane still accepts when its
   * connections are told to close and their clients connect again.
   */
  | { type: "unlisten"; id: number }
  | { type: "stop"; graceMs: number }
  /** Open the access log file again (the primary got SIGUSR1: logrotate renamed it). */
  | { type: "reopen-logs" }
  /** A certificate the primary obtained by ACME (or loaded): serve it for `name` from now on. */
  | { type: "acme-cert"; name: string; cert: string; key: string }
  /** An ACME challenge answer opened or closed: the CA's validation may reach any worker. */
  | { type: "acme-challenge"; op: "add" | "remove"; answer: ChallengeAnswer }
  /** The admin's drains, weights and manual marks, all of them: put them in force (and say so when `id` is set). */
  | { type: "runtime"; id?: number; overrides: TargetOverrides }
  /** Someone follows /events (on) or nobody does any more: relay access-log lines, or stop. */
  | { type: "events"; on: boolean }
  /** The answer to a worker's `rate` message: tokens for its rate limits' keys. */
  | { type: "rate-grant"; grants: RateGrants };

export type FromWorker =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | { type: "reloaded"; id: number; ok: boolean; errors: string[] }
  | { type: "snapshot"; id: number; snapshot: StatusSnapshot }
  | { type: "unlistened"; id: number }
  | { type: "runtime-applied"; id: number }
  /** Something failed while forwarding (error, of kind), or after failures a connect worked or a target answered (null). */
  | { type: "passive"; id: string; error: string | null; kind: PassiveKind | "answer" }
  /** An access-log line, relayed while the primary asked for them (for /events). */
  | { type: "access"; line: string }
  /** One turn's tokens wanted for rate limits, and leased ones not used (cluster/rate-leases.ts). */
  | { type: "rate"; ask: RateAsk };

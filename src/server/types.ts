/**
 * The public face of one running vane (`Vane`, `createVane`'s options) and the hooks a
 * cluster worker plugs in. A leaf of src/server/: the parts of a vane import these
 * types, and server/vane.ts exports them to mod.ts and src/cluster/.
 */
import type { Config, ListenerConfig } from "../config/model.ts";
import type { StatusSnapshot } from "../control/snapshot.ts";
import type { ReloadOutcome, UpgradeOutcome } from "../control/app.ts";
import type { HealthRegistry, TargetHealth } from "../health/registry.ts";
import type { FlowFunction } from "../flow/flow.ts";
import type { AcmeService } from "./acme.ts";
import type { TargetOverrides } from "../control/runtime-state.ts";
import type { EventHub } from "../control/events.ts";
import type { RateStores } from "../flow/rate-store.ts";

export interface BoundListener {
  config: ListenerConfig;
  /** The address actually bound (port 0 becomes the ephemeral port). */
  addr: { hostname: string; port: number };
}

/**
 * What `createVane` and `startVane` take beside the config: functions flows may call,
 * where a reload reads the next config, cluster hooks and an admin token.
 *
 * @example
 * ```ts
 * import type { VaneOptions } from "./mod.ts";
 * const options: VaneOptions = {
 *   functions: { auth: (keys) => ({ branch: keys["req.header.x-key"] === "k" ? "allow" : "deny" }) },
 *   adminToken: "s3cret",
 * };
 * ```
 */
export interface VaneOptions {
  /** TypeScript functions that flows can call as plugin steps (`plugin: { function: NAME }`). */
  functions?: ReadonlyMap<string, FlowFunction> | Record<string, FlowFunction>;
  /**
   * Where the next config comes from, for `POST /reload` (and whoever calls
   * `reloadFromSource`): e.g. the config file read again. Absent: /reload says so.
   */
  source?: () => Promise<{ ok: true; config: Config } | { ok: false; errors: string[] }>;
  /** Set when this vane is one of several worker processes (src/cluster/). */
  cluster?: ClusterHooks;
  /**
   * The admin token when the config names none (neither `token` nor `token-file`):
   * the executable passes `VANE_ADMIN_TOKEN`.
   */
  adminToken?: string;
  /**
   * `POST /upgrade`: starts a new vane process that takes over from this one
   * (src/cluster/upgrade.ts). Absent: /upgrade answers that this vane cannot.
   */
  upgrade?: () => Promise<UpgradeOutcome>;
  /**
   * Set in the new process of `vane upgrade`: it binds its ports beside the old
   * process's (both SO_REUSEPORT) and binds the status endpoint once `statusAfter`
   * resolves, when the old process has been told to let go of it.
   */
  takeover?: { statusAfter: Promise<void> };
  /** The config file, which `POST /config/save` writes the config in service to. Absent: nothing to save to. */
  configFile?: string;
}

/** How `Vane.stop` goes about it. */
export interface StopOptions {
  /**
   * A new process took over (`vane upgrade`): the status endpoint closes first, so
   * that the new one can bind it while this one drains.
   */
  handover?: boolean;
}

/**
 * What changes when vane runs as one of several workers: its sockets are opened with
 * SO_REUSEPORT, and the primary (worker 0) decides health and answers for everyone.
 */
export interface ClusterHooks {
  /** This process's worker number; 0 is the primary. */
  index: number;
  /** Set in workers: health comes from the primary; called with new entries instead of checking them. */
  follow?: (entries: TargetHealth[]) => void;
  /** Set in the primary: what the status endpoint shows, this process's snapshot plus the workers'. */
  aggregate?: (own: StatusSnapshot) => Promise<StatusSnapshot>;
  /** Set in the primary: a reload is in service here; resolves once every worker has it too. */
  reloaded?: (config: Config) => Promise<void>;
  /**
   * Given this process's ACME certificates and challenge answers as the vane is made:
   * the primary passes its own on to the workers, a worker fills its own from them.
   */
  acme?: (acme: AcmeService) => void;
  /** Set in the primary: an admin changed drains, weights or manual marks; resolves once every worker has them. */
  overrides?: (overrides: TargetOverrides) => Promise<void>;
  /**
   * Where rate-limit actions count, shared by the processes of the host: the primary's
   * authoritative buckets, or a worker's leases of them (flow/rate-store.ts). Absent:
   * each process counts alone.
   */
  rates?: RateStores;
}

/**
 * One vane: start it, reload it with a new config, read its status, stop it.
 *
 * @example
 * ```ts
 * import { startVane, type Vane } from "./mod.ts";
 * const vane: Vane = await startVane(config);
 * console.log(vane.listeners.map((l) => l.addr.port), vane.snapshot().pools);
 * const outcome = await vane.reload(nextConfig);
 * if (!outcome.ok) console.error(outcome.errors.join("\n"));
 * await vane.stop();
 * ```
 */
export interface Vane {
  start(): Promise<void>;
  /** Stops accepting, waits up to `graceMs` for open connections, then closes them. */
  stop(graceMs?: number, options?: StopOptions): Promise<void>;
  /**
   * Closes the listening TCP sockets and nothing else: the first step of a handover,
   * taken in every process of the old vane before any of them tells its connections
   * to close (their clients then reconnect to the new process only). `stop` follows.
   */
  stopAccepting(): void;
  /**
   * Swaps in `config`: unchanged listeners keep their sockets, connections in flight
   * keep the config they started with, health of unchanged targets is kept. On any
   * failure the running config stays and the outcome says why.
   */
  reload(config: Config): Promise<ReloadOutcome>;
  /** Reloads from `options.source`. */
  reloadFromSource(): Promise<ReloadOutcome>;
  /** Opens the access log file again (logrotate renamed it: SIGUSR1); false when it could not be. */
  reopenLogs(): boolean;
  readonly listeners: BoundListener[];
  readonly statusAddr: { hostname: string; port: number } | null;
  /** The config generation serving new connections (1 after start). */
  readonly generation: number;
  readonly config: Config;
  snapshot(): StatusSnapshot;
  readonly registry: HealthRegistry;
  /** The admin's drains, weights and manual marks now in force (control/runtime-state.ts). */
  readonly overrides: TargetOverrides;
  /** Puts `overrides` in force on every target at once (a worker following its primary). */
  setOverrides(overrides: TargetOverrides): void;
  /** What `/events` streams (health verdicts, reloads, admin changes, access-log lines). */
  readonly events: EventHub;
}

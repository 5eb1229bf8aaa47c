/**
 * What the parts of one running vane share: the generation in service, the flag a
 * stop raises, and the services every generation uses (health registry, counters,
 * idle upstream connections, the open clients). server/vane.ts makes one and hands it
 * to each part (listeners, health checks, status endpoint, reload) explicitly.
 */
import { ClientCounts } from "./client-counts.ts";
import { H2Upstreams } from "../http2/upstreams.ts";
import type { Config } from "../config/model.ts";
import type { Runtime } from "../runtime/types.ts";
import type { LogFields, Logger } from "../telemetry/logger.ts";
import type { FlowFunction } from "../flow/flow.ts";
import type { Generation } from "./generation.ts";
import type { VaneOptions } from "./types.ts";
import { HealthRegistry } from "../health/registry.ts";
import { UpstreamPool } from "../http/upstream-pool.ts";
import { PartialHeads } from "../http/partial-heads.ts";
import { TrafficCounters } from "../telemetry/counters.ts";
import { Members } from "../forward/members.ts";
import { ClientSlots, defaultMaxConns } from "./client-slots.ts";
import { TerminateHops } from "./terminate.ts";
import { type ConnectionDeps, handleDecrypted, type HopOrigin, type OpenClient } from "./connection.ts";
import { AcmeService } from "./acme.ts";
import type { AccessLog } from "../telemetry/access-log.ts";
import { openAccessLog } from "./access.ts";
import { EventHub } from "../control/events.ts";
import { emptyRuntimeState, type RuntimeState } from "../control/runtime-state.ts";
import { RedisRates } from "../store/redis/rates.ts";

/**
 * Idle keep-alive connections kept per target, and for how long. The bound is high
 * (HAProxy keeps every idle server connection by default): a pool smaller than the
 * number of concurrent clients closes and reopens upstream connections all the time.
 */
const UPSTREAM_IDLE = { maxIdlePerKey: 1024, idleMs: 30_000 };

export class VaneContext {
  /** The generation serving new connections; null before start. */
  gen: Generation | null = null;
  /** The generation /status reports; with workers it follows `gen` once they all have it. */
  announced: Generation | null = null;
  /** The config as loaded (file or flags), before the admin's changes: a reload replaces it. */
  base: Config | null = null;
  /** The admin's changes layered over `base` (control/runtime-state.ts); workers get the overrides only. */
  runtime: RuntimeState = emptyRuntimeState();
  /** What `/events` streams: health verdicts, reloads, admin changes. */
  readonly events = new EventHub();
  /** Set by stop(): answers say `Connection: close` and reloads are refused. */
  draining = false;
  /** The default max-conns, from the open-file limit read at start (server/file-limit.ts). */
  derivedMaxConns = defaultMaxConns(null);
  readonly startedAt = performance.now();
  readonly registry: HealthRegistry;
  readonly counters = new TrafficCounters();
  readonly upstreams = new UpstreamPool(UPSTREAM_IDLE);
  /** HTTP/2 connections to the targets of h2c pools, shared across reloads as `upstreams` is. */
  readonly h2Upstreams: H2Upstreams;
  readonly functions: ReadonlyMap<string, FlowFunction>;
  readonly clients: ClientSlots<OpenClient>;
  /** Each generation's internal TLS hops (terminate steps), made on first use. */
  readonly hops = new Map<Generation, TerminateHops<HopOrigin>>();
  /** What every accepted connection is handed (server/connection.ts). */
  readonly conns: ConnectionDeps;
  /** Certificates by ACME and their challenge answers (the manager runs in the primary only). */
  readonly acme: AcmeService;
  /** The access log (config `access-log`, as vane started), or null. */
  readonly access: AccessLog | null;
  /** Rate limits counted in Redis (`store:`): one connection per URL, kept across reloads, closed by stop. */
  readonly redisRates: RedisRates;
  readonly #worker: boolean;

  constructor(readonly initial: Config, readonly rt: Runtime, readonly log: Logger, readonly options: VaneOptions) {
    this.#worker = (options.cluster?.index ?? 0) > 0;
    this.acme = new AcmeService(rt, log, !this.#worker);
    this.registry = new HealthRegistry(log);
    this.redisRates = new RedisRates((addr, ms) => rt.connectTcp(addr, ms), log);
    this.h2Upstreams = new H2Upstreams(rt, this.registry, () => this.config.timeouts.connectMs);
    this.functions = options.functions instanceof Map
      ? options.functions
      : new Map(Object.entries(options.functions ?? {}));
    this.access = openAccessLog(initial.accessLog, log);
    // `vane ctl tail` follows the lines written here through /events (type access).
    this.access?.subscribe((line) => this.events.accessLog(line));
    this.clients = new ClientSlots<OpenClient>(() => this.config.maxConns ?? this.derivedMaxConns, log);
    const conns: ConnectionDeps = {
      rt,
      log,
      registry: this.registry,
      counters: this.counters,
      access: this.access,
      clients: this.clients,
      perClient: new ClientCounts(),
      draining: () => this.draining,
      current: () => this.gen,
      httpConns: new Members(),
      h2Upstreams: this.h2Upstreams,
      partialHeads: new PartialHeads(log),
      acmeHttp: (path) => this.acme.httpAnswer(path),
      hopsOf: (g) => {
        let h = this.hops.get(g);
        if (!h) {
          h = new TerminateHops<HopOrigin>(
            rt,
            log,
            (step, conn, origin) => void handleDecrypted(step, conn, origin, conns),
          );
          this.hops.set(g, h);
        }
        return h;
      },
    };
    this.conns = conns;
  }

  /** The config serving new connections, or the initial one before start. */
  get config(): Config {
    return this.gen?.config ?? this.initial;
  }

  // Lines every process would say alike (what it listens on, its limits) are said by
  // the primary; workers keep them at debug level.
  primaryInfo(msg: string, fields?: LogFields): void {
    if (this.#worker) this.log.debug(msg, fields);
    else this.log.info(msg, fields);
  }

  primaryWarn(msg: string, fields?: LogFields): void {
    if (this.#worker) this.log.debug(msg, fields);
    else this.log.warn(msg, fields);
  }
}

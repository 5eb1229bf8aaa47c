/**
 * The control endpoint (`control.listen`: /status, /healthz, /metrics, POST /reload;
 * the app is control/app.ts) and the snapshot it shows: version, the generation every
 * worker serves, listeners with their flows (secrets redacted), pools with each
 * target's health, byte and request counters. The endpoint follows the config: a
 * reload that moves or removes it rebinds or closes it.
 */
import type { Config } from "../config/model.ts";
import type { HttpServer } from "../runtime/types.ts";
import type { PoolStatus, StatusSnapshot, TargetStatus } from "../control/snapshot.ts";
import type { Pool } from "../balance/pool.ts";
import type { TargetHealth } from "../health/registry.ts";
import type { Generation } from "./generation.ts";
import type { VaneContext } from "./context.ts";
import type { Listeners } from "./listeners.ts";
import type { UdpForwarder } from "../forward/udp.ts";
import { createControlApp, type ReloadOutcome, type UpgradeOutcome } from "../control/app.ts";
import type { AdminOps } from "../control/admin-routes.ts";
import { formatAddress } from "../config/address.ts";
import { configToDocument } from "../config/print.ts";
import { redactConfig } from "../control/redact.ts";
import { VERSION } from "../version.ts";
import { errorText, toError } from "../errors/mod.ts";
import { ADDRESS_IN_USE } from "../runtime/net-common.ts";

/** What the endpoint asks of the rest of vane. */
export interface StatusHandlers {
  /** The admin token in force now (read per request). */
  token(): string | null;
  /** POST /reload; null when vane has no config source to reload from. */
  reload: (() => Promise<ReloadOutcome>) | null;
  /** POST /upgrade; null when this vane cannot start a successor. */
  upgrade: (() => Promise<UpgradeOutcome>) | null;
  /** The admin API and /events (server/admin.ts). */
  admin?: AdminOps;
}

/** How long the new process of an upgrade waits for the old one to free the status port. */
const STATUS_HANDOVER_MS = 30_000;
const STATUS_HANDOVER_RETRY_MS = 50;

export class StatusEndpoint {
  readonly #ctx: VaneContext;
  readonly #listeners: Listeners;
  readonly #handlers: StatusHandlers;
  #server: HttpServer | null = null;
  /** Set while the status port is waited for after an upgrade; cleared by whoever moves on. */
  #handover: symbol | null = null;
  /** The takeover's wait applies to the first bind only. */
  #tookOver = false;
  /** The flow each generation shows on /status, secrets redacted; made on first ask. */
  readonly #shownFlows = new WeakMap<Generation, Array<{ flow: unknown[] }>>();

  constructor(ctx: VaneContext, listeners: Listeners, handlers: StatusHandlers) {
    this.#ctx = ctx;
    this.#listeners = listeners;
    this.#handlers = handlers;
  }

  get addr(): { hostname: string; port: number } | null {
    return this.#server ? this.#server.addr : null;
  }

  /** The status endpoint follows `control.listen`; the token is read per request. */
  async sync(before: Config | null, after: Config): Promise<void> {
    const was = before?.control.listen ?? null;
    const want = after.control.listen;
    if (this.#server && JSON.stringify(was) === JSON.stringify(want)) return;
    await this.close();
    if (!want) return;
    const takeover = this.#ctx.options.takeover;
    if (takeover && !this.#tookOver) {
      // The old process holds the port until it is told to stop: bind once it let go,
      // without holding up the start (the ports that serve traffic come first).
      this.#tookOver = true;
      const attempt = Symbol("status handover");
      this.#handover = attempt;
      void takeover.statusAfter.then(() => this.#bindWhenFree(want, attempt));
      return;
    }
    this.#server = await this.#bind(want);
  }

  async #bind(want: { host: string; port: number }): Promise<HttpServer> {
    let server: HttpServer | null = null;
    const app = createControlApp({
      snapshot: () => this.fullSnapshot(),
      token: this.#handlers.token,
      reload: this.#handlers.reload,
      upgrade: this.#handlers.upgrade,
      admin: this.#handlers.admin,
      address: () => server?.addr ?? null,
    });
    server = await this.#ctx.rt.serveHttp(
      { hostname: want.host, port: want.port },
      (req, peer) => app.fetch(req, peer),
    ).catch((err) => {
      throw statusListenError(err);
    });
    this.#ctx.log.info("status endpoint", { listen: formatAddress(server.addr.hostname, server.addr.port) });
    return server;
  }

  /** Binds the status port once the old process of an upgrade has closed it (bounded). */
  async #bindWhenFree(want: { host: string; port: number }, attempt: symbol): Promise<void> {
    const deadline = performance.now() + STATUS_HANDOVER_MS;
    while (this.#handover === attempt) {
      try {
        const server = await this.#bind(want);
        // A reload or a stop moved on meanwhile: this socket is no longer wanted.
        if (this.#handover !== attempt) return void server.close();
        this.#handover = null;
        this.#server = server;
        return;
      } catch (err) {
        const message = errorText(err);
        if (!message.includes(ADDRESS_IN_USE) || performance.now() >= deadline) {
          this.#handover = null;
          this.#ctx.log.error("status endpoint: cannot take it over from the old process; a reload tries again", {
            error: message,
          });
          return;
        }
        await new Promise((r) => setTimeout(r, STATUS_HANDOVER_RETRY_MS));
      }
    }
  }

  async close(): Promise<void> {
    this.#handover = null;
    await this.#server?.close();
    this.#server = null;
  }

  /** This process's snapshot, with every worker's counters added when there are workers. */
  async fullSnapshot(): Promise<StatusSnapshot> {
    const aggregate = this.#ctx.options.cluster?.aggregate;
    return aggregate ? await aggregate(this.snapshot()) : this.snapshot();
  }

  snapshot(): StatusSnapshot {
    const { rt, counters, clients, options } = this.#ctx;
    const g = this.#ctx.gen!;
    const announced = this.#ctx.announced ?? g;
    const bound = this.#listeners.bound;
    const shown = this.#shownFlow(g);
    const udpSum = (of: (f: UdpForwarder) => number) =>
      bound.reduce((n, b) => n + (b.udp ? of(b.udp.forwarder) : 0), 0);
    return {
      version: VERSION,
      runtime: `${rt.name} ${rt.version}`,
      uptimeSeconds: Math.round((performance.now() - this.#ctx.startedAt) / 1000),
      // The generation every worker serves: a reload shows once all of them have it.
      config: { generation: announced.id, loadedAt: announced.loadedAt.toISOString() },
      listeners: bound.map((b) => ({
        listen: b.plan.config.address.raw,
        protocol: b.plan.config.address.protocol,
        address: formatAddress(b.addr.hostname, b.addr.port),
        flow: shown[g.listeners.indexOf(b.plan)]?.flow ?? [],
      })),
      pools: Object.fromEntries([...g.pools.values()].map((p) => [p.name, this.#poolStatus(p)])),
      bytes: {
        upstream: counters.upstreamBytes + udpSum((f) => f.bytesUpstream),
        downstream: counters.downstreamBytes + udpSum((f) => f.bytesDownstream),
      },
      detections: { ...counters.detections },
      refused: { ...counters.refused },
      retriesSkipped: [...counters.retriesSkipped].map(([key, count]) => {
        const [pool, reason] = key.split("\u0000");
        return { pool, reason, count };
      }),
      requests: [...counters.requests].map(([key, count]) => {
        const [route, pool, code] = key.split("\u0000");
        return { route, pool, code: Number(code), count };
      }),
      workers: [{
        worker: options.cluster?.index ?? 0,
        pid: rt.pid,
        connections: counters.accepted,
        open: clients.size,
        ...(bound.some((b) => b.udp) ? { datagrams: udpSum((f) => f.datagramsFromClients) } : {}),
      }],
      ...(g.config.acme ? { certificates: this.#ctx.acme.status() } : {}),
    };
  }

  #shownFlow(g: Generation): Array<{ flow: unknown[] }> {
    let shown = this.#shownFlows.get(g);
    if (!shown) {
      shown = (configToDocument(redactConfig(g.config)) as { listeners: Array<{ flow: unknown[] }> }).listeners;
      this.#shownFlows.set(g, shown);
    }
    return shown;
  }

  #poolStatus(p: Pool): PoolStatus {
    const maxconn = p.config.maxconn;
    const targetStatus = (e: TargetHealth) => {
      const t = this.#targetStatus(e);
      return maxconn === undefined ? t : { ...t, maxconn };
    };
    const status: PoolStatus = {
      strategy: p.config.strategy,
      targets: p.primary.map(targetStatus),
      fallback: p.fallback.map(targetStatus),
    };
    const queue = p.queue;
    if (queue !== null) {
      const { length, maxqueue, timeoutMs } = queue;
      status.queue = { length, maxqueue, timeoutMs, rejected: { ...queue.rejected } };
    }
    return status;
  }

  #targetStatus(e: TargetHealth): TargetStatus {
    const now = performance.now();
    const res = this.#ctx.gen!.resolver.current(e.spec);
    return {
      target: e.key,
      address: e.address ?? (res.addresses[0] ? formatAddress(res.addresses[0], e.spec.port) : null),
      healthy: e.alive(now) && res.addresses.length > 0,
      latencyMs: e.latencyMs === null ? null : Math.round(e.latencyMs * 1000) / 1000,
      activeConnections: e.activeConnections,
      totalConnections: e.totalConnections,
      requests: e.requests,
      errors: e.errors,
      lastError: e.lastError ?? res.error,
      ...outlierStatus(e, now),
      ...(e.srv ? { srv: { name: e.srv.name, priority: e.srv.priority } } : {}),
      ...(e.etcd ? { etcd: { ...e.etcd } } : {}),
    };
  }
}

/**
 * The usual cause of a taken status port is a second vane on the same machine (each
 * defaults to 127.0.0.1:9901): say so, and how to run both.
 */
function statusListenError(err: unknown): Error {
  const message = errorText(err);
  if (!message.endsWith(ADDRESS_IN_USE)) return toError(err);
  return new Error(
    `status endpoint: ${message} (is another vane running? give this one --status off, or another address such as --status 127.0.0.1:9902; in YAML, control.listen)`,
    { cause: err },
  );
}

/** A target's outlier fields for /status: its ejection now (after `alive` brought back one whose time is up). */
function outlierStatus(e: TargetHealth, now: number): Pick<TargetStatus, "ejected" | "ejections"> {
  const t = e.outlier;
  if (t === null) return {};
  const ejections = { ...t.ejections };
  if (e.ejectedUntil === 0) return { ejections };
  const until = new Date(Date.now() + (e.ejectedUntil - now)).toISOString();
  return { ejected: { reason: t.reason ?? "", until, count: ejections["5xx"] + ejections.resets }, ejections };
}

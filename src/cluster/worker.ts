/**
 * A worker process of `--workers N`: it serves the listeners it is handed on its own
 * SO_REUSEPORT sockets and follows the primary in everything else. The primary's
 * messages arrive on stdin, answers go to stdout, logs to stderr as everywhere.
 */
import process from "node:process";
import type { Runtime } from "../runtime/types.ts";
import type { SharedHealth, TargetHealth } from "../health/registry.ts";
import { loadConfigText } from "../config/yaml-load.ts";
import { createLogger } from "../telemetry/logger.ts";
import { underJournal } from "../telemetry/journal.ts";
import { createVane, type Vane } from "../server/vane.ts";
import { type Channel, openChannel } from "./channel.ts";
import type { FromWorker, ToWorker } from "./messages.ts";
import type { AcmeService } from "../server/acme.ts";
import { errorText } from "../errors/mod.ts";
import { SYSTEM_CLOCK } from "../runtime/clock.ts";
import { RateLeases } from "./rate-leases.ts";

export function runWorker(rt: Runtime): void {
  const worker = new WorkerProcess(rt);
  // The terminal's Ctrl-C reaches the whole process group: stop as the primary does.
  // A hangup is the primary's to act on (it reloads and hands the config over).
  rt.onSignal("SIGINT", worker.stopGracefully);
  rt.onSignal("SIGTERM", worker.stopGracefully);
  rt.onSignal("SIGHUP", () => {});
  // `systemctl kill -s USR2` reaches every process of the unit: only the primary upgrades.
  rt.onSignal("SIGUSR2", () => {});
  // The primary passes SIGUSR1 on as a message (logrotate signals the pid file's
  // process alone); one sent to the whole unit (`systemctl kill -s USR1`) reopens too.
  rt.onSignal("SIGUSR1", worker.reopenLogs);
}

/** This worker: its vane once started, and what the primary told it. */
class WorkerProcess {
  readonly #rt: Runtime;
  #vane: Vane | null = null;
  #stopping = false;
  /** The primary's latest verdict per entry, for entries a reload creates. */
  readonly #verdicts = new Map<string, SharedHealth>();
  readonly #channel: Channel<FromWorker>;
  /** This process's ACME certificates and challenge answers, filled from the primary's. */
  #acme: AcmeService | null = null;
  /** Stops relaying access-log lines to the primary; null while not relaying. */
  #relay: (() => void) | null = null;
  /** The rate limits' tokens leased from the primary (made at start, when the worker count is known). */
  #rates: RateLeases | null = null;

  constructor(rt: Runtime) {
    this.#rt = rt;
    this.#channel = openChannel<ToWorker, FromWorker>(
      process.stdin,
      process.stdout,
      (m) => void this.#handle(m),
      // The primary is gone: finish what is open (counting rate limits alone), then go too.
      () => {
        this.#rates?.lose();
        this.stopGracefully();
      },
    );
  }

  /** Opens the access log again (SIGUSR1). */
  readonly reopenLogs = (): void => void this.#vane?.reopenLogs();

  /** Stops with the grace the config gives (none before there is one). */
  readonly stopGracefully = (): void => void this.#stop(this.#vane?.config.timeouts.graceMs ?? 0);

  async #stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.#vane?.stop(graceMs);
    this.#rt.exit(0);
  }

  #learn(states: SharedHealth[]): void {
    for (const s of states) {
      this.#verdicts.set(s.id, s);
      const e = this.#vane?.registry.byId(s.id);
      if (e) this.#vane!.registry.adopt(e, s);
    }
  }

  async #handle(m: ToWorker): Promise<void> {
    switch (m.type) {
      case "start":
        return await this.#start(m);
      case "reload":
        return await this.#reload(m);
      case "health":
        this.#learn(m.states);
        return;
      case "snapshot":
        if (this.#vane) this.#channel.send({ type: "snapshot", id: m.id, snapshot: this.#vane.snapshot() });
        return;
      case "unlisten":
        this.#vane?.stopAccepting();
        this.#channel.send({ type: "unlistened", id: m.id });
        return;
      case "stop":
        return void this.#stop(m.graceMs);
      case "reopen-logs":
        return this.reopenLogs();
      case "runtime":
        this.#vane?.setOverrides(m.overrides);
        if (m.id !== undefined) this.#channel.send({ type: "runtime-applied", id: m.id });
        return;
      case "events":
        return this.#relayAccessLog(m.on);
      case "rate-grant":
        this.#rates?.grant(m.grants);
        return;
      case "acme-cert":
        this.#acme?.installFromPrimary(m.name, { cert: m.cert, key: m.key });
        return;
      case "acme-challenge": {
        const a = m.answer;
        if (m.op === "add") this.#acme?.challenges.add(a.type, a.name, a.token, a.keyAuthorization);
        else this.#acme?.challenges.remove(a.type, a.name, a.token);
        return;
      }
    }
  }

  /** Relays this worker's access-log lines to the primary (for its /events) while `on`. */
  #relayAccessLog(on: boolean): void {
    if (!on || !this.#vane) {
      this.#relay?.();
      this.#relay = null;
      return;
    }
    this.#relay ??= this.#vane.events.subscribe((e) => {
      if (e.type === "access") this.#channel.send({ type: "access", line: e.line as string });
    });
  }

  /** Builds and starts the vane the primary's config describes, then says it is ready (or exits 1). */
  async #start(m: Extract<ToWorker, { type: "start" }>): Promise<void> {
    const loaded = loadConfigText(m.config);
    if (!loaded.ok) {
      this.#channel.send({ type: "failed", error: loaded.issues.map((i) => i.message).join("; ") });
      return this.#rt.exit(1);
    }
    const config = loaded.config;
    const log = createLogger(config.log.format, {
      level: config.log.level,
      base: { worker: m.index },
      journal: underJournal(),
    });
    this.#learn(m.health);
    const rates = this.#rates = new RateLeases({
      clock: SYSTEM_CLOCK,
      send: (ask) => this.#channel.send({ type: "rate", ask }),
      workers: m.workers,
      log,
    });
    rates.adopt(config, m.generation);
    const vane = this.#vane = createVane(config, this.#rt, log, {
      cluster: {
        index: m.index,
        rates,
        follow: (entries: TargetHealth[]) => {
          for (const e of entries) {
            const s = this.#verdicts.get(e.id);
            if (s) this.#vane!.registry.adopt(e, s);
          }
        },
        acme: (acme) => (this.#acme = acme),
      },
    });
    vane.registry.hooks.passive = (e, error, kind) => this.#channel.send({ type: "passive", id: e.id, error, kind });
    try {
      await vane.start();
    } catch (err) {
      this.#channel.send({ type: "failed", error: errorText(err) });
      return this.#rt.exit(1);
    }
    this.#channel.send({ type: "ready" });
  }

  async #reload(m: Extract<ToWorker, { type: "reload" }>): Promise<void> {
    this.#learn(m.health);
    const loaded = loadConfigText(m.config);
    if (!loaded.ok || !this.#vane) {
      const errors = loaded.ok ? ["not started"] : loaded.issues.map((i) => i.message);
      this.#channel.send({ type: "reloaded", id: m.id, ok: false, errors });
      return;
    }
    this.#rates?.adopt(loaded.config, m.generation);
    const outcome = await this.#vane.reload(loaded.config);
    this.#channel.send({ type: "reloaded", id: m.id, ok: outcome.ok, errors: outcome.ok ? [] : outcome.errors });
  }
}

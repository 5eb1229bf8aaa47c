/**
 * The primary's side of `--workers N`: it starts N-1 more vane processes (this same
 * program, told by an environment variable that it is a worker), hands each the config
 * with the primary's health verdicts, keeps them informed of every verdict after, and
 * asks them for their counters when the status endpoint is read. A worker that dies
 * is started again; a worker whose primary is gone (stdin closed) stops by itself.
 *
 * Every process binds the listeners with SO_REUSEPORT, so the kernel spreads new
 * connections among them; nothing is handed between processes.
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import type { Config } from "../config/model.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { StatusSnapshot } from "../control/snapshot.ts";
import type { HealthRegistry, SharedHealth, TargetHealth } from "../health/registry.ts";
import type { BoundListener } from "../server/vane.ts";
import type { AcmeService } from "../server/acme.ts";
import { openChannel } from "./channel.ts";
import { type FromWorker, type ToWorker, WORKER_ENV } from "./messages.ts";
import { mergeSnapshots } from "./merge.ts";
import { workerConfigText } from "./worker-config.ts";
import { ask, newWorker, nextRestartMs, type Worker } from "./worker-slot.ts";
import { errorText } from "../errors/mod.ts";
import type { TargetOverrides } from "../control/runtime-state.ts";
import type { EventHub } from "../control/events.ts";
import type { RateAuthority } from "./rate-authority.ts";

/** How long the status endpoint waits for a worker's counters before showing it as silent. */
const SNAPSHOT_TIMEOUT_MS = 1000;
/** How long a reload waits for each worker to take the new config. */
const RELOAD_TIMEOUT_MS = 30_000;
/** How long an admin's drain, weight or mark waits for each worker to put it in force. */
const OVERRIDES_TIMEOUT_MS = 2000;
/** How long a handover waits for each worker to close its listening sockets. */
const UNLISTEN_TIMEOUT_MS = 2000;

export interface PrimaryDeps {
  rt: Runtime;
  log: Logger;
  registry: HealthRegistry;
  /** The config in service and the sockets bound for it, read at each (re)start of a worker. */
  current(): {
    config: Config;
    listeners: BoundListener[];
    overrides: TargetOverrides;
    events: EventHub;
    generation: number;
  };
  /** The primary's rate-limit buckets, which workers lease tokens from. */
  rates?: RateAuthority;
  /** The primary's ACME certificates and challenge answers, passed on to every worker. */
  acme?: AcmeService;
}

export interface Workers {
  /** The status endpoint's view: `own` with every worker's counters added. */
  aggregate(own: StatusSnapshot): Promise<StatusSnapshot>;
  /** Hands the config now in service to every worker; resolves when each took it (or failed). */
  reload(): Promise<void>;
  /** Resolves when every worker started so far said it is serving. */
  ready(): Promise<void>;
  /** Has every worker close its listening sockets (a handover's first step); resolves when they did. */
  unlisten(): Promise<void>;
  /** Has every worker open its access log file again (the primary got SIGUSR1). */
  reopenLogs(): void;
  /** Stops every worker, letting open connections finish within the grace. */
  stop(graceMs: number): Promise<void>;
  /** Puts the admin's drains, weights and manual marks in force in every worker; resolves when each has them. */
  overrides(overrides: TargetOverrides): Promise<void>;
}

/** Starts workers 1..count-1 (this process is worker 0) and keeps them running. */
export function startWorkers(count: number, deps: PrimaryDeps): Workers {
  return new WorkerSupervisor(count, deps);
}

/** The primary's workers: their slots, the requests to them, the verdicts relayed to them. */
class WorkerSupervisor implements Workers {
  readonly #deps: PrimaryDeps;
  readonly #workers: Worker[] = [];
  /** How many processes serve, this one included. */
  readonly #count: number;
  #stopping = false;
  #nextId = 1;
  /** Verdicts changed since the last flush. */
  readonly #changed = new Set<TargetHealth>();
  #flushing = false;

  /** Starts workers 1..count-1 (the primary is worker 0). */
  constructor(count: number, deps: PrimaryDeps) {
    this.#deps = deps;
    this.#count = count;
    deps.registry.hooks.changed = (e) => this.#healthChanged(e);
    deps.acme?.onCertificate((name, cert) => this.#toServing({ type: "acme-cert", name, ...cert }));
    deps.acme?.onChallenge((op, answer) => this.#toServing({ type: "acme-challenge", op, answer }));
    deps.current().events.watchSubscribers((n) => this.#toServing({ type: "events", on: n > 0 }));
    for (let index = 1; index < count; index++) {
      const w = newWorker(index);
      this.#workers.push(w);
      this.#launch(w);
    }
  }

  async aggregate(own: StatusSnapshot): Promise<StatusSnapshot> {
    const answers = await Promise.all(
      this.#workers.map((w) => this.#ask(w, (id) => ({ type: "snapshot", id }), SNAPSHOT_TIMEOUT_MS)),
    );
    const snaps = answers.flatMap((m) => (m?.type === "snapshot" ? [m.snapshot] : []));
    const merged = mergeSnapshots(own, snaps);
    // A worker that did not answer still shows, so a missing one is visible.
    for (const w of this.#workers) {
      if (!merged.workers.some((x) => x.worker === w.index)) {
        merged.workers.push({ worker: w.index, pid: w.child?.pid ?? 0, connections: 0, open: 0, silent: true });
      }
    }
    merged.workers.sort((a, b) => a.worker - b.worker);
    return merged;
  }

  async reload(): Promise<void> {
    // A worker still starting gets the new config when it says it is ready.
    // The config is printed once for all of them.
    const config = this.#configText();
    const health = this.#shared();
    const generation = this.#deps.current().generation;
    await Promise.all(
      this.#workers.filter((w) => w.serving).map((w) => this.#catchUp(w, { config, generation }, health)),
    );
  }

  async ready(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.ready));
  }

  async unlisten(): Promise<void> {
    await Promise.all(this.#workers.map((w) => this.#ask(w, (id) => ({ type: "unlisten", id }), UNLISTEN_TIMEOUT_MS)));
  }

  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    for (const w of this.#workers) w.channel?.send({ type: "stop", graceMs });
    const deadline = new Promise<void>((r) => setTimeout(r, graceMs + 2000));
    await Promise.race([Promise.all(this.#workers.map((w) => w.exited)), deadline]);
    for (const w of this.#workers) w.child?.kill("SIGKILL");
  }

  reopenLogs(): void {
    // A message, not a signal: Deno's child.kill("SIGUSR1") opens the child's inspector.
    this.#toServing({ type: "reopen-logs" });
  }

  async overrides(overrides: TargetOverrides): Promise<void> {
    const ask = (w: Worker) => this.#ask(w, (id) => ({ type: "runtime", id, overrides }), OVERRIDES_TIMEOUT_MS);
    const answers = await Promise.all(this.#workers.filter((w) => w.serving).map(ask));
    if (answers.some((m) => m === null)) this.#deps.log.warn("a worker did not confirm the admin's change");
  }

  #toServing(m: ToWorker): void {
    for (const w of this.#workers) if (w.serving) w.channel?.send(m);
  }

  /** A worker that just started: the certificates and open challenges it has not heard of. */
  #acmeCatchUp(w: Worker): void {
    const acme = this.#deps.acme;
    if (!acme) return;
    for (const name of acme.store.names()) {
      const c = acme.store.current(name);
      if (c) w.channel?.send({ type: "acme-cert", name, ...c.cert });
    }
    for (const answer of acme.challenges.open()) w.channel?.send({ type: "acme-challenge", op: "add", answer });
  }

  #shared(): SharedHealth[] {
    const { registry } = this.#deps;
    return registry.all().map((e) => registry.share(e));
  }

  #configText(): string {
    const { config, listeners } = this.#deps.current();
    return workerConfigText(config, listeners, { udp: this.#deps.rt.udpReusePort });
  }

  /** Verdicts are batched per turn of the event loop: a round of checks is one message. */
  #healthChanged(e: TargetHealth): void {
    this.#changed.add(e);
    if (this.#flushing) return;
    this.#flushing = true;
    setTimeout(() => {
      this.#flushing = false;
      const states = [...this.#changed].map((x) => this.#deps.registry.share(x));
      this.#changed.clear();
      for (const w of this.#workers) if (w.serving) w.channel?.send({ type: "health", states });
    }, 0);
  }

  #onMessage(w: Worker, m: FromWorker): void {
    const { log, registry } = this.#deps;
    switch (m.type) {
      case "ready": {
        w.serving = true;
        this.#acmeCatchUp(w);
        w.markReady();
        log.debug("worker serving", { worker: w.index, pid: w.child?.pid ?? 0 });
        // A reload while it started passed it by: hand it the config in service now.
        const config = this.#configText();
        const generation = this.#deps.current().generation;
        if (w.started !== config) void this.#catchUp(w, { config, generation }, this.#shared());
        return;
      }
      case "failed":
        log.error("worker could not start", { worker: w.index, error: m.error });
        w.markReady();
        return;
      case "passive": {
        // The primary keeps the count and decides; everyone hears the verdict.
        const e = registry.byId(m.id);
        if (!e) return;
        if (m.error === null) registry.passiveSuccess(e, m.kind === "answer");
        else registry.passiveFailure(e, m.error, m.kind === "answer" ? "connect" : m.kind);
        return;
      }
      case "access":
        this.#deps.current().events.accessLog(m.line);
        return;
      case "rate":
        // Answered at once, in one message: the worker's requests wait for it.
        if (this.#deps.rates) w.channel?.send({ type: "rate-grant", grants: this.#deps.rates.answer(m.ask) });
        return;
      case "snapshot":
      case "runtime-applied":
      case "unlistened":
      case "reloaded": {
        const done = w.waiting.get(m.id);
        w.waiting.delete(m.id);
        done?.(m);
        return;
      }
    }
  }

  /** Starts the slot's process and hands it the config in service. */
  #launch(w: Worker): void {
    const { rt, log } = this.#deps;
    const [command, ...args] = rt.selfCommand();
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        stdio: ["pipe", "pipe", "inherit"],
        env: { ...process.env, [WORKER_ENV]: String(w.index) },
      });
    } catch (err) {
      log.error("cannot start a worker", { worker: w.index, error: errorText(err) });
      return this.#scheduleRestart(w);
    }
    w.child = child;
    w.serving = false;
    w.startedAt = performance.now();
    let exited!: () => void;
    w.exited = new Promise((r) => (exited = r));
    w.channel = openChannel<FromWorker, ToWorker>(
      child.stdout!,
      child.stdin!,
      (m) => this.#onMessage(w, m),
      () => {},
      (line) => log.warn("worker said", { worker: w.index, line: line.slice(0, 200) }),
    );
    child.on("error", (err) => log.error("worker failed", { worker: w.index, error: err.message }));
    child.on("exit", (code, signal) => this.#onExit(w, exited, code, signal));
    w.started = this.#configText();
    const { overrides, events, generation } = this.#deps.current();
    const health = this.#shared();
    w.channel.send({ type: "start", index: w.index, config: w.started, health, generation, workers: this.#count });
    w.channel.send({ type: "runtime", overrides });
    w.channel.send({ type: "events", on: events.subscribers > 0 });
  }

  /** The slot's process is gone: nothing it was asked is answered; unless stopping, start it again. */
  #onExit(w: Worker, exited: () => void, code: number | null, signal: NodeJS.Signals | null): void {
    w.serving = false;
    w.channel = null;
    w.child = null;
    for (const done of w.waiting.values()) done(null);
    w.waiting.clear();
    w.markReady();
    exited();
    if (this.#stopping) return;
    this.#deps.log.error("worker exited; starting it again", {
      worker: w.index,
      code: code ?? "none",
      signal: signal ?? "none",
    });
    this.#scheduleRestart(w);
  }

  /** Gives one worker the config in service (a reload), and says when it refuses it. */
  async #catchUp(w: Worker, next: { config: string; generation: number }, health: SharedHealth[]): Promise<void> {
    const { config, generation } = next;
    const m = await this.#ask(w, (id) => ({ type: "reload", id, config, health, generation }), RELOAD_TIMEOUT_MS);
    if (m?.type === "reloaded") {
      if (m.ok) w.started = config;
      else this.#deps.log.error("worker kept its config", { worker: w.index, error: m.errors.join("; ") });
    } else if (m === null && w.serving) {
      this.#deps.log.warn("worker did not confirm the reload", { worker: w.index });
    }
  }

  #scheduleRestart(w: Worker): void {
    w.restartMs = nextRestartMs(w);
    w.ready = new Promise((r) => (w.markReady = r));
    setTimeout(() => {
      if (!this.#stopping) this.#launch(w);
    }, w.restartMs);
  }

  /** Sends a request and waits for its answer, or null after `timeoutMs` or the worker's exit. */
  #ask(w: Worker, make: (id: number) => ToWorker, timeoutMs: number): Promise<FromWorker | null> {
    if (!w.serving || !w.channel) return Promise.resolve(null);
    const id = this.#nextId++;
    return ask(w, id, make(id), timeoutMs);
  }
}

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
import { type Channel, openChannel } from "./channel.ts";
import { type FromWorker, type ToWorker, WORKER_ENV } from "./messages.ts";
import { mergeSnapshots } from "./merge.ts";
import { workerConfigText } from "./worker-config.ts";
import { errorText } from "../errors/mod.ts";

/** How long the status endpoint waits for a worker's counters before showing it as silent. */
const SNAPSHOT_TIMEOUT_MS = 1000;
/** How long a reload waits for each worker to take the new config. */
const RELOAD_TIMEOUT_MS = 30_000;
/** Restarts of a crashing worker back off from this, doubling up to the maximum. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long is healthy again: its next crash restarts it quickly. */
const STABLE_AFTER_MS = 60_000;

export interface PrimaryDeps {
  rt: Runtime;
  log: Logger;
  registry: HealthRegistry;
  /** The config in service and the sockets bound for it, read at each (re)start of a worker. */
  current(): { config: Config; listeners: BoundListener[] };
}

export interface Workers {
  /** The status endpoint's view: `own` with every worker's counters added. */
  aggregate(own: StatusSnapshot): Promise<StatusSnapshot>;
  /** Hands the config now in service to every worker; resolves when each took it (or failed). */
  reload(): Promise<void>;
  /** Resolves when every worker started so far said it is serving. */
  ready(): Promise<void>;
  /** Stops every worker, letting open connections finish within the grace. */
  stop(graceMs: number): Promise<void>;
}

interface Worker {
  index: number;
  child: ChildProcess | null;
  channel: Channel<ToWorker> | null;
  serving: boolean;
  /** The config text it was last given (at start or by a reload). */
  started: string;
  startedAt: number;
  restartMs: number;
  /** Requests waiting for an answer: snapshots and reloads, by id. */
  waiting: Map<number, (m: FromWorker | null) => void>;
  ready: Promise<void>;
  markReady: () => void;
  exited: Promise<void>;
}

export function startWorkers(count: number, deps: PrimaryDeps): Workers {
  const { rt, log, registry } = deps;
  const workers: Worker[] = [];
  let stopping = false;
  let nextId = 1;

  const shared = () => registry.all().map((e) => registry.share(e));
  const configText = () => {
    const { config, listeners } = deps.current();
    return workerConfigText(config, listeners, { udp: rt.udpReusePort });
  };

  // Verdicts are batched per turn of the event loop: a round of checks is one message.
  const changed = new Set<TargetHealth>();
  let flushing = false;
  registry.hooks.changed = (e) => {
    changed.add(e);
    if (flushing) return;
    flushing = true;
    setTimeout(() => {
      flushing = false;
      const states = [...changed].map((x) => registry.share(x));
      changed.clear();
      for (const w of workers) if (w.serving) w.channel?.send({ type: "health", states });
    }, 0);
  };

  function onMessage(w: Worker, m: FromWorker): void {
    switch (m.type) {
      case "ready": {
        w.serving = true;
        w.markReady();
        log.debug("worker serving", { worker: w.index, pid: w.child?.pid ?? 0 });
        // A reload while it started passed it by: hand it the config in service now.
        const config = configText();
        if (w.started !== config) void catchUp(w, config, shared());
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
      case "snapshot":
      case "reloaded": {
        const done = w.waiting.get(m.id);
        w.waiting.delete(m.id);
        done?.(m);
        return;
      }
    }
  }

  function launch(w: Worker): void {
    const [command, ...args] = rt.selfCommand();
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        stdio: ["pipe", "pipe", "inherit"],
        env: { ...process.env, [WORKER_ENV]: String(w.index) },
      });
    } catch (err) {
      log.error("cannot start a worker", { worker: w.index, error: errorText(err) });
      return scheduleRestart(w);
    }
    w.child = child;
    w.serving = false;
    w.startedAt = performance.now();
    let exited!: () => void;
    w.exited = new Promise((r) => (exited = r));
    w.channel = openChannel<FromWorker, ToWorker>(
      child.stdout!,
      child.stdin!,
      (m) => onMessage(w, m),
      () => {},
      (line) => log.warn("worker said", { worker: w.index, line: line.slice(0, 200) }),
    );
    child.on("error", (err) => log.error("worker failed", { worker: w.index, error: err.message }));
    child.on("exit", (code, signal) => {
      w.serving = false;
      w.channel = null;
      w.child = null;
      for (const done of w.waiting.values()) done(null);
      w.waiting.clear();
      w.markReady();
      exited();
      if (stopping) return;
      log.error("worker exited; starting it again", {
        worker: w.index,
        code: code ?? "none",
        signal: signal ?? "none",
      });
      scheduleRestart(w);
    });
    w.started = configText();
    w.channel.send({ type: "start", index: w.index, config: w.started, health: shared() });
  }

  /** Gives one worker the config in service (a reload), and says when it refuses it. */
  async function catchUp(w: Worker, config: string, health: SharedHealth[]): Promise<void> {
    const m = await ask(w, (id) => ({ type: "reload", id, config, health }), RELOAD_TIMEOUT_MS);
    if (m?.type === "reloaded") {
      if (m.ok) w.started = config;
      else log.error("worker kept its config", { worker: w.index, error: m.errors.join("; ") });
    } else if (m === null && w.serving) {
      log.warn("worker did not confirm the reload", { worker: w.index });
    }
  }

  function scheduleRestart(w: Worker): void {
    const ranLong = performance.now() - w.startedAt >= STABLE_AFTER_MS;
    w.restartMs = ranLong ? RESTART_MIN_MS : Math.min(Math.max(w.restartMs * 2, RESTART_MIN_MS), RESTART_MAX_MS);
    w.ready = new Promise((r) => (w.markReady = r));
    setTimeout(() => {
      if (!stopping) launch(w);
    }, w.restartMs);
  }

  /** Sends a request and waits for its answer, or null after `timeoutMs` or the worker's exit. */
  function ask(w: Worker, make: (id: number) => ToWorker, timeoutMs: number): Promise<FromWorker | null> {
    if (!w.serving || !w.channel) return Promise.resolve(null);
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        w.waiting.delete(id);
        resolve(null);
      }, timeoutMs);
      w.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      w.channel!.send(make(id));
    });
  }

  for (let index = 1; index < count; index++) {
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    const w: Worker = {
      index,
      child: null,
      channel: null,
      serving: false,
      started: "",
      startedAt: 0,
      restartMs: 0,
      waiting: new Map(),
      ready,
      markReady,
      exited: Promise.resolve(),
    };
    workers.push(w);
    launch(w);
  }

  return {
    async aggregate(own) {
      const answers = await Promise.all(
        workers.map((w) => ask(w, (id) => ({ type: "snapshot", id }), SNAPSHOT_TIMEOUT_MS)),
      );
      const snaps = answers.flatMap((m) => (m?.type === "snapshot" ? [m.snapshot] : []));
      const merged = mergeSnapshots(own, snaps);
      // A worker that did not answer still shows, so a missing one is visible.
      for (const w of workers) {
        if (!merged.workers.some((x) => x.worker === w.index)) {
          merged.workers.push({ worker: w.index, pid: w.child?.pid ?? 0, connections: 0, open: 0, silent: true });
        }
      }
      merged.workers.sort((a, b) => a.worker - b.worker);
      return merged;
    },

    async reload() {
      // A worker still starting gets the new config when it says it is ready.
      // The config is printed once for all of them.
      const config = configText();
      const health = shared();
      await Promise.all(workers.filter((w) => w.serving).map((w) => catchUp(w, config, health)));
    },

    async ready() {
      await Promise.all(workers.map((w) => w.ready));
    },

    async stop(graceMs) {
      stopping = true;
      for (const w of workers) w.channel?.send({ type: "stop", graceMs });
      const deadline = new Promise<void>((r) => setTimeout(r, graceMs + 2000));
      await Promise.race([Promise.all(workers.map((w) => w.exited)), deadline]);
      for (const w of workers) w.child?.kill("SIGKILL");
    },
  };
}

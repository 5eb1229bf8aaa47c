/**
 * `vane upgrade`, the old process's side: it starts the executable at its path again
 * (a new binary put there by the installer, or the same one) with the same arguments
 * and environment, plus `VANE_UPGRADE_FROM` naming itself. The new process binds the
 * same ports beside the old one (SO_REUSEPORT), comes up completely (config, health,
 * workers), then tells the old one to stop with SIGTERM: the old one closes its
 * sockets at once and lets open connections finish within the grace. If the new
 * process exits or hangs first, the old one serves on and says why.
 *
 * Nothing is handed over but the ports: the kernel queues new connections on every
 * socket bound to a port, so from the moment the new process listens, both accept.
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import type { Config } from "../config/model.ts";
import type { UpgradeOutcome } from "../control/app.ts";
import type { Runtime } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { errorText } from "../errors/mod.ts";
import { migratesQueuedConnections } from "../runtime/proc-net.ts";

/** The environment variable that makes a started vane the new process of an upgrade: the old one's pid. */
export const UPGRADE_ENV = "VANE_UPGRADE_FROM";

/** How long the new process may take to serve before the upgrade is called off. */
const UPGRADE_TIMEOUT_MS = 60_000;

export interface UpgradeDeps {
  rt: Runtime;
  log: Logger;
  /** Whether this vane is stopping (no upgrade then). */
  stopping(): boolean;
}

/** A new process under way: waiting to hear that it serves. */
interface Pending {
  child: ChildProcess;
  outcome: Promise<UpgradeOutcome>;
  settle(outcome: UpgradeOutcome): void;
}

/** The old process's upgrades: one at a time; the one that succeeds is the last. */
export class Upgrader {
  readonly #deps: UpgradeDeps;
  #pending: Pending | null = null;
  /** The pid of the process that took over, once one did. */
  #successor: number | null = null;

  constructor(deps: UpgradeDeps) {
    this.#deps = deps;
  }

  /** The pid of the process that took over, or null. */
  get successor(): number | null {
    return this.#successor;
  }

  /**
   * Starts the new process, or joins the upgrade under way; resolves when it serves or
   * failed. `config` is the one in service: what the new process must share.
   */
  begin(config: Config): Promise<UpgradeOutcome> {
    if (this.#pending) return this.#pending.outcome;
    const refusal = this.#refusal(config);
    if (refusal) return Promise.resolve({ ok: false, reason: "refused", errors: [refusal] });
    return this.#spawn();
  }

  /**
   * SIGTERM arrived: when a new process is under way, it is the one saying it serves
   * (or the operator stopping both, which ends the same way here). True if so.
   */
  takeOver(): boolean {
    const p = this.#pending;
    if (!p || p.child.pid === undefined) return false;
    this.#successor = p.child.pid;
    p.settle({ ok: true, pid: p.child.pid, from: this.#deps.rt.pid });
    return true;
  }

  #refusal(config: Config): string | null {
    const { rt, stopping } = this.#deps;
    if (stopping() || this.#successor !== null) return "vane is stopping";
    if (!rt.tcpReusePort) {
      return "vane upgrade needs ports that two processes can share (SO_REUSEPORT on Linux); restart vane instead";
    }
    if (!rt.udpReusePort && config.listeners.some((l) => l.address.protocol === "udp")) {
      return `${rt.name} cannot share a UDP port between processes; restart vane instead (or run the compiled vane)`;
    }
    return null;
  }

  #spawn(): Promise<UpgradeOutcome> {
    const { rt, log } = this.#deps;
    const [command, ...args] = rt.selfCommand();
    let settle!: (o: UpgradeOutcome) => void;
    const outcome = new Promise<UpgradeOutcome>((r) => (settle = r));
    let child: ChildProcess;
    try {
      // Its output goes where this one's goes (the terminal, the journal).
      child = spawn(command, [...args, ...rt.args], {
        stdio: ["ignore", "inherit", "inherit"],
        env: { ...process.env, [UPGRADE_ENV]: String(rt.pid) },
      });
    } catch (err) {
      return Promise.resolve({ ok: false, reason: "failed", errors: [`cannot start ${command}: ${errorText(err)}`] });
    }
    const timer = setTimeout(() => {
      child.kill("SIGTERM");
      done({
        ok: false,
        reason: "failed",
        errors: [`the new vane did not serve within ${UPGRADE_TIMEOUT_MS / 1000} s`],
      });
    }, UPGRADE_TIMEOUT_MS);
    const done = (o: UpgradeOutcome) => {
      if (this.#pending?.child !== child) return;
      clearTimeout(timer);
      this.#pending = null;
      if (o.ok) log.info("upgrade: the new vane serves; this one stops accepting and drains", { pid: o.pid });
      else log.error("upgrade failed; this vane serves on", { error: o.errors.join("; ") });
      settle(o);
    };
    child.on(
      "error",
      (err) => done({ ok: false, reason: "failed", errors: [`cannot start ${command}: ${err.message}`] }),
    );
    child.on("exit", (code, signal) => {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      done({ ok: false, reason: "failed", errors: [`the new vane exited (${how}) before it served`] });
    });
    this.#pending = { child, outcome, settle: done };
    // A command that cannot run has no pid (and, on Deno, nothing to unref); its error
    // event says why. One that runs may outlive this process.
    if (child.pid !== undefined) {
      child.unref();
      log.info("upgrade: starting a new vane", { pid: child.pid, command });
    }
    if (migratesQueuedConnections() === false) {
      // Connections the kernel queued on this process's sockets but this process did not
      // accept yet are reset when it closes them, unless the kernel moves them over.
      log.warn(
        "upgrade: net.ipv4.tcp_migrate_req is 0, so a connection that arrives just as this vane closes its sockets may be reset; set it to 1 (the systemd unit does)",
      );
    }
    return outcome;
  }
}

/**
 * In the new process of an upgrade: the old process's pid, taken out of the
 * environment so that this one's workers and its own later upgrades do not see it.
 */
export function takePredecessor(): number | null {
  const raw = process.env[UPGRADE_ENV];
  delete process.env[UPGRADE_ENV];
  if (raw === undefined) return null;
  const pid = Number(raw);
  return Number.isInteger(pid) && pid > 1 ? pid : null;
}

/** Tells the old process that this one serves: it stops accepting and drains. */
export function relieve(pid: number, log: Logger): void {
  try {
    process.kill(pid, "SIGTERM");
    log.info("upgrade: serving; the old vane drains", { old: pid });
  } catch (err) {
    // Already gone (stopped by hand, or crashed): nothing to relieve.
    log.warn("upgrade: the old vane could not be told to stop", { old: pid, error: errorText(err) });
  }
}

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
import { createVane, type Vane } from "../server/vane.ts";
import { openChannel } from "./channel.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

export function runWorker(rt: Runtime): void {
  let vane: Vane | null = null;
  let stopping = false;
  /** The primary's latest verdict per entry, for entries a reload creates. */
  const verdicts = new Map<string, SharedHealth>();

  const stop = async (graceMs: number) => {
    if (stopping) return;
    stopping = true;
    await vane?.stop(graceMs);
    rt.exit(0);
  };
  /** Stops with the grace the config gives (none before there is one). */
  const stopGracefully = () => void stop(vane?.config.timeouts.graceMs ?? 0);

  const learn = (states: SharedHealth[]) => {
    for (const s of states) {
      verdicts.set(s.id, s);
      const e = vane?.registry.byId(s.id);
      if (e) vane!.registry.adopt(e, s);
    }
  };

  const channel = openChannel<ToWorker, FromWorker>(
    process.stdin,
    process.stdout,
    (m) => void handle(m),
    // The primary is gone: finish what is open, then go too.
    stopGracefully,
  );

  async function handle(m: ToWorker): Promise<void> {
    switch (m.type) {
      case "start": {
        const loaded = loadConfigText(m.config);
        if (!loaded.ok) {
          channel.send({ type: "failed", error: loaded.issues.map((i) => i.message).join("; ") });
          return rt.exit(1);
        }
        const config = loaded.config;
        const log = createLogger(config.log.format, { level: config.log.level, base: { worker: m.index } });
        learn(m.health);
        vane = createVane(config, rt, log, {
          cluster: {
            index: m.index,
            follow: (entries: TargetHealth[]) => {
              for (const e of entries) {
                const s = verdicts.get(e.id);
                if (s) vane!.registry.adopt(e, s);
              }
            },
          },
        });
        vane.registry.hooks.passive = (e, error, kind) => channel.send({ type: "passive", id: e.id, error, kind });
        try {
          await vane.start();
        } catch (err) {
          channel.send({ type: "failed", error: err instanceof Error ? err.message : String(err) });
          return rt.exit(1);
        }
        channel.send({ type: "ready" });
        return;
      }
      case "reload": {
        learn(m.health);
        const loaded = loadConfigText(m.config);
        if (!loaded.ok || !vane) {
          const errors = loaded.ok ? ["not started"] : loaded.issues.map((i) => i.message);
          channel.send({ type: "reloaded", id: m.id, ok: false, errors });
          return;
        }
        const outcome = await vane.reload(loaded.config);
        channel.send({ type: "reloaded", id: m.id, ok: outcome.ok, errors: outcome.ok ? [] : outcome.errors });
        return;
      }
      case "health":
        learn(m.states);
        return;
      case "snapshot":
        if (vane) channel.send({ type: "snapshot", id: m.id, snapshot: vane.snapshot() });
        return;
      case "stop":
        return void stop(m.graceMs);
    }
  }

  // The terminal's Ctrl-C reaches the whole process group: stop as the primary does.
  // A hangup is the primary's to act on (it reloads and hands the config over).
  rt.onSignal("SIGINT", stopGracefully);
  rt.onSignal("SIGTERM", stopGracefully);
  rt.onSignal("SIGHUP", () => {});
}

/**
 * Starts vane in-process from CLI flags, on ephemeral loopback ports, and collects
 * its log lines so tests can assert what an operator would read.
 */
import type { StatusSnapshot } from "../../src/control/snapshot.ts";
import { parseCli } from "../../src/cli/args.ts";
import { runtime } from "../../src/runtime/mod.ts";
import { createLogger } from "../../src/telemetry/logger.ts";
import { createVane, type Vane, type VaneOptions } from "../../src/server/vane.ts";
import type { Config } from "../../src/config/model.ts";
import { formatIssue, loadConfigText } from "../../src/config/yaml-load.ts";

export interface TestVane {
  vane: Vane;
  /** Port of the first listener. */
  port: number;
  /** Base URL of the status endpoint. */
  statusUrl: string;
  logs: Array<Record<string, unknown>>;
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<TestVane>();

export async function startVane(flags: string[]): Promise<TestVane> {
  const parsed = parseCli(["--listen", "127.0.0.1:0", "--status", "127.0.0.1:0", ...flags]);
  if (parsed.kind !== "run") throw new Error("flags did not describe a run");
  return await startConfig(parsed.config!);
}

/** A YAML config text, which must be valid, as a Config. */
export function yamlConfig(text: string, functions?: VaneOptions["functions"]): Config {
  const names = new Set(functions instanceof Map ? functions.keys() : Object.keys(functions ?? {}));
  const loaded = loadConfigText(text, { functions: names });
  if (!loaded.ok) throw new Error(loaded.issues.map((i) => formatIssue("test.yaml", i)).join("\n"));
  return loaded.config;
}

/** Starts vane from YAML text (which should set `control: { listen: 127.0.0.1:0 }`). */
export async function startYaml(text: string, options: VaneOptions = {}): Promise<TestVane> {
  return await startConfig(yamlConfig(text, options.functions), options);
}

export async function startConfig(config: Config, options: VaneOptions = {}): Promise<TestVane> {
  const logs: Array<Record<string, unknown>> = [];
  const log = createLogger("json", { sink: (line) => logs.push(JSON.parse(line)), level: "debug" });
  const vane = createVane(config, runtime(), log, options);
  await vane.start();
  const status = vane.statusAddr;
  const t: TestVane = {
    vane,
    port: vane.listeners[0].addr.port,
    statusUrl: status ? `http://127.0.0.1:${status.port}` : "",
    logs,
    stop: async (graceMs = 0) => {
      running.delete(t);
      await vane.stop(graceMs);
    },
  };
  running.add(t);
  return t;
}

export async function stopAllVanes(): Promise<void> {
  await Promise.all([...running].map((t) => t.stop()));
}

/** GET /status as parsed JSON. */
export async function status(t: TestVane): Promise<StatusSnapshot> {
  const res = await fetch(`${t.statusUrl}/status`);
  return await res.json();
}

export async function metrics(t: TestVane): Promise<string> {
  return await (await fetch(`${t.statusUrl}/metrics`)).text();
}

/** Whether /status says the target is healthy. */
export async function healthyIn(t: TestVane, pool: string, target: string, role: "targets" | "fallback" = "targets") {
  const s = await status(t);
  return s.pools[pool][role].find((x) => x.target === target)?.healthy === true;
}

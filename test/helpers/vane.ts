/**
 * Starts vane in-process (from one-liner flags, YAML text or a Config) on ephemeral
 * loopback ports, collects its log lines so tests can assert what an operator would
 * read, and stops every vane it started with `stopAllVanes()`. For vane as its own
 * process (signals, exit codes, workers), see process.ts.
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

/** The control endpoint on an ephemeral port: the line every test YAML needs. */
export const CONTROL = "control: { listen: 127.0.0.1:0 }";

export interface StartVaneOptions {
  /**
   * The first listener, before `flags` (which may add more).
   * @default "127.0.0.1:0" (tcp://)
   */
  listen?: string;
}

/**
 * Starts vane from one-liner flags, after `--listen 127.0.0.1:0 --status 127.0.0.1:0`,
 * e.g. `startVane(["--route", `*=127.0.0.1:${port}`], { listen: "http://127.0.0.1:0" })`.
 */
export async function startVane(flags: string[], options: StartVaneOptions = {}): Promise<TestVane> {
  const listen = options.listen ?? "127.0.0.1:0";
  const parsed = parseCli(["--listen", listen, "--status", "127.0.0.1:0", ...flags]);
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

/**
 * vane on an http:// listener proxying every request to 127.0.0.1:`port`, with no
 * health check (the target is used as it is). `allow` is the YAML list of extra
 * request fields the proxy step lets through (`allow: [...]`), when given.
 */
export function proxyVane(port: number, options: { allow?: string } = {}): Promise<TestVane> {
  return startYaml(`${CONTROL}
listeners:
  - listen: http://127.0.0.1:0
    flow:
      - proxy: { targets: [127.0.0.1:${port}], health: { check: none } }
${options.allow ? `        allow: [${options.allow}]` : ""}
`);
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

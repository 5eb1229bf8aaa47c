/**
 * vane as a library: build a Config (from YAML with loadConfigText, from flags with
 * parseCli, or by hand) and run it inside your own Deno or Bun program. Flow steps
 * can be TypeScript functions: register them by name and call them from the config
 * with `plugin: { function: NAME }`.
 *
 *   import { loadConfigText, startVane } from "./mod.ts";
 *   const loaded = loadConfigText(yamlText, { functions: new Set(["auth"]) });
 *   if (loaded.ok) {
 *     await startVane(loaded.config, {
 *       functions: { auth: (keys) => ({ branch: keys["req.header.x-key"] === "k" ? "allow" : "deny" }) },
 *     });
 *   }
 */
import type { Config } from "./src/config/model.ts";
import { runtime } from "./src/runtime/mod.ts";
import { createLogger, type Logger } from "./src/telemetry/logger.ts";
import { createVane, type Vane, type VaneOptions } from "./src/server/vane.ts";

export type * from "./src/config/model.ts";
export type { StatusSnapshot } from "./src/control/snapshot.ts";
export type { ReloadOutcome } from "./src/control/app.ts";
export type { Logger } from "./src/telemetry/logger.ts";
export type { Vane, VaneOptions } from "./src/server/vane.ts";
export type { FlowFunction, PluginAnswer } from "./src/flow/flow.ts";
export type { ConfigIssue, LoadResult } from "./src/config/yaml-load.ts";
export { createVane } from "./src/server/vane.ts";
export { parseCli } from "./src/cli/args.ts";
export { formatIssue, loadConfigText } from "./src/config/yaml-load.ts";
export { printConfig } from "./src/config/print.ts";
export { createLogger, silentLogger } from "./src/telemetry/logger.ts";
export { VERSION } from "./src/version.ts";

/**
 * Creates and starts vane on the current runtime (Deno or Bun); resolves once it accepts.
 *
 * @param config A validated config (from `loadConfigText`, `parseCli` or built by hand).
 * @param options Plugin functions, the reload source, the admin token, and `log` (default: a
 * text logger at the config's level).
 * @returns The running vane.
 * @throws {Error} When a listener cannot bind; the listeners already bound are closed again.
 *
 * @example
 * ```ts
 * import { loadConfigText, startVane } from "./mod.ts";
 * const loaded = loadConfigText("listeners: [{ listen: http://127.0.0.1:8080, flow: [{ proxy: [127.0.0.1:9000] }] }]");
 * if (loaded.ok) {
 *   const vane = await startVane(loaded.config);
 *   // ... later
 *   await vane.stop();
 * }
 * ```
 */
export async function startVane(
  config: Config,
  options: VaneOptions & { log?: Logger } = {},
): Promise<Vane> {
  const log = options.log ?? createLogger(config.log.format, { level: config.log.level });
  const vane = createVane(config, runtime(), log, options);
  await vane.start();
  return vane;
}

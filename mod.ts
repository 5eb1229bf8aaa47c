/**
 * vane as a library: build a Config (by hand or with parseCli) and run it inside your
 * own Deno or Bun program.
 *
 *   import { parseCli, startVane } from "./mod.ts";
 *   const parsed = parseCli(["--listen", "127.0.0.1:8080", "--route", "*=127.0.0.1:9000"]);
 *   if (parsed.kind === "run") await startVane(parsed.config);
 */
import type { Config } from "./src/config/model.ts";
import { runtime } from "./src/runtime/mod.ts";
import { createLogger, type Logger } from "./src/telemetry/logger.ts";
import { createVane, type Vane } from "./src/vane.ts";

export type * from "./src/config/model.ts";
export type { StatusSnapshot } from "./src/control/snapshot.ts";
export type { Logger } from "./src/telemetry/logger.ts";
export type { Vane } from "./src/vane.ts";
export { createVane } from "./src/vane.ts";
export { parseCli } from "./src/cli/args.ts";
export { createLogger, silentLogger } from "./src/telemetry/logger.ts";
export { VERSION } from "./src/version.ts";

/** Creates and starts vane on the current runtime; resolves once it accepts. */
export async function startVane(config: Config, log: Logger = createLogger(config.log.format)): Promise<Vane> {
  const vane = createVane(config, runtime(), log);
  await vane.start();
  return vane;
}

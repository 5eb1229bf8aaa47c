/**
 * The executable: argv -> config -> start, and the signals that stop it. Every
 * failure a user can cause ends in one line on stderr and a non-zero exit code,
 * never a stack trace: 2 for bad flags, 1 for what failed at start.
 */
import { runtime } from "./runtime/mod.ts";
import { parseCli } from "./cli/args.ts";
import { CliError } from "./cli/errors.ts";
import { HELP } from "./cli/help.ts";
import { createLogger } from "./telemetry/logger.ts";
import { createVane } from "./vane.ts";
import { VERSION } from "./version.ts";

async function main(): Promise<void> {
  const rt = runtime();
  let parsed;
  try {
    parsed = parseCli(rt.args);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`vane: ${err.message}`);
      console.error("Try 'vane --help' for the flags.");
      rt.exit(2);
    }
    throw err;
  }
  if (parsed.kind === "help") {
    console.log(HELP);
    return;
  }
  if (parsed.kind === "version") {
    console.log(`vane ${VERSION} (${rt.name} ${rt.version})`);
    return;
  }

  const config = parsed.config;
  const log = createLogger(config.log.format);
  const vane = createVane(config, rt, log);
  // Handlers go in before start: a signal that arrives while vane binds must still
  // stop it gracefully rather than kill it.
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal, graceMs: config.timeouts.graceMs });
    await vane.stop(config.timeouts.graceMs);
    log.info("stopped");
    rt.exit(0);
  };
  rt.onSignal("SIGINT", () => void shutdown("SIGINT"));
  rt.onSignal("SIGTERM", () => void shutdown("SIGTERM"));
  try {
    await vane.start();
  } catch (err) {
    log.error("cannot start", { error: err instanceof Error ? err.message : String(err) });
    rt.exit(1);
  }

}

main().catch((err) => {
  // A bug, not a user error: still one line, with enough to report it.
  console.error(`vane: internal error: ${err instanceof Error ? err.message : String(err)}`);
  runtime().exit(1);
});

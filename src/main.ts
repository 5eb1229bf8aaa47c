/**
 * The executable: argv (and a config file) -> config -> start, and the signals that
 * stop or reload it. Every failure a user can cause ends in clear lines on stderr and
 * a non-zero exit code, never a stack trace: 2 for bad flags, 1 for a config file
 * with errors or for what failed at start.
 */
import { runtime } from "./runtime/mod.ts";
import type { Runtime } from "./runtime/types.ts";
import type { CliResult } from "./cli/args.ts";
import { parseCliWithEnv } from "./cli/env-flags.ts";
import { parseServiceArgs, runService } from "./cli/service.ts";
import { CliError } from "./cli/errors.ts";
import { HELP } from "./cli/help.ts";
import type { Config } from "./config/model.ts";
import { ADMIN_TOKEN_ENV } from "./control/token.ts";
import { type Loaded, loadFile, tokenFileError } from "./cli/load-config.ts";
import { bootstrapOf, firstFromEtcd, followEtcd, nextFromEtcd } from "./cli/etcd-config.ts";
import { watchConfig } from "./cli/file-config.ts";
import type { EtcdConfigSource } from "./config/etcd/source.ts";
import { withEtcdCluster } from "./config/etcd-targets.ts";
import { defaultStateDir } from "./tls/acme/storage.ts";
import { printConfig } from "./config/print.ts";
import { createLogger, type Logger } from "./telemetry/logger.ts";
import { underJournal } from "./telemetry/journal.ts";
import { createVane, type Vane } from "./server/vane.ts";
import { BUILD, versionLine } from "./version.ts";
import process from "node:process";
import { WORKER_ENV } from "./cluster/messages.ts";
import { runWorker } from "./cluster/worker.ts";
import { startWorkers, type Workers } from "./cluster/primary.ts";
import type { AcmeService } from "./server/acme.ts";
import { relieve, takePredecessor, Upgrader } from "./cluster/upgrade.ts";
import { removePidFile, writePidFile } from "./cluster/pid-file.ts";
import { runUpgradeCommand } from "./cli/upgrade-command.ts";
import { runCtlCommand } from "./cli/ctl-command.ts";
import { errorText } from "./errors/mod.ts";
import { tlsFileLines } from "./cli/check-report.ts";
import { RateAuthority } from "./cluster/rate-authority.ts";
import { SYSTEM_CLOCK } from "./runtime/clock.ts";

/** How long a reload waits for workers that are still starting. */
const WORKER_WAIT_MS = 5000;

function usageError(rt: Runtime, err: unknown): never {
  if (!(err instanceof CliError)) throw err;
  console.error(`vane: ${err.message}`);
  console.error("Try 'vane --help' for the flags.");
  return rt.exit(2);
}

/** `vane service install|print`: the systemd unit (src/cli/service.ts). */
function serviceCommand(rt: Runtime): void {
  try {
    for (const line of runService(parseServiceArgs(rt.args.slice(1), process.execPath))) console.log(line);
  } catch (err) {
    usageError(rt, err);
  }
}

function reportErrors(rt: Runtime, file: string, loaded: Extract<Loaded, { ok: false }>): never {
  // A flag that does not fit the file is a command-line mistake: said as such, exit 2.
  if (loaded.flagError) usageError(rt, loaded.flagError);
  const errors = loaded.errors;
  for (const e of errors) console.error(e);
  console.error(`${file}: ${errors.length} error${errors.length === 1 ? "" : "s"}; nothing was started`);
  return rt.exit(1);
}

type Run = Extract<CliResult, { kind: "run" }>;

async function main(): Promise<void> {
  const rt = runtime();
  // A worker of --workers N takes its config from the primary, not from argv.
  if (process.env[WORKER_ENV] !== undefined) return runWorker(rt);
  if (rt.args[0] === "service") return serviceCommand(rt);
  if (rt.args[0] === "upgrade") return rt.exit(await runUpgradeCommand(rt.args.slice(1), process.env));
  if (rt.args[0] === "ctl") return rt.exit(await runCtlCommand(rt.args.slice(1), process.env));
  let parsed: CliResult;
  try {
    parsed = parseCliWithEnv(rt.args, process.env);
  } catch (err) {
    usageError(rt, err);
  }
  if (parsed.kind === "help") {
    console.log(HELP);
    return;
  }
  if (parsed.kind === "version") {
    console.log(versionLine(BUILD, rt));
    return;
  }
  if (parsed.kind === "check") return await checkFile(rt, parsed);

  const run = parsed;
  const { config, text, etcd } = await firstConfig(rt, run);
  if (run.printConfig) {
    console.log(printConfig(config));
    return;
  }
  if (run.file === null && etcd === undefined) {
    const bad = await tokenFileError(rt, config, run.adminTokenFile, null);
    if (bad) reportErrors(rt, "", bad);
  }
  await serve(rt, run, config, text, etcd);
}

/**
 * `vane check FILE`: the file's errors (exit 1), then its TLS files' (check-tls.ts:
 * exit 1 on errors; warnings are said and pass), or one line saying what it holds.
 */
async function checkFile(rt: Runtime, check: Extract<CliResult, { kind: "check" }>): Promise<void> {
  const boot = await bootstrapOf(rt, check.file);
  if (boot !== null) {
    if (!boot.ok) reportErrors(rt, check.file, boot);
    console.log(
      `${check.file}: ok (the config is in etcd: ${boot.spec.prefix}/config at ${boot.spec.endpoints.join(", ")})`,
    );
    return;
  }
  const loaded = await loadFile(rt, check.file, check.apply, { flag: check.adminTokenFile });
  if (!loaded.ok) reportErrors(rt, check.file, loaded);
  const c = loaded.config;
  const tls = await tlsFileLines(check.file, loaded.text, c, (path) => rt.readTextFile(path), new Date());
  for (const w of tls.warnings) console.error(w);
  if (tls.errors.length > 0) reportErrors(rt, check.file, { ok: false, errors: tls.errors });
  console.log(
    `${check.file}: ok (${c.listeners.length} listener${c.listeners.length === 1 ? "" : "s"}, ${
      Object.keys(c.pools).length
    } pools)`,
  );
}

/** Where the config came from, when etcd: the source to watch, from the revision after the one read. */
interface EtcdStarted {
  source: EtcdConfigSource;
  revision: number;
  from: "etcd" | "cache";
  rejected: string[];
}

/** The config to start with: the flags', the file's or etcd's with the flags over it (exits on errors). */
async function firstConfig(
  rt: Runtime,
  run: Run,
): Promise<{ config: Config; text: string | null; etcd?: EtcdStarted }> {
  // `vane run FILE` where FILE says `source: etcd` is the same as --etcd.
  const boot = run.file === null ? null : await bootstrapOf(rt, run.file);
  if (boot !== null && !boot.ok) reportErrors(rt, run.file!, boot);
  const spec = run.etcd ?? boot?.spec ?? null;
  if (spec !== null) {
    const token = run.printConfig ? undefined : { flag: run.adminTokenFile };
    const stateDir = run.stateDir ?? boot?.stateDir ?? defaultStateDir(process.env);
    // The config's etcd: targets and fleet drains use the same cluster unless it names its own.
    const got = await firstFromEtcd(rt, spec, stateDir, (base) => withEtcdCluster(run.apply(base), spec), token);
    if (!got.ok) reportErrors(rt, `etcd:${spec.prefix}/config`, got);
    const { source, config, text, revision, from, rejected } = got;
    return { config, text, etcd: { source, revision, from, rejected } };
  }
  if (run.file === null) return { config: run.config!, text: null };
  const token = run.printConfig ? undefined : { flag: run.adminTokenFile };
  const loaded = await loadFile(rt, run.file, (base) => run.apply(base), token);
  if (!loaded.ok) reportErrors(rt, run.file, loaded);
  return { config: loaded.config, text: loaded.text };
}

/** What the serving primary's parts share: signals, reloads, the file watcher, the workers. */
interface Serving {
  readonly rt: Runtime;
  readonly run: Run;
  readonly log: Logger;
  /** The config file's text in service, so that a save without a change is no reload. */
  lastText: string | null;
  workers: Workers | null;
  stopping: boolean;
  unwatch: () => void;
  /** `vane upgrade`: this process's successors. */
  readonly upgrader: Upgrader;
  /** The primary's ACME certificates, which its workers are given (set as the vane is made). */
  acme?: AcmeService;
  /** The config's source when it lives in etcd. */
  readonly etcd?: EtcdStarted;
  /** The primary's rate-limit buckets, which its workers lease tokens from (set with workers). */
  rates?: RateAuthority;
}

/** Starts vane on `config`, then its workers, and serves until a signal stops it. */
async function serve(
  rt: Runtime,
  run: Run,
  config: Config,
  text: string | null,
  etcd: EtcdStarted | undefined,
): Promise<void> {
  const log = createLogger(config.log.format, { level: config.log.level, journal: underJournal() });
  // Started by `vane upgrade`: the old process serves until this one tells it to stop.
  const predecessor = takePredecessor();
  let letGo!: () => void;
  const statusAfter = new Promise<void>((resolve) => (letGo = resolve));
  const upgrader = new Upgrader({ rt, log, stopping: () => s.stopping });
  const s: Serving = {
    rt,
    run,
    log,
    lastText: text,
    workers: null,
    stopping: false,
    unwatch: () => {},
    upgrader,
    etcd,
  };
  if (etcd) sayEtcdStart(etcd, log);
  // Where the runtime cannot share a UDP port (Deno), UDP listeners stay in the primary,
  // so only TCP ones make workers worth starting there.
  const shared = config.listeners.some((l) => l.address.protocol !== "udp" || rt.udpReusePort);
  const workerCount = shared ? config.workers ?? rt.cpuCount() : 1;
  const vane = createPrimary(s, config, workerCount, predecessor === null ? undefined : { statusAfter });
  // Handlers go in before start: a signal that arrives while vane binds must still
  // stop it gracefully rather than kill it.
  handleSignals(s, vane);
  // The value loaded: kept before it serves, so a stop right after the first answer
  // still leaves the copy a start without etcd needs.
  if (etcd?.from === "etcd") {
    await etcd.source.keep(text!, etcd.revision).catch((err) =>
      log.warn("cannot keep a copy of the etcd config", { error: errorText(err) })
    );
  }
  try {
    await vane.start();
  } catch (err) {
    log.error("cannot start", { error: errorText(err) });
    rt.exit(1);
  }
  // Watch from the moment the first config serves: an edit made while workers start
  // must not be missed (the workers catch up with it when they are ready).
  // A bootstrap file (source: etcd) is not the config: etcd's key is watched instead.
  const file = etcd ? null : run.file;
  if (file !== null) s.unwatch = watchConfig(rt, file, () => s.lastText, () => void vane.reloadFromSource(), log);
  if (etcd) {
    s.unwatch = followEtcd(etcd.source, etcd.revision + 1, () => s.lastText, () => vane.reloadFromSource(), log);
  }
  warnUdpInPrimary(rt, config, log);
  if (workerCount > 1 && !s.stopping) {
    s.workers = startWorkers(workerCount, {
      rt,
      log,
      registry: vane.registry,
      current: () => vane,
      acme: s.acme,
      rates: s.rates,
    });
    await s.workers.ready();
    log.info("workers serving", { workers: workerCount });
  }
  if (s.stopping) return;
  // The pid file names the process that serves: written before an old one is told to stop.
  const pidError = run.pidFile === null ? null : writePidFile(run.pidFile, rt.pid);
  if (pidError !== null) {
    log.error("cannot start", { error: pidError });
    await Promise.all([vane.stop(0), s.workers?.stop(0)]);
    rt.exit(1);
  }
  if (predecessor !== null) {
    relieve(predecessor, log);
    letGo();
  }
}

/** The first lines of a vane whose config is in etcd: which value serves, and why a cached one. */
function sayEtcdStart(etcd: EtcdStarted, log: Logger): void {
  const key = etcd.source.key;
  for (const e of etcd.rejected) log.error(e);
  if (etcd.rejected.length > 0) {
    log.error("the config in etcd has errors; serving the cached copy", { key, revision: etcd.revision });
  } else if (etcd.from === "cache") {
    log.warn("etcd cannot be reached; serving the cached copy until it can", { key, revision: etcd.revision });
  } else log.info("config from etcd", { key, revision: etcd.revision, endpoint: etcd.source.client.endpoint });
}

function warnUdpInPrimary(rt: Runtime, config: Config, log: Logger): void {
  if (
    (config.workers ?? rt.cpuCount()) > 1 && !rt.udpReusePort &&
    config.listeners.some((l) => l.address.protocol === "udp")
  ) {
    log.warn("UDP listeners are served by the primary alone: this runtime cannot share a UDP port (SO_REUSEPORT)", {
      runtime: rt.name,
    });
  }
}

/** The primary's vane: it reloads from the config file and, with workers, speaks for them too. */
function createPrimary(
  s: Serving,
  config: Config,
  workerCount: number,
  takeover: { statusAfter: Promise<void> } | undefined,
): Vane {
  const { rt, run } = s;
  // With the config in etcd, a file given is a bootstrap: not reloaded from, not saved to.
  const file = s.etcd ? null : run.file;
  // With workers, the host's rate limits count here; one process alone keeps its flows' own buckets.
  if (workerCount > 1) s.rates = new RateAuthority(SYSTEM_CLOCK);
  const vane: Vane = createVane(config, rt, s.log, {
    adminToken: process.env[ADMIN_TOKEN_ENV] || undefined,
    upgrade: () => s.upgrader.begin(vane.config),
    takeover,
    configFile: file ?? undefined,
    source: file === null && s.etcd === undefined ? undefined : async () => {
      // Workers still starting were handed the config of the moment: let them come up
      // first, so that a reload reaches them as a reload (bounded: a worker that keeps
      // crashing does not hold reloads up; it gets the config when it is back).
      if (s.workers) await Promise.race([s.workers.ready(), new Promise((r) => setTimeout(r, WORKER_WAIT_MS))]);
      const etcd = s.etcd?.source.spec;
      const apply = (base: Config) => (etcd ? withEtcdCluster(run.apply(base), etcd) : run.apply(base));
      const token = { flag: run.adminTokenFile };
      const loaded: Loaded = s.etcd
        ? await nextFromEtcd(rt, s.etcd.source, apply, token)
        : await loadFile(rt, file!, apply, token);
      if (loaded.ok) s.lastText = loaded.text;
      return loaded;
    },
    cluster: workerCount > 1
      ? {
        index: 0,
        aggregate: async (own) => (s.workers ? await s.workers.aggregate(own) : own),
        reloaded: async () => await s.workers?.reload(),
        acme: (acme) => (s.acme = acme),
        overrides: async (overrides) => await s.workers?.overrides(overrides),
        rates: s.rates,
      }
      : undefined,
  });
  return vane;
}

/**
 * SIGINT and SIGTERM stop vane and its workers within the grace (SIGTERM from the new
 * process of an upgrade hands over); SIGHUP reloads the config file; SIGUSR2 upgrades.
 */
function handleSignals(s: Serving, vane: Vane): void {
  const { rt, log, upgrader } = s;
  const shutdown = async (signal: string) => {
    if (s.stopping) return;
    s.stopping = true;
    s.unwatch();
    const handover = upgrader.takeOver();
    const graceMs = vane.config.timeouts.graceMs;
    log.info("shutting down", { signal, graceMs, ...(handover ? { successor: upgrader.successor! } : {}) });
    if (handover) {
      // No process of this vane may accept once its clients are told to reconnect.
      vane.stopAccepting();
      await s.workers?.unlisten();
    }
    await Promise.all([vane.stop(graceMs, { handover }), s.workers?.stop(graceMs)]);
    if (s.run.pidFile !== null) removePidFile(s.run.pidFile, rt.pid);
    log.info("stopped");
    rt.exit(0);
  };
  rt.onSignal("SIGINT", () => void shutdown("SIGINT"));
  rt.onSignal("SIGTERM", () => void shutdown("SIGTERM"));
  rt.onSignal("SIGHUP", () => {
    if (s.run.file === null && s.etcd === undefined) {
      return log.warn("SIGHUP ignored: vane was started without a config file");
    }
    log.info("reloading", { reason: "SIGHUP" });
    void vane.reloadFromSource();
  });
  rt.onSignal("SIGUSR1", () => {
    vane.reopenLogs();
    s.workers?.reopenLogs();
  });
  rt.onSignal("SIGUSR2", () => {
    log.info("upgrading", { reason: "SIGUSR2" });
    void upgrader.begin(vane.config).then((o) => {
      if (!o.ok && o.reason === "refused") log.error("upgrade refused", { error: o.errors.join("; ") });
    });
  });
}

main().catch((err) => {
  // A bug, not a user error: still one line, with enough to report it.
  console.error(`vane: internal error: ${errorText(err)}`);
  runtime().exit(1);
});

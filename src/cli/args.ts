/**
 * Turns argv into a validated Config. Flag syntax is node:util's parseArgs (strict);
 * values go through the shared config parsers, and every failure becomes a one-line
 * CliError of the form `--flag: expected X; got "Y"`. The flags are listed in
 * flags.ts; build-config.ts builds the Config from their values.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config/model.ts";
import { q } from "../config/target.ts";
import { CliError } from "./errors.ts";
import { errorText } from "../errors/mod.ts";
import { EXPECTED, type FlagName, OPTIONS, ROUTE_EXAMPLE } from "./flags.ts";
import { buildConfig } from "./build-config.ts";
import { etcdSource } from "./build-etcd.ts";
import type { EtcdSourceConfig } from "../config/etcd/source.ts";
import { etcdTargetWithoutCluster } from "../config/etcd-targets.ts";

export { DEFAULT_LISTEN, DEFAULT_STATUS, FLAG_NAMES } from "./flags.ts";

/**
 * What the command line asks for. `apply` builds the Config from the flags on top of
 * a config file's (flags win), or from the flags alone; a reload calls it again on
 * the re-read file. Without a file, `config` is that result, already validated.
 */
export type CliResult =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "check"; file: string; apply: (base: Config) => Config; adminTokenFile: string | null }
  | {
    kind: "run";
    file: string | null;
    /** `--admin-token-file` as given: a token file that cannot be read is then a flag error. */
    adminTokenFile: string | null;
    /** `--pid-file`: where the serving primary writes its pid (vane upgrade rewrites it). */
    pidFile: string | null;
    /** `--etcd`: the config is the YAML in etcd's `PREFIX/config` (with the flags over it), not a file. */
    etcd: EtcdSourceConfig | null;
    /** `--state-dir` as given (the etcd config's cached copy goes there before any config is read). */
    stateDir: string | null;
    printConfig: boolean;
    config: Config | null;
    apply: (base: Config | null) => Config;
  };

/**
 * Parses vane's command line: flags, the `run`/`check` commands and their FILE.
 *
 * @param argv The arguments after the executable's name.
 * @returns What to do: help, version, check a file, or run (with the config built from flags, or a way to build it over a file's).
 * @throws {CliError} On a bad flag or value, with a one-line message naming the flag, what was expected and what was given.
 *
 * @example
 * ```ts
 * import { parseCli } from "./mod.ts";
 * const cli = parseCli(["--listen", "127.0.0.1:8080", "--route", "*=127.0.0.1:9000"]);
 * if (cli.kind === "run" && cli.config) console.log(cli.config.listeners[0].address.port); // 8080
 * ```
 */
export function parseCli(argv: string[]): CliResult {
  // --help and --version win over everything, even over otherwise bad arguments.
  const flags = argv.slice(0, argv.includes("--") ? argv.indexOf("--") : argv.length);
  if (flags.includes("--help") || flags.includes("-h")) return { kind: "help" };
  if (flags.includes("--version")) return { kind: "version" };

  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true }));
  } catch (err) {
    throw explainParseError(argv, err);
  }
  const v = values;
  // `vane run FILE` and `vane check FILE` are the only words vane takes without a flag.
  const [command, file, ...rest] = positionals;
  if (command !== undefined && command !== "run" && command !== "check") {
    throw new CliError(`unexpected argument ${q(command)}: every value must follow a flag, e.g. ${ROUTE_EXAMPLE}`);
  }
  if (command !== undefined && file === undefined) {
    throw new CliError(`${command}: expected a config FILE; got nothing`);
  }
  if (rest.length > 0) throw new CliError(`unexpected argument ${q(rest[0])}: ${command} takes one FILE`);
  if (command !== undefined && v.config !== undefined) {
    throw new CliError(`--config: expected either --config FILE or ${command} FILE; got both`);
  }
  const adminTokenFile = v["admin-token-file"] ?? null;
  if (command === "check") return { kind: "check", file, apply: (base) => buildConfig(v, base), adminTokenFile };
  const configFile = file ?? v.config ?? null;
  const etcd = etcdSource(v);
  if (etcd !== null && configFile !== null) {
    throw new CliError(`--etcd: the config comes from etcd or from ${configFile}, not both`);
  }
  const config = configFile === null && etcd === null ? buildConfig(v, null) : null;
  const orphan = config && etcdTargetWithoutCluster(config);
  if (orphan) {
    const flag = (["route", "pool", "fallback"] as const).find((f) => v[f]?.some((t) => /etcd:/i.test(t))) ?? "route";
    throw new CliError(
      `--${flag}: ${orphan.raw} (pool ${orphan.pool}) needs an etcd cluster, which flags alone do not give: ` +
        "take the config from etcd (--etcd) or write it in a file with a top-level etcd: key",
    );
  }
  return {
    kind: "run",
    file: configFile,
    adminTokenFile,
    pidFile: v["pid-file"] ?? null,
    etcd,
    stateDir: v["state-dir"] ?? null,
    printConfig: v["print-config"] === true,
    config,
    apply: (base) => buildConfig(v, base),
  };
}

/**
 * parseArgs' messages span lines and vary by runtime, so re-read argv as tokens
 * (non-strict, which never throws) and say precisely what is wrong.
 */
function explainParseError(argv: string[], err: unknown): CliError {
  const { tokens } = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== "option") continue;
    if (!Object.hasOwn(OPTIONS, t.name)) return new CliError(`unknown flag ${t.rawName} (see --help)`);
    const name = t.name as FlagName;
    const flag = `--${name}`;
    if (OPTIONS[name].type === "boolean") {
      if (t.value !== undefined) return new CliError(`${flag}: expected no value; got ${q(t.value)}`);
    } else if (t.value === undefined) {
      return new CliError(`${flag}: expected ${EXPECTED[name]}; got nothing`);
    } else if (!t.inlineValue && t.value.startsWith("-")) {
      // parseArgs refuses "--listen --route ..." as ambiguous: the value is most likely missing.
      return new CliError(
        `${flag}: expected ${EXPECTED[name]}; got the flag ${
          q(t.value)
        } (write ${flag}=VALUE if it really starts with "-")`,
      );
    }
  }
  const message = errorText(err);
  return new CliError(message.split("\n")[0], { cause: err });
}

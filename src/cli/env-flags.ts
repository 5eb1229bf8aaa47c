/**
 * Every flag can also come from the environment, for systemd units, containers and
 * fleets: `--connect-timeout 2s` is `VANE_CONNECT_TIMEOUT=2s`. A flag given on the
 * command line wins over its variable. A repeatable flag takes several values
 * separated by spaces or newlines (`VANE_ROUTE="api.example.com=pool-a *=pool-b"`).
 * Flags without a value (--help, --version, --print-config, --redirect-http) have no variable, and
 * the admin token keeps its own `VANE_ADMIN_TOKEN`, below a token file's.
 */
import { type CliResult, parseCli } from "./args.ts";
import { FLAG_NAMES, OPTIONS } from "./flags.ts";
import { CliError } from "./errors.ts";

/** Flags whose value the environment does not carry (see the module comment). */
const NOT_FROM_ENV: ReadonlySet<string> = new Set(["help", "version", "print-config", "redirect-http", "admin-token"]);

/** `connect-timeout` -> `VANE_CONNECT_TIMEOUT`. */
export function envName(flag: string): string {
  return `VANE_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** The variables vane reads, each with its flag, for docs and --help. */
export function envFlags(): Array<{ name: string; flag: string; repeatable: boolean }> {
  return FLAG_NAMES
    .filter((flag) => !NOT_FROM_ENV.has(flag))
    .map((flag) => ({ name: envName(flag), flag: `--${flag}`, repeatable: "multiple" in OPTIONS[flag] }));
}

/** Whether argv already sets `flag` (as `--flag V` or `--flag=V`), before any `--`. */
function given(argv: readonly string[], flag: string): boolean {
  const end = argv.includes("--") ? argv.indexOf("--") : argv.length;
  return argv.slice(0, end).some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
}

/**
 * argv with the environment's flags added in front, and which flags came from where.
 * `VANE_CONFIG` is skipped when argv names a file with `run FILE` or `check FILE`.
 */
export function withEnvFlags(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): { args: string[]; fromEnv: Map<string, string> } {
  const fromEnv = new Map<string, string>();
  const extra: string[] = [];
  const namesFile = argv[0] === "run" || argv[0] === "check";
  for (const { name, flag, repeatable } of envFlags()) {
    const value = env[name]?.trim();
    const bare = flag.slice(2);
    if (!value || given(argv, bare) || (bare === "config" && namesFile)) continue;
    fromEnv.set(bare, name);
    for (const v of repeatable ? value.split(/\s+/) : [value]) extra.push(`${flag}=${v}`);
  }
  return { args: [...extra, ...argv], fromEnv };
}

/**
 * parseCli over argv and the environment. A bad value from a variable is reported
 * under the variable's name (`VANE_LISTEN (--listen): expected ...`), since the
 * command line the operator typed does not show it.
 */
export function parseCliWithEnv(argv: readonly string[], env: Record<string, string | undefined>): CliResult {
  const { args, fromEnv } = withEnvFlags(argv, env);
  try {
    return parseCli(args);
  } catch (err) {
    const flag = err instanceof CliError ? /^--([a-z-]+):/.exec(err.message)?.[1] : undefined;
    const name = flag === undefined ? undefined : fromEnv.get(flag);
    if (name === undefined) throw err;
    throw new CliError(`${name} (--${flag}):${(err as CliError).message.slice(flag!.length + 3)}`);
  }
}

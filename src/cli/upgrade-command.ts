/**
 * `vane upgrade`: asks the running vane to start the executable at its path again (a
 * new version the installer put there) and hand its ports over, then waits until the
 * new process answers. Through the status endpoint (POST /upgrade, then /status for
 * the new pid), or, where the status endpoint is off, by SIGUSR2 to the pid in
 * `--pid-file` and watching that file name the new process.
 */
import { parseArgs } from "node:util";
import process from "node:process";
import { CliError } from "./errors.ts";
import { DEFAULT_STATUS } from "./flags.ts";
import { ADMIN_TOKEN_ENV } from "../control/token.ts";
import { parseBindAddress } from "../config/target.ts";
import { formatAddress } from "../config/address.ts";
import { DURATION_EXPECTED, parseDuration } from "../config/duration.ts";
import { readPidFile } from "../cluster/pid-file.ts";
import { errorText } from "../errors/mod.ts";

export const UPGRADE_USAGE = `Usage: vane upgrade [--status ADDR] [--timeout DUR]
       vane upgrade --pid-file FILE [--timeout DUR]

Starts the vane executable at the running vane's path again, with the same arguments
and environment, in place of the running vane. The new process binds the same ports
beside the old one, and once it serves, the old one stops accepting and lets open
connections finish within its --grace. If the new process fails, the old one serves on.
Install the new version first (scripts/install.sh renames it into place).

  --status ADDR     The running vane's status endpoint. Default: $VANE_STATUS, else
                    ${DEFAULT_STATUS}. With an admin token, set VANE_ADMIN_TOKEN.
  --pid-file FILE   Instead: signal the pid in FILE (SIGUSR2) and wait for the file to
                    name the new process (vane --pid-file FILE, or the systemd unit's).
  --timeout DUR     How long to wait for the new process. Default: 60s

Exit status: 0 upgraded, 1 not upgraded (the running vane serves on), 2 usage.`;

const DEFAULT_TIMEOUT_MS = 60_000;
const POLL_MS = 100;

/** What `vane upgrade ...` asked for. */
export interface UpgradeCommand {
  /** Through the status endpoint at this address, or by signal to the pid in this file. */
  via: { status: string } | { pidFile: string };
  timeoutMs: number;
  token: string | null;
}

/** Parses the words after `vane upgrade`; null for --help. */
export function parseUpgradeArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): UpgradeCommand | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        status: { type: "string" },
        "pid-file": { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new CliError(`upgrade: ${errorText(err).split("\n")[0]}`);
  }
  const v = parsed.values;
  if (v.help) return null;
  if (v.status !== undefined && v["pid-file"] !== undefined) {
    throw new CliError("upgrade: expected either --status ADDR or --pid-file FILE; got both");
  }
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (v.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(v.timeout);
    } catch {
      throw new CliError(`upgrade: --timeout: expected ${DURATION_EXPECTED}; got ${JSON.stringify(v.timeout)}`);
    }
  }
  const token = env[ADMIN_TOKEN_ENV] || null;
  if (v["pid-file"] !== undefined) return { via: { pidFile: v["pid-file"] }, timeoutMs, token };
  const status = v.status ?? env.VANE_STATUS ?? DEFAULT_STATUS;
  if (status === "off") throw new CliError("upgrade: the status endpoint is off; use --pid-file FILE");
  let addr;
  try {
    addr = parseBindAddress(status);
  } catch (err) {
    throw new CliError(`upgrade: --status: ${errorText(err)}`);
  }
  // A wildcard endpoint is reached on loopback.
  const host = addr.host === "0.0.0.0" ? "127.0.0.1" : addr.host === "::" ? "::1" : addr.host;
  return { via: { status: formatAddress(host, addr.port) }, timeoutMs, token };
}

/** Runs `vane upgrade`: prints what happened, returns the exit status. */
export async function runUpgradeCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  let command: UpgradeCommand | null;
  try {
    command = parseUpgradeArgs(argv, env);
  } catch (err) {
    console.error(`vane: ${errorText(err)}`);
    console.error("Try 'vane upgrade --help'.");
    return 2;
  }
  if (command === null) {
    console.log(UPGRADE_USAGE);
    return 0;
  }
  const result = "status" in command.via
    ? await upgradeThroughStatus(command.via.status, command)
    : await upgradeBySignal(command.via.pidFile, command);
  if (result.ok) console.log(result.line);
  else console.error(`vane upgrade: ${result.line}`);
  return result.ok ? 0 : 1;
}

type Result = { ok: boolean; line: string };

/** The primary's pid and version as /status shows them, or why they cannot be read. */
async function statusOf(base: string): Promise<{ pid: number; version: string; runtime: string } | string> {
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return `GET /status answered ${res.status}`;
    const body = await res.json() as {
      version: string;
      runtime: string;
      workers: Array<{ worker: number; pid: number }>;
    };
    const primary = body.workers.find((w) => w.worker === 0);
    return primary ? { pid: primary.pid, version: body.version, runtime: body.runtime } : "/status shows no primary";
  } catch (err) {
    return errorText(err);
  }
}

async function upgradeThroughStatus(address: string, command: UpgradeCommand): Promise<Result> {
  const base = `http://${address}`;
  const before = await statusOf(base);
  if (typeof before === "string") {
    return {
      ok: false,
      line:
        `nothing answers at ${address} (${before}): is vane running with its status endpoint there? (--status ADDR, or --pid-file FILE)`,
    };
  }
  const asked = await askUpgrade(base, command);
  if ("refused" in asked) return { ok: false, line: asked.refused };
  // The new process binds the status endpoint once the old one let go of it.
  const deadline = Date.now() + command.timeoutMs;
  while (Date.now() < deadline) {
    const now = await statusOf(base);
    if (typeof now !== "string" && now.pid !== before.pid && (asked.pid === null || now.pid === asked.pid)) {
      return {
        ok: true,
        line:
          `vane upgraded: pid ${before.pid} -> ${now.pid} (vane ${now.version}, ${now.runtime}); pid ${before.pid} drains its open connections`,
      };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return { ok: false, line: `no new vane answered at ${address} within ${command.timeoutMs / 1000} s` };
}

/** POST /upgrade: the new pid, or why not. A connection cut as the old process let go is no answer: /status tells. */
async function askUpgrade(
  base: string,
  command: UpgradeCommand,
): Promise<{ pid: number | null } | { refused: string }> {
  let res: Response;
  try {
    res = await fetch(`${base}/upgrade`, {
      method: "POST",
      headers: command.token ? { Authorization: `Bearer ${command.token}` } : {},
      signal: AbortSignal.timeout(command.timeoutMs + 5000),
    });
  } catch {
    return { pid: null };
  }
  const body = await res.json().catch(() => null) as { ok?: boolean; pid?: number; errors?: string[] } | null;
  if (res.status === 401) return { refused: "the admin token is missing or wrong: set VANE_ADMIN_TOKEN" };
  if (body?.ok === true && typeof body.pid === "number") return { pid: body.pid };
  const why = body?.errors?.join("; ") ?? `POST /upgrade answered ${res.status}`;
  return { refused: `${why}; the running vane serves on` };
}

async function upgradeBySignal(pidFile: string, command: UpgradeCommand): Promise<Result> {
  const old = readPidFile(pidFile);
  if (old === null) return { ok: false, line: `${pidFile}: no pid there; is vane running with --pid-file ${pidFile}?` };
  try {
    process.kill(old, "SIGUSR2");
  } catch (err) {
    return { ok: false, line: `pid ${old} (from ${pidFile}) cannot be signalled: ${errorText(err)}` };
  }
  const deadline = Date.now() + command.timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    // Read after the liveness check: the new process writes the file before the old one stops.
    const oldGone = !alive(old);
    const now = readPidFile(pidFile);
    if (now !== null && now !== old && alive(now)) {
      return { ok: true, line: `vane upgraded: pid ${old} -> ${now}; pid ${old} drains its open connections` };
    }
    if (oldGone) return { ok: false, line: `pid ${old} exited and no new vane took over` };
  }
  return {
    ok: false,
    line: `no new vane took over within ${command.timeoutMs / 1000} s; pid ${old} serves on (its log says why)`,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

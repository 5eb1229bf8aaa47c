/**
 * `vane ctl`: the admin API (docs/admin-api.md) from the command line. It reaches the
 * status endpoint at --status ADDR with the token from VANE_ADMIN_TOKEN, as `vane
 * upgrade` does, prints tables for people and JSON for scripts (--json).
 */
import { parseArgs } from "node:util";
import { CliError } from "./errors.ts";
import { DEFAULT_STATUS } from "./flags.ts";
import { ADMIN_TOKEN_ENV } from "../control/token.ts";
import { parseBindAddress } from "../config/target.ts";
import { formatAddress } from "../config/address.ts";
import { errorText } from "../errors/mod.ts";
import type { AdminPool } from "../control/admin-routes.ts";

export const CTL_USAGE = `Usage: vane ctl COMMAND [ARGS] [--status ADDR] [--json]

Talks to a running vane's admin API (its status endpoint). Changes take effect at once
in every worker and are kept across reloads; POST /config/save writes them to the file.

  pools                      Every pool's targets: state, weight, requests in flight
  listeners                  The listeners and their flows
  drain POOL TARGET          No new connections or requests to TARGET; open ones finish
  undrain POOL TARGET        Take TARGET back into service
                             (--fleet: on every vane sharing the config's etcd cluster)
  add POOL TARGET            Add TARGET (ADDR:PORT[@WEIGHT]) to POOL
  remove POOL TARGET         Remove TARGET from POOL
  weight POOL TARGET N       Set TARGET's weight (0..256)
  mark POOL TARGET up|down|auto
                             Mark TARGET up or down by hand (auto: the checks decide again)
  save                       Write the config in service back to its file (FILE.bak kept)
  tail [--events]            Follow the live access log (--events: health, reload and
                             admin events too) until interrupted

  --status ADDR   The running vane's status endpoint. Default: $VANE_STATUS, else
                  ${DEFAULT_STATUS}. With an admin token, set ${ADMIN_TOKEN_ENV}.
  --json          Print the API's JSON answer (tail: one JSON event per line)
  --fleet         drain/undrain: write it to etcd (PREFIX/drain/POOL/TARGET), so every
                  vane watching that cluster applies it

Exit status: 0 done, 1 refused or unreachable (the reason is printed), 2 usage.`;

interface CtlCommand {
  words: string[];
  base: string;
  address: string;
  json: boolean;
  events: boolean;
  /** drain/undrain --fleet: through etcd, for every vane of the fleet. */
  fleet: boolean;
  token: string | null;
}

/** The arity of each command (after its name). */
const ARITY: Record<string, number> = {
  pools: 0,
  listeners: 0,
  drain: 2,
  undrain: 2,
  add: 2,
  remove: 2,
  weight: 3,
  mark: 3,
  save: 0,
  tail: 0,
};

/** Parses the words after `vane ctl`; null for --help or no command. */
export function parseCtlArgs(argv: readonly string[], env: Record<string, string | undefined>): CtlCommand | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        status: { type: "string" },
        json: { type: "boolean" },
        events: { type: "boolean" },
        fleet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new CliError(`ctl: ${errorText(err).split("\n")[0]}`);
  }
  const v = parsed.values;
  const words = parsed.positionals;
  if (v.help || words.length === 0) return null;
  const arity = ARITY[words[0]];
  if (arity === undefined) {
    throw new CliError(`ctl: expected a command (${Object.keys(ARITY).join(", ")}); got ${JSON.stringify(words[0])}`);
  }
  if (words.length - 1 !== arity) {
    throw new CliError(`ctl ${words[0]}: expected ${arity} argument${arity === 1 ? "" : "s"}; got ${words.length - 1}`);
  }
  if (v.fleet && words[0] !== "drain" && words[0] !== "undrain") {
    throw new CliError(`ctl ${words[0]}: --fleet: only with drain or undrain`);
  }
  const status = v.status ?? env.VANE_STATUS ?? DEFAULT_STATUS;
  let addr;
  try {
    addr = parseBindAddress(status);
  } catch (err) {
    throw new CliError(`ctl: --status: ${errorText(err)}`);
  }
  const host = addr.host === "0.0.0.0" ? "127.0.0.1" : addr.host === "::" ? "::1" : addr.host;
  const address = formatAddress(host, addr.port);
  return {
    words,
    address,
    base: `http://${address}`,
    json: v.json === true,
    events: v.events === true,
    fleet: v.fleet === true,
    token: env[ADMIN_TOKEN_ENV] || null,
  };
}

/** Runs `vane ctl ...`: prints the answer, returns the exit status. */
export async function runCtlCommand(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let command: CtlCommand | null;
  try {
    command = parseCtlArgs(argv, env);
  } catch (err) {
    console.error(`vane: ${errorText(err)}`);
    console.error("Try 'vane ctl --help'.");
    return 2;
  }
  if (command === null) {
    console.log(CTL_USAGE);
    return 0;
  }
  if (command.words[0] === "tail") return await tail(command);
  const result = await call(command);
  if (!result.ok) {
    console.error(`vane ctl: ${result.error}`);
    return 1;
  }
  console.log(command.json ? JSON.stringify(result.body, null, 2) : describe(command.words, result.body));
  return 0;
}

const path = (pool: string, target?: string) =>
  `/pools/${encodeURIComponent(pool)}${target === undefined ? "" : `/targets/${encodeURIComponent(target)}`}`;

/** The request a command makes: method, path, JSON body. */
function requestOf(words: string[], fleet = false): { method: string; path: string; body?: unknown } {
  const [name, pool, target, arg] = words;
  switch (name) {
    case "pools":
      return { method: "GET", path: "/pools" };
    case "listeners":
      return { method: "GET", path: "/listeners" };
    case "drain":
    case "undrain":
      return { method: "POST", path: `${path(pool, target)}/${name}`, ...(fleet ? { body: { fleet: true } } : {}) };
    case "add":
      return { method: "POST", path: `${path(pool)}/targets`, body: { target } };
    case "remove":
      return { method: "DELETE", path: path(pool, target) };
    case "weight":
      return {
        method: "PUT",
        path: `${path(pool, target)}/weight`,
        body: { weight: /^\d+$/.test(arg) ? Number(arg) : arg },
      };
    case "mark":
      return { method: "POST", path: `${path(pool, target)}/mark`, body: { state: arg } };
    default:
      return { method: "POST", path: "/config/save" };
  }
}

type CallResult = { ok: true; body: Record<string, unknown> } | { ok: false; error: string };

async function call(command: CtlCommand): Promise<CallResult> {
  const req = requestOf(command.words, command.fleet);
  const headers: Record<string, string> = {};
  if (command.token) headers.Authorization = `Bearer ${command.token}`;
  if (req.body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(`${command.base}${req.path}`, {
      method: req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    return { ok: false, error: unreachable(command, err) };
  }
  const body = await res.json().catch(() => null) as Record<string, unknown> | null;
  if (res.status === 401) {
    return { ok: false, error: `the admin token is missing or wrong: set ${ADMIN_TOKEN_ENV} (${command.address})` };
  }
  if (!res.ok || body === null) {
    const errors = Array.isArray(body?.errors) ? (body.errors as string[]).join("; ") : `answered ${res.status}`;
    return { ok: false, error: `${req.method} ${req.path}: ${errors}` };
  }
  return { ok: true, body };
}

function unreachable(command: CtlCommand, err: unknown): string {
  return `nothing answers at ${command.address} (${
    errorText(err)
  }): is vane running with its status endpoint there? (--status ADDR)`;
}

/** For a fleet-wide drain: where it was written. */
function fleetNote(body: Record<string, unknown>): string {
  const key = (body.fleet as { key?: string } | undefined)?.key;
  return key === undefined ? "" : ` on every vane watching etcd (${key})`;
}

/** One line (or a table) for people. */
function describe(words: string[], body: Record<string, unknown>): string {
  const [name, pool, target, arg] = words;
  switch (name) {
    case "pools":
      return poolTable(body.pools as Record<string, AdminPool>);
    case "listeners":
      return (body.listeners as Array<{ listen: string; address: string; protocol: string }>)
        .map((l) => `${l.listen}  ${l.protocol}  ${l.address}`).join("\n");
    case "drain":
      return `${pool} ${target}: draining (no new requests; open ones finish)${fleetNote(body)}`;
    case "undrain":
      return `${pool} ${target}: back in service${fleetNote(body)}`;
    case "add":
      return `${pool}: added ${target} (config generation ${body.generation})`;
    case "remove":
      return `${pool}: removed ${target} (config generation ${body.generation})`;
    case "weight":
      return `${pool} ${target}: weight ${arg}`;
    case "mark":
      return `${pool} ${target}: ${arg === "auto" ? "the checks decide again" : `marked ${arg} by hand`}`;
    default:
      return `saved to ${body.file} (the previous file is ${body.backup})`;
  }
}

/** The pools as a table: one row per target. */
export function poolTable(pools: Record<string, AdminPool>): string {
  const rows = [["POOL", "TARGET", "ROLE", "STATE", "MANUAL", "WEIGHT", "ACTIVE", "TOTAL", "LAST ERROR"]];
  for (const [name, p] of Object.entries(pools)) {
    for (const t of p.targets) {
      rows.push([
        name,
        t.target,
        t.role,
        t.state,
        t.manual ?? "-",
        String(t.weight),
        String(t.activeConnections),
        String(t.totalConnections),
        t.lastError ?? "-",
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ")).join(
    "\n",
  );
}

/** Follows /events until the stream ends or the process is interrupted. */
async function tail(command: CtlCommand): Promise<number> {
  const types = command.events ? "access,health,reload,admin" : "access";
  let res: Response;
  try {
    res = await fetch(`${command.base}/events?types=${types}`, {
      headers: command.token ? { Authorization: `Bearer ${command.token}` } : {},
    });
  } catch (err) {
    console.error(`vane ctl: ${unreachable(command, err)}`);
    return 1;
  }
  if (!res.ok || !res.body) {
    console.error(`vane ctl: GET /events answered ${res.status}`);
    return 1;
  }
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith("data: ")) console.log(eventLine(line.slice(6), command.json));
    }
  }
  console.error(`vane ctl: the event stream from ${command.address} ended`);
  return 1;
}

function eventLine(data: string, json: boolean): string {
  if (json) return data;
  const e = JSON.parse(data) as Record<string, unknown>;
  if (e.type === "access" && typeof e.line === "string") return e.line;
  const { type, time, ...rest } = e;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  return `${time} ${type} ${fields.join(" ")}`;
}

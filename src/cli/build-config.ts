/**
 * The Config the flags describe, section by section: pools and routes
 * (build-pools.ts), listeners (build-listeners.ts), certificates, timeouts, HTTP
 * limits, the control endpoint, logging, the resolver, workers and max-conns. Each
 * section reads its flags in a fixed order, so that of several bad flags the same one
 * is always reported.
 */
import {
  type Config,
  DEFAULT_HTTP,
  DEFAULT_LOG,
  DEFAULT_TIMEOUTS,
  ENCODED_SLASH,
  HEADER_LINE_MAX,
  HEADER_LINE_MIN,
  type HttpConfig,
  LOG_FORMATS,
  LOG_LEVELS,
  MAX_WORKERS,
  WORKERS_EXPECTED,
} from "../config/model.ts";
import { uncheckUdpPools } from "../config/udp-pools.ts";
import { parseBindAddress, parseHostPort, q } from "../config/target.ts";
import { parseCidrList } from "../config/cidr.ts";
import { CliError } from "./errors.ts";
import { DEFAULT_STATUS, EXPECTED, ROUTE_EXAMPLE, type Values } from "./flags.ts";
import { duration, forFlag, integer, oneOf } from "./flag-values.ts";
import { ALLOW_ZERO } from "../config/duration.ts";
import { buildPools } from "./build-pools.ts";
import { buildListeners } from "./build-listeners.ts";
import { buildAccessLog } from "./build-access-log.ts";
import { buildAcme, checkAcmeNames, stateDir } from "./build-acme.ts";
import { withAcmeHttpListener } from "../config/acme.ts";

/**
 * The Config the flags describe. Alone (`base` null) they must define a route; on top
 * of a config file, each flag given replaces what the file says (see `overlay`).
 */
export function buildConfig(v: Values, base: Config | null): Config {
  if (base === null && !v.route?.length) {
    throw new CliError(`--route: at least one route is required, e.g. ${ROUTE_EXAMPLE}`);
  }
  const { pools, nodes, routes, spec, fromFile } = buildPools(v, base);
  const tls = tlsFiles(v, base);
  // Validated here, kept as written: the model stays printable as config text.
  const acceptProxy = cidrFlag(v, "accept-proxy");
  const perClient = v["max-conns-per-client"];
  const filter = {
    allow: cidrFlag(v, "allow"),
    deny: cidrFlag(v, "deny"),
    maxConnsPerClient: perClient === undefined
      ? undefined
      : integer("max-conns-per-client", perClient, 0, 1, Number.MAX_SAFE_INTEGER),
  };

  const acme = buildAcme(v, base);
  const listeners = withAcmeHttpListener({ acme, listeners: buildListeners(v, base, routes, acceptProxy, filter) });
  // A pool of the flags that only udp:// listeners use takes no TCP check unless --health names one.
  uncheckUdpPools(pools.values(), listeners, (p) => spec !== undefined || fromFile(p.name));
  const https = listeners.find((l) => l.address.protocol === "https" && l.tls.length === 0);
  if (https && tls.length === 0 && !acme) {
    throw new CliError(
      `--tls: expected at least one CERT.pem,KEY.pem (or --acme EMAIL) for ${q(https.address.raw)}; got none`,
    );
  }
  if (acme) checkAcmeNames({ listeners, tls });
  const state = stateDir(v, base);

  return {
    listeners,
    pools: Object.fromEntries(pools),
    nodes: Object.fromEntries(nodes),
    timeouts: timeouts(v, base),
    http: httpLimits(v, base),
    control: control(v, base),
    log: {
      format: oneOf("log-format", v["log-format"], LOG_FORMATS, base?.log.format ?? DEFAULT_LOG.format),
      level: oneOf("log-level", v["log-level"], LOG_LEVELS, base?.log.level ?? DEFAULT_LOG.level),
    },
    ...buildAccessLog(v, base),
    resolver: resolver(v, base),
    tls,
    ...(base?.tlsServer ? { tlsServer: base.tlsServer } : {}),
    workers: v.workers === undefined ? (base?.workers ?? null) : parseWorkers(v.workers),
    maxConns: v["max-conns"] === undefined ? (base?.maxConns ?? null) : parseMaxConns(v["max-conns"]),
    ...(acme ? { acme } : {}),
    ...(state !== undefined ? { stateDir: state } : {}),
    // The file's etcd cluster (no flag sets one: --etcd is where the config comes from).
    ...(base?.etcd ? { etcd: base.etcd } : {}),
  };
}

/** `--tls CERT.pem,KEY.pem`: certificate files are read at start, where a missing one is reported by name. */
function tlsFiles(v: Values, base: Config | null): Config["tls"] {
  return v.tls === undefined ? (base?.tls ?? []) : v.tls.map((text) => {
    const parts = text.split(",");
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new CliError(`--tls: expected ${EXPECTED.tls}; got ${q(text)}`);
    }
    return { certPath: parts[0], keyPath: parts[1] };
  });
}

function timeouts(v: Values, base: Config | null): Config["timeouts"] {
  const t = base?.timeouts ?? DEFAULT_TIMEOUTS;
  return {
    connectMs: duration("connect-timeout", v["connect-timeout"], t.connectMs),
    idleMs: duration("idle-timeout", v["idle-timeout"], t.idleMs),
    graceMs: duration("grace", v.grace, t.graceMs, ALLOW_ZERO),
    udpIdleMs: duration("udp-idle-timeout", v["udp-idle-timeout"], t.udpIdleMs),
    upstreamMs: duration("upstream-timeout", v["upstream-timeout"], t.upstreamMs),
    requestHeadMs: duration("request-head-timeout", v["request-head-timeout"], t.requestHeadMs),
    keepAliveMs: duration("keep-alive-timeout", v["keep-alive-timeout"], t.keepAliveMs),
    bodyMs: duration("body-timeout", v["body-timeout"], t.bodyMs),
  };
}

function httpLimits(v: Values, base: Config | null): HttpConfig {
  const h = base?.http ?? DEFAULT_HTTP;
  return {
    maxHeaderLine: integer("max-header-line", v["max-header-line"], h.maxHeaderLine, HEADER_LINE_MIN, HEADER_LINE_MAX),
    maxPartialHeads: integer(
      "max-partial-heads",
      v["max-partial-heads"],
      h.maxPartialHeads,
      0,
      Number.MAX_SAFE_INTEGER,
    ),
    encodedSlash: oneOf("encoded-slash", v["encoded-slash"], ENCODED_SLASH, h.encodedSlash),
  };
}

/** --status (or the file's, else the default address) with the admin token. */
function control(v: Values, base: Config | null): Config["control"] {
  const statusText = v.status ?? (base ? undefined : DEFAULT_STATUS);
  const listen = statusText === undefined
    ? base!.control.listen
    : statusText === "off"
    ? null
    : forFlag("status", () => parseBindAddress(statusText));
  return adminToken(v, listen, base);
}

/**
 * --admin-token or --admin-token-file (one of them), else the file's token or token-file.
 * The token file is only named here; it is read at start, where a bad one names this flag.
 */
function adminToken(v: Values, listen: Config["control"]["listen"], base: Config | null): Config["control"] {
  const token = v["admin-token"];
  const file = v["admin-token-file"];
  if (token !== undefined && file !== undefined) {
    throw new CliError(`--admin-token-file: expected either --admin-token or --admin-token-file; got both`);
  }
  if (token === "") throw new CliError(`--admin-token: expected ${EXPECTED["admin-token"]}; got ""`);
  if (file === "") throw new CliError(`--admin-token-file: expected ${EXPECTED["admin-token-file"]}; got ""`);
  if (token !== undefined) return { listen, token };
  if (file !== undefined) return { listen, token: null, tokenFile: file };
  const control: Config["control"] = { listen, token: base?.control.token ?? null };
  if (base?.control.tokenFile !== undefined) control.tokenFile = base.control.tokenFile;
  return control;
}

/** `--resolver IP:PORT`, or the file's. */
function resolver(v: Values, base: Config | null): Config["resolver"] {
  const resolverText = v.resolver;
  return resolverText === undefined ? (base?.resolver ?? null) : forFlag("resolver", () => {
    const { host, port } = parseHostPort(resolverText, { ipOnly: true });
    return { host, port };
  });
}

/** `--max-conns N` or `--max-conns auto` (derived from the open-file limit). */
function parseMaxConns(text: string): number | null {
  if (text === "auto") return null;
  return integer("max-conns", text, 0, 1, Number.MAX_SAFE_INTEGER);
}

/** `--workers N` or `--workers auto`. */
function parseWorkers(text: string): number | null {
  if (text === "auto") return null;
  const n = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) throw new CliError(`--workers: expected ${WORKERS_EXPECTED}; got ${q(text)}`);
  return n;
}

/** A repeatable CIDR-list flag's ranges, validated and kept as written; undefined: not given. */
function cidrFlag(v: Values, flag: "accept-proxy" | "allow" | "deny"): string[] | undefined {
  return v[flag]?.flatMap((text) => forFlag(flag, () => parseCidrList(text)).map((c) => c.raw));
}

/**
 * The flags vane takes: their parseArgs options, what each one expects (for the
 * "expected X; got Y" messages) and the defaults the flags alone start from.
 */
import type { parseArgs } from "node:util";
import { DURATION_EXPECTED } from "../config/duration.ts";
import { formatAddress } from "../config/address.ts";
import { PERCENT_EXPECTED } from "../config/outlier-spec.ts";
import { DEFAULT_CONTROL_LISTEN } from "../config/model.ts";
import {
  ACCESS_LOG_SAMPLE_EXPECTED,
  HEADER_LINE_EXPECTED,
  MAX_CONNS_EXPECTED,
  PARTIAL_HEADS_EXPECTED,
  RETRY_ON,
  WORKERS_EXPECTED,
} from "../config/model.ts";

export { DEFAULT_LISTEN } from "../config/model.ts";
/** `--status` when not given: the model's default, as the flag would write it. */
export const DEFAULT_STATUS = formatAddress(DEFAULT_CONTROL_LISTEN.host, DEFAULT_CONTROL_LISTEN.port);
export const ROUTE_EXAMPLE = "--route '*=127.0.0.1:9000'";

export const OPTIONS = {
  listen: { type: "string", multiple: true },
  route: { type: "string", multiple: true },
  pool: { type: "string", multiple: true },
  node: { type: "string", multiple: true },
  // multiple only so that a second --fallback can be detected and refused.
  fallback: { type: "string", multiple: true },
  strategy: { type: "string" },
  health: { type: "string" },
  "health-expect": { type: "string" },
  "health-interval": { type: "string" },
  "health-timeout": { type: "string" },
  rise: { type: "string" },
  fall: { type: "string" },
  "retry-on": { type: "string" },
  retries: { type: "string" },
  "retry-budget": { type: "string" },
  outlier: { type: "string" },
  "connect-timeout": { type: "string" },
  "idle-timeout": { type: "string" },
  grace: { type: "string" },
  "udp-idle-timeout": { type: "string" },
  "upstream-timeout": { type: "string" },
  "request-head-timeout": { type: "string" },
  "keep-alive-timeout": { type: "string" },
  "body-timeout": { type: "string" },
  "max-header-line": { type: "string" },
  "max-partial-heads": { type: "string" },
  "encoded-slash": { type: "string" },
  status: { type: "string" },
  "log-format": { type: "string" },
  "access-log": { type: "string" },
  "access-log-format": { type: "string" },
  "access-log-sample": { type: "string" },
  resolver: { type: "string" },
  "proxy-protocol": { type: "string" },
  protocol: { type: "string" },
  "accept-proxy": { type: "string", multiple: true },
  allow: { type: "string", multiple: true },
  deny: { type: "string", multiple: true },
  "max-conns-per-client": { type: "string" },
  tls: { type: "string", multiple: true },
  config: { type: "string" },
  "print-config": { type: "boolean" },
  "redirect-http": { type: "boolean" },
  acme: { type: "string" },
  "acme-directory": { type: "string" },
  "acme-ca-root": { type: "string" },
  "acme-challenge": { type: "string" },
  "state-dir": { type: "string" },
  "admin-token": { type: "string" },
  "admin-token-file": { type: "string" },
  "log-level": { type: "string" },
  workers: { type: "string" },
  "max-conns": { type: "string" },
  "pid-file": { type: "string" },
  version: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export type FlagName = keyof typeof OPTIONS;

/** Every flag vane knows, without the "--" (for --help coverage tests). */
export const FLAG_NAMES = Object.keys(OPTIONS) as FlagName[];

/** What each value flag expects, for "missing value" messages. */
export const EXPECTED: Record<FlagName, string> = {
  listen: "[tcp://|http://|https://|udp://]HOST:PORT, :PORT or [IPv6]:PORT",
  route: `MATCH=TARGETS, e.g. ${ROUTE_EXAMPLE}`,
  pool: "NAME=TARGETS",
  node: "NAME=IP[,IP...]",
  fallback: "a comma-separated target list",
  strategy:
    "serial, random, fastest, leastconn, p2c, hash:client, hash:path, hash:header:NAME, hash:cookie:NAME or sticky:cookie:NAME",
  health: "tcp, none or http:/PATH",
  "health-expect": "a status or range like 200-299",
  "health-interval": DURATION_EXPECTED,
  "health-timeout": DURATION_EXPECTED,
  rise: "an integer 1..100",
  fall: "an integer 1..100",
  "retry-on": `${RETRY_ON.join(", ")} (comma-separated) or none`,
  retries: "an integer 0..10",
  "retry-budget": PERCENT_EXPECTED,
  outlier: "on, off or KEY=VALUE,... (consecutive-5xx, consecutive-resets, base-ejection, max-ejection, max-ejected)",
  "connect-timeout": DURATION_EXPECTED,
  "idle-timeout": DURATION_EXPECTED,
  grace: DURATION_EXPECTED,
  "udp-idle-timeout": DURATION_EXPECTED,
  "upstream-timeout": DURATION_EXPECTED,
  "request-head-timeout": DURATION_EXPECTED,
  "keep-alive-timeout": DURATION_EXPECTED,
  "body-timeout": DURATION_EXPECTED,
  "max-header-line": HEADER_LINE_EXPECTED,
  "max-partial-heads": PARTIAL_HEADS_EXPECTED,
  "encoded-slash": "reject or keep",
  status: "HOST:PORT, :PORT, [IPv6]:PORT or off",
  "log-format": "text or json",
  "access-log": "a FILE to append to, or - for stderr",
  "access-log-format": "json or combined",
  "access-log-sample": ACCESS_LOG_SAMPLE_EXPECTED,
  resolver: "IP:PORT of a DNS server",
  "proxy-protocol": "v1 or v2",
  protocol: "http1, h2c or h2",
  "accept-proxy": "CIDR[,CIDR...], e.g. 10.0.0.0/8,::1",
  allow: "CIDR[,CIDR...], e.g. 10.0.0.0/8,192.168.0.0/16",
  deny: "CIDR[,CIDR...], e.g. 203.0.113.0/24",
  "max-conns-per-client": "an integer, 1 or more",
  tls: "CERT.pem,KEY.pem",
  config: "a YAML config FILE",
  workers: WORKERS_EXPECTED,
  "max-conns": MAX_CONNS_EXPECTED,
  "pid-file": "a FILE to write the pid to",
  "print-config": "no value",
  "redirect-http": "no value",
  acme: "an EMAIL address for the ACME account, like you@example.com",
  "acme-directory": "an https:// URL of an ACME directory",
  "acme-ca-root": "a PEM FILE of the ACME CA's HTTPS root",
  "acme-challenge": "auto, http-01 or tls-alpn-01",
  "state-dir": "a DIRECTORY for state kept across restarts",
  "admin-token": "a non-empty token",
  "admin-token-file": "a FILE whose first line is the admin token",
  "log-level": "debug, info, warn or error",
  version: "no value",
  help: "no value",
};

/** The values parseArgs read from argv, by flag. */
export type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];

/**
 * The config model: one shape that the CLI, the YAML file (a later issue) and the
 * library API all build. Everything is already validated and normalised here:
 * durations are milliseconds, addresses are split, targets are parsed.
 */

/** A target as the operator wrote it, parsed. */
export type TargetSpec =
  | { kind: "ip"; host: string; port: number; weight: number; raw: string }
  | { kind: "dns"; host: string; port: number; weight: number; raw: string }
  | { kind: "node"; node: string; port: number; weight: number; raw: string };

export type StrategyName = "random" | "serial" | "fastest";

export interface HealthConfig {
  /**
   * "tcp" connects; "http" sends `GET path` and expects a status in `expect`; "none"
   * disables active checks (passive failures still take a target out for one interval).
   */
  check: "tcp" | "http" | "none";
  /** For "http": the path to ask for. */
  path?: string;
  /** For "http": accepted statuses, inclusive. */
  expect?: [number, number];
  intervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
}

export interface PoolConfig {
  name: string;
  strategy: StrategyName;
  targets: TargetSpec[];
  /** Used only when no target of `targets` is alive. */
  fallback: TargetSpec[];
  health: HealthConfig;
  /** PROXY protocol header sent to this pool's targets first, or null for none. */
  sendProxy: "v1" | "v2" | null;
}

/** What a route matches on. Only `any` applies at L4 today; the rest wait for routing by host. */
export type RouteMatch =
  | { kind: "any" }
  | { kind: "host"; host: string; pathPrefix?: string }
  | { kind: "wildcard"; suffix: string; pathPrefix?: string };

export interface RouteConfig {
  /** As written by the operator, e.g. `*`, `api.example.com`, `*.example.com/v1`. */
  raw: string;
  match: RouteMatch;
  /** Name of a pool in `Config.pools`. */
  pool: string;
}

export interface ListenAddress {
  /**
   * tcp: detect TLS/HTTP/other when routing by host; http: HTTP/1.1 only; https: TLS
   * terminated by vane (certificates from `Config.tls`), then HTTP/1.1; udp: datagrams.
   */
  protocol: "tcp" | "http" | "https" | "udp";
  host: string;
  port: number;
  /** As written by the operator, for status and logs. */
  raw: string;
}

export interface ListenerConfig {
  address: ListenAddress;
  routes: RouteConfig[];
  /**
   * Peers (CIDRs as written, e.g. `10.0.0.0/8`) whose connections start with a PROXY
   * protocol header (v1 or v2); its address then stands for the client everywhere.
   */
  acceptProxy: string[];
}

export interface TimeoutsConfig {
  connectMs: number;
  idleMs: number;
  graceMs: number;
  /** A UDP session with no datagram either way for this long is closed. */
  udpIdleMs: number;
  /** HTTP: no response head from the target this long after the request -> 504. */
  upstreamMs: number;
}

export interface Config {
  listeners: ListenerConfig[];
  pools: Record<string, PoolConfig>;
  /** Static node registry: node name -> its addresses. */
  nodes: Record<string, string[]>;
  timeouts: TimeoutsConfig;
  /** Status endpoint address, or null when `--status off`. */
  status: { host: string; port: number } | null;
  log: { format: "text" | "json" };
  /** Certificates for https:// listeners, chosen by SNI; the first is the default. */
  tls: Array<{ certPath: string; keyPath: string }>;
  /** DNS server to ask instead of the system's (`HOST:PORT`), like nginx's `resolver`. */
  resolver: { host: string; port: number } | null;
}

export const DEFAULT_HEALTH: HealthConfig = {
  check: "tcp",
  intervalMs: 2_000,
  timeoutMs: 1_000,
  rise: 2,
  fall: 3,
};

export const DEFAULT_TIMEOUTS: TimeoutsConfig = {
  connectMs: 5_000,
  idleMs: 10 * 60_000,
  graceMs: 10_000,
  udpIdleMs: 30_000,
  upstreamMs: 60_000,
};

/**
 * Parsers for addresses as operators write them: upstream targets, listen and bind
 * addresses, IP literals, host names and route matches. They know nothing about
 * where the text came from (CLI flag, YAML file): errors are ConfigErrors whose
 * message says what was expected and what was found, and the caller adds the source.
 */
import { ConfigError } from "./errors.ts";
import type { EndpointSpec, EtcdTargetSpec, ListenAddress, RouteMatch, SrvTargetSpec, TargetSpec } from "./model.ts";

/** Quotes operator text for messages; JSON escaping keeps the message on one line. */
export const q = (text: string): string => JSON.stringify(text);

export const TARGET_EXPECTED =
  "a target like 10.0.0.1:80, [::1]:80, db.internal:5432, node:NAME:PORT, srv:_api._tcp.example.com or etcd:/services/api";
export const ETCD_TARGET_EXPECTED = "etcd:/PREFIX like etcd:/services/api";
export const SRV_EXPECTED = "srv:_SERVICE._PROTO.NAME like srv:_api._tcp.example.com";
export const MAX_WEIGHT = 256;

/** Names of pools and nodes: safe in logs, status output and YAML keys. */
const NAME_RE = /^[A-Za-z0-9_.-]+$/;

export function isValidName(text: string): boolean {
  return NAME_RE.test(text);
}

/**
 * Pool names in a config file: anything printable without spaces, ":" or "," (which
 * would read as a target list in `proxy:`), so the pools the one-liner names after its
 * routes (`api.example.com/v1`, `*.example.com`, `default#2`) print and load back.
 */
// deno-lint-ignore no-control-regex -- control characters are exactly what a name must not hold
const POOL_NAME_RE = /^[^\s:,\x00-\x1f\x7f]{1,200}$/;
export const POOL_NAME_EXPECTED = 'name without spaces, ":" or ","';

export function isPoolName(text: string): boolean {
  return POOL_NAME_RE.test(text);
}

/** Dotted quad, each part 0-255. Leading zeros are refused: some resolvers read them as octal. */
export function isIPv4(text: string): boolean {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

/** Hex groups with at most one "::", optionally ending in an IPv4 tail. No zone ids (%eth0). */
export function isIPv6(text: string): boolean {
  let s = text;
  const lastColon = s.lastIndexOf(":");
  if (lastColon < 0) return false;
  if (s.includes(".", lastColon)) {
    // ::ffff:1.2.3.4 — the IPv4 tail stands for the last two groups.
    if (!isIPv4(s.slice(lastColon + 1))) return false;
    s = s.slice(0, lastColon + 1) + "0:0";
  }
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const groupsOf = (h: string) => (h === "" ? [] : h.split(":"));
  const groups = halves.flatMap(groupsOf);
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  // With "::" at least one group is compressed away, so at most 7 remain.
  return halves.length === 2 ? groups.length <= 7 : groups.length === 8;
}

/**
 * An IP literal as given to --node or a YAML node list: IPv4, or IPv6 with or without
 * brackets. Returns it normalised (IPv6 lowercased, brackets removed).
 */
export function parseIp(text: string): string {
  if (isIPv4(text)) return text;
  const inner = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  if (isIPv6(inner)) return inner.toLowerCase();
  throw new ConfigError(`expected an IP address like 10.0.0.1 or ::1; got ${q(text)}`);
}

/** One DNS label: 1-63 letters, digits or hyphens, not starting or ending with a hyphen. */
const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Validates a DNS host name; returns it lowercased without a trailing dot. */
export function parseHostname(text: string): string {
  let host = text.toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  const ok = host !== "" && host.length <= 253 && host.split(".").every((l) => LABEL_RE.test(l));
  if (!ok) {
    throw new ConfigError(
      `expected a host name (letters, digits, hyphens and dots; labels of 1-63 characters); got ${q(text)}`,
    );
  }
  return host;
}

export interface HostPortOptions {
  /** Lowest port accepted: 1 for targets (default), 0 for listeners (0 = ephemeral). */
  minPort?: number;
  /** Accept ":PORT" and read it as all interfaces, "0.0.0.0". */
  allowEmptyHost?: boolean;
  /** Refuse DNS names (e.g. for a DNS server address, which cannot itself need DNS). */
  ipOnly?: boolean;
}

export interface HostPort {
  host: string;
  port: number;
  kind: "ip" | "dns";
}

function parsePort(portText: string, whole: string, minPort: number): number {
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= minPort && port <= 65535)) {
    throw new ConfigError(`expected a port ${minPort}..65535; got ${q(portText)} in ${q(whole)}`);
  }
  return port;
}

/**
 * Splits `HOST:PORT` or `[IPv6]:PORT` and validates both halves. The host comes back
 * normalised: IPv6 without brackets, DNS names lowercased without a trailing dot.
 */
export function parseHostPort(text: string, opts: HostPortOptions = {}): HostPort {
  const minPort = opts.minPort ?? 1;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") {
      throw new ConfigError(`expected [IPv6]:PORT; got ${q(text)}`);
    }
    const inner = text.slice(1, close);
    if (!isIPv6(inner)) throw new ConfigError(`expected an IPv6 address inside [ ]; got ${q(inner)} in ${q(text)}`);
    return { host: inner.toLowerCase(), port: parsePort(text.slice(close + 2), text, minPort), kind: "ip" };
  }
  // The port is after the LAST colon; a colon left in the host means bare IPv6.
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw new ConfigError(`expected HOST:PORT; got ${q(text)} (no port)`);
  const hostText = text.slice(0, colon);
  if (hostText.includes(":")) {
    throw new ConfigError(`expected HOST:PORT with IPv6 in brackets, e.g. [::1]:80; got ${q(text)}`);
  }
  const port = parsePort(text.slice(colon + 1), text, minPort);
  if (hostText === "") {
    if (opts.allowEmptyHost) return { host: "0.0.0.0", port, kind: "ip" };
    throw new ConfigError(`expected a host before the port; got ${q(text)}`);
  }
  // All digits and dots can only be meant as IPv4: "1.2.3" is a typo, not a DNS name.
  if (/^[\d.]+$/.test(hostText)) {
    if (!isIPv4(hostText)) {
      throw new ConfigError(`expected an IPv4 address (four numbers 0-255); got ${q(hostText)} in ${q(text)}`);
    }
    return { host: hostText, port, kind: "ip" };
  }
  if (opts.ipOnly) throw new ConfigError(`expected an IP address, not a host name; got ${q(hostText)} in ${q(text)}`);
  return { host: parseHostname(hostText), port, kind: "dns" };
}

/**
 * One target: `IP:PORT`, `[IPv6]:PORT`, `DNSNAME:PORT` or `node:NAME:PORT`, each with
 * an optional `@WEIGHT` (0..256, default 1), `srv:_service._proto.name` or
 * `etcd:/PREFIX`. `raw` is the text without the weight.
 */
export function parseTarget(text: string): TargetSpec {
  const lower = text.toLowerCase();
  if (lower.startsWith("srv:")) return parseSrvTarget(text);
  return lower.startsWith("etcd:") ? parseEtcdTarget(text) : parseEndpoint(text);
}

/**
 * `etcd:/PREFIX`: the services registered under the key prefix. No `@WEIGHT`: each value
 * carries its own. The prefix comes back ending with "/", so `/services/api` does not
 * also take `/services/api-old`.
 */
export function parseEtcdTarget(text: string): EtcdTargetSpec {
  const rest = text.slice(5);
  if (rest.includes("@")) {
    throw new ConfigError(`expected no @WEIGHT on an etcd: target (each registered value carries one); got ${q(text)}`);
  }
  if (!/^\/[^\s,]*[^\s,/][^\s,]*$/.test(rest)) {
    throw new ConfigError(`expected ${ETCD_TARGET_EXPECTED}; got ${q(text)}`);
  }
  const prefix = rest.replace(/\/*$/, "/");
  return { kind: "etcd", prefix, weight: 1, raw: `etcd:${prefix}` };
}

/** A target that is one place to connect to: as parseTarget, `srv:` names excepted. */
export function parseEndpoint(text: string): EndpointSpec {
  let raw = text;
  let weight = 1;
  const at = text.lastIndexOf("@");
  if (at >= 0) {
    raw = text.slice(0, at);
    const w = text.slice(at + 1);
    weight = /^\d{1,3}$/.test(w) ? Number(w) : NaN;
    if (!(weight <= MAX_WEIGHT)) {
      throw new ConfigError(`expected a weight 0..${MAX_WEIGHT} after "@"; got ${q(w)} in ${q(text)}`);
    }
  }
  if (raw === "") throw new ConfigError(`expected ${TARGET_EXPECTED}; got ${q(text)}`);
  // "node:80" is the DNS host "node"; only a second colon makes it node:NAME:PORT.
  if (raw.startsWith("node:") && !/^\d*$/.test(raw.slice(5))) {
    const rest = raw.slice(5);
    const colon = rest.lastIndexOf(":");
    const node = colon < 0 ? "" : rest.slice(0, colon);
    if (!isValidName(node)) {
      throw new ConfigError(`expected node:NAME:PORT (NAME of letters, digits, "-", "_", "."); got ${q(raw)}`);
    }
    return { kind: "node", node, port: parsePort(rest.slice(colon + 1), raw, 1), weight, raw };
  }
  const { host, port, kind } = parseHostPort(raw);
  return { kind, host, port, weight, raw };
}

/** An SRV service label (`_api`, `_tcp`): "_" then a DNS label. */
const SRV_LABEL_RE = /^_[a-z0-9](?:[a-z0-9-]{0,60}[a-z0-9])?$/;

/**
 * `srv:_service._proto.name` (RFC 2782). No port and no `@WEIGHT`: each record brings
 * its own. The name comes back lowercased without a trailing dot.
 */
export function parseSrvTarget(text: string): SrvTargetSpec {
  const rest = text.slice(4);
  if (rest.includes("@")) {
    throw new ConfigError(`expected no @WEIGHT on an srv: target (its records carry the weights); got ${q(text)}`);
  }
  const name = rest.toLowerCase().replace(/\.$/, "");
  const labels = name.split(".");
  const ok = labels.length >= 3 && SRV_LABEL_RE.test(labels[0]) && SRV_LABEL_RE.test(labels[1]);
  if (!ok) throw new ConfigError(`expected ${SRV_EXPECTED}; got ${q(text)}`);
  const domain = labels.slice(2).join(".");
  if (/:\d*$/.test(domain)) {
    throw new ConfigError(`expected no port on an srv: target (its records carry the ports); got ${q(text)}`);
  }
  try {
    parseHostname(domain);
  } catch {
    throw new ConfigError(`expected ${SRV_EXPECTED} (NAME a host name); got ${q(text)}`);
  }
  return { kind: "srv", name, weight: 1, raw: `srv:${name}` };
}

/** A comma-separated list of targets; spaces around items are ignored, empty items are not. */
export function parseTargetList(text: string): TargetSpec[] {
  if (text.trim() === "") throw new ConfigError(`expected a comma-separated list of targets; got ${q(text)}`);
  const list = text.split(",").map((item) => {
    const t = item.trim();
    if (t === "") throw new ConfigError(`expected a comma-separated list of targets; got an empty item in ${q(text)}`);
    return parseTarget(t);
  });
  // Health is kept per target of a pool: the same target twice would be one target
  // counted twice. A heavier share is what @WEIGHT is for.
  const seen = new Set<string>();
  for (const t of list) {
    if (seen.has(t.raw)) {
      throw new ConfigError(
        `expected each target once per list (use @WEIGHT for a larger share); got ${q(t.raw)} twice`,
      );
    }
    seen.add(t.raw);
  }
  return list;
}

/** `HOST:PORT`, `:PORT` (all interfaces) or `[IPv6]:PORT`, port 0..65535, no scheme. */
export function parseBindAddress(text: string): { host: string; port: number } {
  if (text.includes("://")) {
    throw new ConfigError(`expected HOST:PORT, :PORT or [IPv6]:PORT without a scheme; got ${q(text)}`);
  }
  const { host, port } = parseHostPort(text, { minPort: 0, allowEmptyHost: true });
  return { host, port };
}

/** A listener: `[tcp://]HOST:PORT`, `:PORT` or `[IPv6]:PORT`. `raw` keeps the text as written. */
export function parseListen(text: string): ListenAddress {
  let rest = text;
  let protocol: ListenAddress["protocol"] = "tcp";
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (scheme) {
    const name = scheme[1].toLowerCase();
    if (name !== "tcp" && name !== "udp" && name !== "http" && name !== "https") {
      throw new ConfigError(
        `expected a tcp://, http://, https:// or udp:// listener; got scheme ${q(scheme[1] + "://")} in ${q(text)}`,
      );
    }
    protocol = name;
    rest = text.slice(scheme[0].length);
  }
  return { protocol, ...parseBindAddress(rest), raw: text };
}

/**
 * What a route matches: `*`, `host`, `*.suffix`, optionally followed by `/path-prefix`
 * (not after a bare `*`, which the model cannot express). Hosts are normalised like
 * targets; the path prefix keeps its leading "/".
 */
export function parseRouteMatch(text: string): RouteMatch {
  if (text === "*") return { kind: "any" };
  const slash = text.indexOf("/");
  const hostText = slash < 0 ? text : text.slice(0, slash);
  const pathPrefix = slash < 0 ? undefined : text.slice(slash);
  if (pathPrefix !== undefined && !/^\/[^\s?#]*$/.test(pathPrefix)) {
    throw new ConfigError(
      `expected a path prefix like /api (no spaces, "?" or "#"); got ${q(pathPrefix)} in ${q(text)}`,
    );
  }
  if (hostText === "*") {
    throw new ConfigError(`expected "*" alone (a path needs a host or *.suffix before it); got ${q(text)}`);
  }
  const withPath = pathPrefix === undefined ? {} : { pathPrefix };
  if (hostText.startsWith("*.")) {
    return { kind: "wildcard", suffix: parseHostname(hostText.slice(2)), ...withPath };
  }
  if (hostText.includes("*")) {
    throw new ConfigError(`expected *, HOST or *.SUFFIX, each optionally followed by /PATH; got ${q(text)}`);
  }
  return { kind: "host", host: parseHostname(hostText), ...withPath };
}

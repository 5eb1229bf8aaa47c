/**
 * What `tls.acme` (`--acme`) means for the rest of the config: the names to obtain
 * certificates for (every exact host an https:// listener's flow names), the wildcard
 * names it cannot obtain yet (they need DNS-01), and the http://:80 listener that
 * answers HTTP-01 and sends everything else to HTTPS (308), added when the config has
 * no http:// listener and http-01 may be used.
 */
import type { Condition, Config, ListenerConfig, Matcher, Rule } from "./model.ts";
import { HOST_KEYS } from "./model.ts";
import { httpsRedirectFlow } from "./https-redirect.ts";
import { parseListen, q } from "./target.ts";
import { ConfigError } from "./errors.ts";

/** The hosts https:// listeners route by name: exact names, and wildcard patterns apart. */
export function acmeNames(config: Pick<Config, "listeners">): { names: string[]; wildcards: string[] } {
  const names = new Set<string>();
  const wildcards = new Set<string>();
  const add = (host: string) => {
    const h = host.trim().toLowerCase().replace(/\.$/, "");
    if (h === "" || h === "*" || /^[\d.]+$/.test(h) || h.includes(":")) return; // any host, or an IP
    if (/[*?]/.test(h)) wildcards.add(h);
    else names.add(h);
  };
  for (const l of config.listeners) {
    if (l.address.protocol === "https") walkRules(l.flow, add);
  }
  return { names: [...names].sort(), wildcards: [...wildcards].sort() };
}

function walkRules(rules: readonly Rule[], add: (host: string) => void): void {
  for (const r of rules) {
    if (r.when) walkCondition(r.when, add);
    const a = r.action;
    if (a.kind === "flow") walkRules(a.rules, add);
    if (a.kind === "plugin") { for (const b of Object.values(a.branches)) walkRules(b, add); }
  }
}

function walkCondition(c: Condition, add: (host: string) => void): void {
  if (c.kind === "key") {
    if (HOST_KEYS.includes(c.key)) walkMatcher(c.matcher, add);
  } else if (c.kind !== "not") { for (const x of c.of) walkCondition(x, add); }
}

function walkMatcher(m: Matcher, add: (host: string) => void): void {
  if (m.op === "equals") add(m.value);
  else if (m.op === "glob") add(m.pattern);
  else if (m.op === "in") m.values.forEach(add);
  else if (m.op === "any" || m.op === "all") { for (const x of m.of) walkMatcher(x, add); }
}

/** Whether `tls.acme` may prove names by HTTP-01 (not when it is told tls-alpn-01 only). */
export function acmeUsesHttp(config: Pick<Config, "acme">): boolean {
  return config.acme !== undefined && config.acme.challenge !== "tls-alpn-01";
}

/**
 * The listeners with an http://:80 one added for HTTP-01 (everything else on it is
 * redirected to HTTPS with 308), when ACME may use HTTP-01 and no http:// listener exists.
 */
export function withAcmeHttpListener(config: Pick<Config, "acme" | "listeners">): ListenerConfig[] {
  const ls = config.listeners;
  if (!acmeUsesHttp(config) || ls.some((l) => l.address.protocol === "http")) return ls;
  if (ls.some((l) => l.address.protocol !== "udp" && l.address.port === 80)) return ls;
  const https = ls.find((l) => l.address.protocol === "https");
  if (!https) return ls;
  return [...ls, {
    address: parseListen("http://:80"),
    flow: httpsRedirectFlow(https.address.port),
    acceptProxy: [],
    tls: [],
  }];
}

export const ACME_EMAIL_EXPECTED = "an email address like you@example.com";
export const ACME_DIRECTORY_EXPECTED = "an https:// URL of an ACME directory";

/** The ACME account's contact: one address, no `mailto:`. */
export function parseAcmeEmail(text: string): string {
  if (!/^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/.test(text)) {
    throw new ConfigError(`expected ${ACME_EMAIL_EXPECTED}; got ${q(text)}`);
  }
  return text;
}

export function parseAcmeDirectory(text: string): string {
  let u: URL | null = null;
  try {
    u = new URL(text);
  } catch { /* reported below */ }
  if (!u || u.protocol !== "https:") throw new ConfigError(`expected ${ACME_DIRECTORY_EXPECTED}; got ${q(text)}`);
  return text;
}

/** Why a wildcard cannot be obtained, as the one-line message both sources give. */
export function wildcardMessage(name: string): string {
  return `cannot obtain a certificate for ${
    q(name)
  } by ACME: a wildcard needs the DNS-01 challenge, which vane does not support yet (give its certificate with tls, or route exact names)`;
}

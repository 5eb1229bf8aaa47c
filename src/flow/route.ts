/**
 * Route choice. The most specific route wins: an exact host, then the longest
 * wildcard suffix, then `*`; within one host, the longest path prefix. When a host
 * has routes but none of their path prefixes fits the request, the choice falls
 * through to the less specific hosts, so `api.example.com/v1=A --route '*=B'` sends
 * api.example.com/other to B. Path prefixes compare as plain string prefixes, as
 * nginx's `location /v1` does.
 *
 * The table is built once per listener; a lookup only walks the labels of the host.
 */
import type { RouteConfig } from "../config/model.ts";

/** Routes of one host or one wildcard suffix, longest path prefix first. */
type Tier = RouteConfig[];

function byPrefixLength(a: RouteConfig, b: RouteConfig): number {
  return prefixOf(b).length - prefixOf(a).length;
}

function prefixOf(r: RouteConfig): string {
  return r.match.kind === "any" ? "" : r.match.pathPrefix ?? "";
}

/** Lowercase, without port and trailing dot: `API.Example.com.:8443` -> `api.example.com`. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(":");
  // One colon is a port; more than one is a bare IPv6 literal, kept whole.
  if (colon >= 0 && h.indexOf(":") === colon) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

export class RouteTable {
  readonly #exact = new Map<string, Tier>();
  readonly #wildcard = new Map<string, Tier>();
  readonly #any: Tier = [];

  constructor(readonly routes: readonly RouteConfig[]) {
    for (const r of routes) {
      const m = r.match;
      const tier = m.kind === "any"
        ? this.#any
        : m.kind === "host"
        ? getOrCreate(this.#exact, m.host)
        : getOrCreate(this.#wildcard, m.suffix);
      tier.push(r);
    }
    for (const tier of [...this.#exact.values(), ...this.#wildcard.values()]) tier.sort(byPrefixLength);
  }

  /** Whether any route names a host, so connections are worth inspecting for one. */
  get hasHostRoutes(): boolean {
    return this.#exact.size > 0 || this.#wildcard.size > 0;
  }

  /** Whether any route could match without a host (raw TCP, TLS without SNI). */
  get hasCatchAll(): boolean {
    return this.#any.length > 0;
  }

  /**
   * A route for a whole connection: raw TCP (host null) or TLS by SNI. Routes with a
   * path prefix need an HTTP request and are not considered.
   */
  matchConnection(host: string | null): RouteConfig | null {
    return this.#match(host, null);
  }

  /** A route for one HTTP request. */
  matchRequest(host: string | null, path: string): RouteConfig | null {
    return this.#match(host, path);
  }

  #match(rawHost: string | null, path: string | null): RouteConfig | null {
    if (rawHost) {
      const host = normalizeHost(rawHost);
      const exact = this.#exact.get(host);
      const hit = exact && pick(exact, path);
      if (hit) return hit;
      // Longest wildcard first: walk the suffixes from the host's parent upward.
      for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".", dot + 1)) {
        const tier = this.#wildcard.get(host.slice(dot + 1));
        const found = tier && pick(tier, path);
        if (found) return found;
      }
    }
    return this.#any[0] ?? null;
  }
}

/** The first route of a tier (longest prefix first) whose prefix fits; null path = no path routes. */
function pick(tier: Tier, path: string | null): RouteConfig | null {
  for (const r of tier) {
    const prefix = prefixOf(r);
    if (prefix === "") return r;
    if (path !== null && path.startsWith(prefix)) return r;
  }
  return null;
}

function getOrCreate(map: Map<string, Tier>, key: string): Tier {
  let tier = map.get(key);
  if (!tier) map.set(key, (tier = []));
  return tier;
}

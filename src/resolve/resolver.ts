/**
 * Target resolution: a configured target to the addresses to connect to. IP literals
 * are themselves, DNS names go through the cache, `node:NAME` through the node
 * registry (static today; API, SRV and etcd registries plug in behind NodeRegistry).
 */
import type { EndpointSpec } from "../config/model.ts";
import type { DnsCache } from "./dns-cache.ts";

export interface NodeRegistry {
  addresses(node: string): string[] | null;
}

export class StaticNodeRegistry implements NodeRegistry {
  readonly #nodes: Record<string, string[]>;
  constructor(nodes: Record<string, string[]>) {
    this.#nodes = nodes;
  }
  addresses(node: string): string[] | null {
    return Object.hasOwn(this.#nodes, node) ? this.#nodes[node] : null;
  }
}

export interface Resolution {
  addresses: string[];
  /** Why there are no addresses, when there are none. */
  error: string | null;
}

const PENDING: Resolution = { addresses: [], error: "not resolved yet" };

export class TargetResolver {
  readonly #literal = new WeakMap<EndpointSpec, Resolution>();

  readonly #dns: DnsCache;
  readonly #nodes: NodeRegistry;
  constructor(dns: DnsCache, nodes: NodeRegistry) {
    this.#dns = dns;
    this.#nodes = nodes;
  }

  /** What is known now, without waiting (the data path). */
  current(spec: EndpointSpec): Resolution {
    switch (spec.kind) {
      case "ip": {
        // Asked per request: made once per target (a spec never changes).
        let known = this.#literal.get(spec);
        if (known === undefined) this.#literal.set(spec, known = { addresses: [spec.host], error: null });
        return known;
      }
      case "node":
        return this.#node(spec.node);
      case "dns": {
        const entry = this.#dns.peek(spec.host);
        return entry ?? PENDING;
      }
    }
  }

  /** Fresh resolution, waiting for DNS when the cache is empty or stale (checks, start-up). */
  async fresh(spec: EndpointSpec): Promise<Resolution> {
    if (spec.kind !== "dns") return this.current(spec);
    const entry = await this.#dns.get(spec.host);
    return { addresses: entry.addresses, error: entry.error };
  }

  #node(name: string): Resolution {
    const addresses = this.#nodes.addresses(name);
    if (!addresses || addresses.length === 0) return { addresses: [], error: `node "${name}" has no addresses` };
    return { addresses, error: null };
  }
}

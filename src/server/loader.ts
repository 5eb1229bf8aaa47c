/**
 * Turns a config into the next generation (server/generation.ts), at start and at each
 * reload: the resolver (the DNS and SRV caches are kept across reloads unless `resolver`
 * changes; /etc/hosts and, for SRV, /etc/resolv.conf are read once), the admin token the config names, then the
 * warnings a load deserves. Nothing is put in service here: see server/reload.ts.
 */
import type { Config } from "../config/model.ts";
import type { VaneContext } from "./context.ts";
import { Generation } from "./generation.ts";
import { DnsCache } from "../resolve/dns-cache.ts";
import { type HostsTable, loadHosts } from "../resolve/hosts.ts";
import { StaticNodeRegistry, TargetResolver } from "../resolve/resolver.ts";
import { formatAddress } from "../config/address.ts";
import { SrvCache } from "../resolve/srv-cache.ts";
import { parseResolvConf, srvLookup } from "../resolve/srv-query.ts";
import type { SocketAddress } from "../runtime/types.ts";
import { readAdminToken } from "../control/token.ts";
import { udpOnlyPools } from "../config/udp-pools.ts";

export class GenerationLoader {
  readonly #ctx: VaneContext;
  #hosts: HostsTable | null = null;
  #dns: { cache: DnsCache; srv: SrvCache; server: string } | null = null;
  /** The system's DNS servers (/etc/resolv.conf), read on the first SRV lookup without `resolver`. */
  #systemServers: Promise<SocketAddress[]> | null = null;
  /** The admin token each generation read (from `token`, `token-file` or options.adminToken). */
  readonly #adminTokens = new WeakMap<Generation, string | null>();

  constructor(ctx: VaneContext) {
    this.#ctx = ctx;
  }

  /** Builds the generation after the running one from `config`, then says its warnings. */
  async load(config: Config): Promise<Generation> {
    const next = await this.#build(config);
    this.#warn(config);
    return next;
  }

  /** The admin token `gen` read; null when it has none. */
  adminToken(gen: Generation | null): string | null {
    return (gen && this.#adminTokens.get(gen)) ?? null;
  }

  async #build(config: Config): Promise<Generation> {
    const { rt, log, registry, upstreams, h2Upstreams, functions, options } = this.#ctx;
    this.#hosts ??= await loadHosts(rt.readTextFile);
    const dns = this.#dnsFor(config);
    const resolver = new TargetResolver(dns.cache, new StaticNodeRegistry(config.nodes));
    const token = config.control.listen === null
      ? { ok: true as const, token: null }
      : await readAdminToken(config.control, (path) => rt.readTextFile(path), options.adminToken ?? null);
    if (!token.ok) throw new Error(`control.token-file: ${token.reason}`);
    const id = (this.#ctx.gen?.id ?? 0) + 1;
    const next = await Generation.build(id, config, {
      rt,
      log,
      registry,
      resolver,
      srv: dns.srv,
      upstreams,
      h2Upstreams,
      functions,
      rates: options.cluster?.rates,
      redisRates: this.#ctx.redisRates,
    });
    this.#adminTokens.set(next, token.token);
    return next;
  }

  /** The DNS and SRV caches, kept across reloads unless the resolver changes. */
  #dnsFor(config: Config): { cache: DnsCache; srv: SrvCache } {
    const rt = this.#ctx.rt;
    const server = config.resolver ? formatAddress(config.resolver.host, config.resolver.port) : "";
    if (this.#dns && this.#dns.server === server) return this.#dns;
    const addr = config.resolver ? { hostname: config.resolver.host, port: config.resolver.port } : undefined;
    const srvServers = addr ? () => Promise.resolve([addr]) : () => this.#systemServers ??= this.#readResolvConf();
    this.#dns = {
      cache: new DnsCache((name, type) => rt.resolveDns(name, type, addr), this.#hosts!),
      srv: new SrvCache(srvLookup(rt, srvServers)),
      server,
    };
    return this.#dns;
  }

  async #readResolvConf(): Promise<SocketAddress[]> {
    const text = await this.#ctx.rt.readTextFile("/etc/resolv.conf").catch(() => "");
    return parseResolvConf(text);
  }

  #warn(config: Config): void {
    const ctx = this.#ctx;
    for (const l of config.listeners) {
      if (l.address.protocol === "https" && l.acceptProxy.length > 0) {
        ctx.log.warn("accept-proxy is not applied to https:// listeners", { listener: l.address.raw });
      }
    }
    // Said once per load: a UDP pool is either unchecked (the default) or judged by TCP.
    // Workers that share UDP listeners leave it to the primary.
    for (const name of udpOnlyPools(config.listeners)) {
      const check = config.pools[name]?.health.check;
      if (check === "none") {
        ctx.primaryInfo("UDP pool: no active health check runs; its targets count as up", { pool: name });
      } else if (check) {
        ctx.primaryWarn(`UDP pool: the ${check} check judges its targets by TCP, not by the UDP service it proxies`, {
          pool: name,
          check,
        });
      }
    }
  }
}

/**
 * The listeners the flags describe: --listen, with --route's rules as every
 * listener's flow and --accept-proxy's peers.
 */
import type { Config, ListenerConfig, RouteConfig } from "../config/model.ts";
import { parseListen } from "../config/target.ts";
import { CliError } from "./errors.ts";
import { DEFAULT_LISTEN, type Values } from "./flags.ts";
import { forFlag } from "./flag-values.ts";
import { routesToFlow } from "./routes-to-flow.ts";
import { httpsRedirectFlow } from "../config/https-redirect.ts";

/**
 * Listeners from --listen, --route and --accept-proxy. Over a file: --route replaces
 * every listener's flow, --accept-proxy every listener's trusted peers, and --listen
 * the address of a file with one listener (with several, which one would be meant?).
 */
export function buildListeners(
  v: Values,
  base: Config | null,
  routes: RouteConfig[] | null,
  acceptProxy: string[] | undefined,
  /** --allow and --deny, for every listener of the command line or the file. */
  filter: { allow?: string[]; deny?: string[]; maxConnsPerClient?: number } = {},
): ListenerConfig[] {
  const flow = routes ? routesToFlow(routes) : null;
  // Datagrams carry no host: a UDP listener takes the routes without one (`*`).
  const flowFor = (protocol: string) => (flow && protocol === "udp" ? flow.filter((r) => r.when === null) : flow);
  let listeners: ListenerConfig[];
  if (base === null || v.listen !== undefined) {
    if (base !== null && base.listeners.length > 1) {
      throw new CliError(
        `--listen: expected a config file with one listener to override; it has ${base.listeners.length} (edit them in the file)`,
      );
    }
    const template = base?.listeners[0];
    listeners = (v.listen ?? [DEFAULT_LISTEN]).map((text) => {
      const address = forFlag("listen", () => parseListen(text));
      const rules = flowFor(address.protocol);
      return {
        address,
        flow: structuredClone(rules ?? template!.flow),
        acceptProxy: [...(template?.acceptProxy ?? [])],
        tls: structuredClone(template?.tls ?? []),
      };
    });
  } else {
    listeners = base.listeners.map((l) => {
      const rules = flowFor(l.address.protocol);
      return { ...structuredClone(l), ...(rules ? { flow: structuredClone(rules) } : {}) };
    });
  }
  if (acceptProxy) { for (const l of listeners) l.acceptProxy = [...acceptProxy]; }
  for (const l of listeners) {
    if (filter.allow) l.allow = [...filter.allow];
    if (filter.deny) l.deny = [...filter.deny];
    if (filter.maxConnsPerClient !== undefined) l.maxConnsPerClient = filter.maxConnsPerClient;
  }
  if (v["redirect-http"]) listeners.push(redirectListener(listeners));
  return listeners;
}

/**
 * --redirect-http: an http://:80 listener that sends every request to the same URL
 * over HTTPS (to the https:// listener's port); refused when port 80 is taken already.
 */
function redirectListener(listeners: readonly ListenerConfig[]): ListenerConfig {
  const https = listeners.find((l) => l.address.protocol === "https");
  if (!https) throw new CliError("--redirect-http: expected an https:// listener to send requests to; got none");
  if (listeners.some((l) => l.address.protocol !== "udp" && l.address.port === 80)) {
    throw new CliError("--redirect-http: port 80 is taken by another listener already");
  }
  return {
    address: parseListen("http://:80"),
    flow: httpsRedirectFlow(https.address.port),
    acceptProxy: [],
    tls: [],
  };
}

/**
 * Route choice at L4. A raw TCP connection carries no host, so only the `*` route
 * applies; host and path routes are parsed already and wait for protocol detection.
 */
import type { RouteConfig } from "../config/model.ts";

export function l4Route(routes: readonly RouteConfig[]): RouteConfig | null {
  return routes.find((r) => r.match.kind === "any") ?? null;
}

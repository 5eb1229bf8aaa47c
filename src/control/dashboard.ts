/**
 * `GET /` on the status endpoint: the dashboard (docs/admin-api.md#dashboard). One
 * self-contained page (dashboard-page.ts) that reads /status, /pools, /metrics and
 * /events and drains through the admin API, all on this same origin.
 *
 * The CSP lets the page run only its own inline script and style (a fresh nonce per
 * response) and talk only to this origin: a value that slipped through as markup could
 * still not run or load anything, and the page cannot be framed (clickjacking the
 * drain buttons).
 */
import type { Hono } from "hono";
import type { HttpPeer } from "../runtime/types.ts";
import { dashboardPage } from "./dashboard-page.ts";

/** app.ts's ControlEnv, said again here to keep the import one way. */
type ControlEnv = { Bindings: Partial<HttpPeer> };

function nonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** The CSP for a page whose script and style carry `n`. */
export function dashboardCsp(n: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${n}'`,
    `style-src 'nonce-${n}'`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Adds `GET /` (and HEAD, by Hono) to `app`. */
export function addDashboard(app: Hono<ControlEnv>): void {
  app.get("/", (c) => {
    const n = nonce();
    return c.html(dashboardPage(n), 200, {
      "Content-Security-Policy": dashboardCsp(n),
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "X-Frame-Options": "DENY",
      "Referrer-Policy": "no-referrer",
    });
  });
}

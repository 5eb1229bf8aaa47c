/**
 * The flow of a listener that sends every request to HTTPS (`--redirect-http`, or a
 * listener's `redirect: https`): 308, the same host, path and query, over HTTPS on
 * `httpsPort` (left out when it is 443). 308 rather than 301 keeps the method and body
 * of a POST, as Caddy's automatic redirect does.
 */
import type { Rule } from "./model.ts";

export function httpsRedirectFlow(httpsPort: number): Rule[] {
  const origin = `https://{{req.host}}${httpsPort === 443 ? "" : `:${httpsPort}`}{{req.path}}`;
  return [
    // Without a query, no dangling "?".
    {
      when: { kind: "key", key: "req.query", matcher: { op: "equals", value: "" } },
      action: { kind: "redirect", status: 308, location: origin },
    },
    { when: null, action: { kind: "redirect", status: 308, location: `${origin}?{{req.query}}` } },
  ];
}

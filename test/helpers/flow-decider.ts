/**
 * An HTTP decider (src/flow/http-decide.ts) as one client connection has it, for unit
 * tests of what a flow decides request after request: routes A, B and C, and requests
 * parsed as the engine parses them.
 */
import type { CompiledFlow } from "../../src/flow/flow.ts";
import { ConnKeys } from "../../src/flow/conn-keys.ts";
import { decider } from "../../src/flow/http-decide.ts";
import { parseRequestHead, type RequestHead } from "../../src/detect/http-head.ts";
import { parseTarget, type RequestTarget } from "../../src/http/request-target.ts";
import type { Decision, HttpContext, HttpRoute } from "../../src/http/types.ts";

const ROUTES = new Map<string, HttpRoute>(["A", "B", "C"].map((name) => [name, { name, pool: name } as HttpRoute]));

/** The decider of one connection from 192.0.2.1:40000 to port 8080, over `flow`; an unknown pool has no route. */
export function connectionDecider(flow: CompiledFlow): HttpContext["decide"] {
  const facts = { ip: "192.0.2.1", port: 40000, listenerPort: 8080, protocol: "http" };
  return decider(
    flow,
    new ConnKeys(facts as ConstructorParameters<typeof ConnKeys>[0]),
    (p) => ROUTES.get(p) ?? null,
    404,
  );
}

/** A request head (`raw`, CRLF-ended lines and the empty one) and its target, as the engine parses them. */
export function parsedRequest(raw: string): { head: RequestHead; target: RequestTarget } {
  const parsed = parseRequestHead(new TextEncoder().encode(raw));
  if (parsed.status !== "ok") throw new Error(`bad head: ${JSON.stringify(parsed)}`);
  const target = parseTarget(parsed.head, "reject");
  if ("error" in target) throw new Error(target.reason);
  return { head: parsed.head, target };
}

/** The pool a proxy decision goes to, else the decision's kind (and status). */
export function poolOf(d: Decision): string {
  return d.kind === "proxy" ? d.route.pool : `${d.kind}${"status" in d ? ` ${d.status}` : ""}`;
}

/**
 * The engine's question "what to do with this request?", answered by a listener's
 * flow: proxy to a pool's route, answer (respond, redirect, 404/421, 429), or close.
 */
import type { CompiledFlow, FlowResult } from "./flow.ts";
import { type ConnKeys, requestKey, RequestKeys } from "./conn-keys.ts";
import type { KeyValue } from "./input.ts";
import type { RequestHead } from "../detect/http-head.ts";
import type { Decision, HttpContext, HttpRoute, RequestTarget } from "../http/types.ts";
import type { HeaderEdit } from "../http/headers.ts";
import type { Allowance } from "../config/model.ts";
import { statusFor } from "../http/failure-status.ts";

const TEXT = [["content-type", "text/plain; charset=utf-8"]] as const;
const NOTHING_ALLOWED: readonly Allowance[] = Object.freeze([]);

function text(status: number, message: string, response: readonly HeaderEdit[]): Decision {
  return { kind: "respond", status, headers: TEXT.map(([n, v]) => [n, v]), body: message + "\n", response };
}

export function decider(
  flow: CompiledFlow,
  conn: ConnKeys,
  routeFor: (pool: string) => HttpRoute | null,
  /** 421 when vane terminated the TLS: the SNI named a host not served this way (RFC 9110 §15.5.20). */
  noRouteStatus: 404 | 421,
): HttpContext["decide"] {
  // The connection's last proxy decision without edits, given again for the same rule
  // and route: nobody modifies a decision, and one per request was garbage.
  let plain: { outcome: FlowResult["outcome"]; decision: Extract<Decision, { kind: "proxy" }> } | null = null;
  const toDecision = (r: FlowResult): Decision => {
    const o = r.outcome;
    switch (o.kind) {
      case "proxy": {
        const route = routeFor(o.pool);
        // Config validation refuses unknown pools; this is the belt to its braces.
        if (!route) return text(statusFor("no-pool"), `no pool named ${o.pool}`, r.response);
        const noEdits = r.request.length === 0 && r.response.length === 0;
        if (noEdits && plain !== null && plain.outcome === o && plain.decision.route === route) return plain.decision;
        const decision = {
          kind: "proxy",
          route,
          request: r.request,
          response: r.response,
          allow: o.allow ?? NOTHING_ALLOWED,
        } as const;
        if (noEdits) plain = { outcome: o, decision };
        return decision;
      }
      case "respond":
        return { kind: "respond", status: o.status, headers: o.headers, body: o.body, response: r.response };
      case "abort":
        return { kind: "abort" };
      case "limited":
        return text(429, "too many requests", r.response);
      case "terminate":
        // Plain HTTP reached a rule meant for TLS (nginx says the same on its TLS ports).
        return text(400, "this address expects TLS", r.response);
      case "none":
        return text(
          noRouteStatus,
          noRouteStatus === 404 ? "no route for this request" : "misdirected request",
          r.response,
        );
    }
  };
  // The keys of an evaluation that answered at once are the next one's (nothing keeps
  // them once it has); one still under way (a promise) keeps its own.
  let spare: RequestKeys | null = null;
  const memo = flow.decidingKeys === null ? null : new DecisionMemo(flow.decidingKeys);
  return (head, target) => {
    const again = memo?.lookUp(conn, head, target) ?? null;
    if (again !== null) return again;
    const keys = spare?.of(head, target) ?? new RequestKeys(conn, head, target);
    spare = null;
    const r = flow.runNow(keys);
    if (r instanceof Promise) return r.then(toDecision);
    spare = keys;
    const decision = toDecision(r);
    // Only a proxy decision is kept: the others are rare, and made anew per request.
    if (memo !== null && decision.kind === "proxy") memo.keep(conn, head, target, decision);
    return decision;
  };
}

/**
 * A connection's last proxy decision, with the values of the keys that decided it (a
 * flow's decidingKeys): a request with the same values gets the same decision without
 * the rules being run again. Most connections send every request to one host, and a
 * flow of many host rules costs per rule tried (docs/benchmarks.md, "A route table's
 * cost, kept per connection").
 */
class DecisionMemo {
  readonly #keys: readonly string[];
  /** The values the kept decision was made for, in the order of #keys. */
  readonly #values: KeyValue[];
  #decision: Decision | null = null;

  constructor(keys: readonly string[]) {
    this.#keys = keys;
    this.#values = new Array(keys.length);
  }

  /** The kept decision, if the request has the values it was made for; else null. */
  lookUp(conn: ConnKeys, head: RequestHead, target: RequestTarget): Decision | null {
    const decision = this.#decision;
    if (decision === null) return null;
    const keys = this.#keys;
    // Equal strings are the same value; an array (tls.alpn) only when it is the same
    // one (a connection's own): a miss costs one evaluation, never a wrong answer.
    for (let i = 0; i < keys.length; i++) {
      if (requestKey(conn, head, target, keys[i]) !== this.#values[i]) return null;
    }
    return decision;
  }

  keep(conn: ConnKeys, head: RequestHead, target: RequestTarget, decision: Decision): void {
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) this.#values[i] = requestKey(conn, head, target, keys[i]);
    this.#decision = decision;
  }
}

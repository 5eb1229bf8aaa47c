/**
 * The HTTP engine's side of the access log, request ids and trace context: called only
 * where the access log is on (HttpContext.access), so that with it off a request
 * costs a null check at each of these points and nothing else.
 *
 * Request id: a request's `X-Request-Id` is kept; one without gets one (nginx's
 * $request_id, Envoy's x-request-id), sent to the target and logged; it is not added
 * to the response (Envoy's default too). Trace context (W3C): a valid `traceparent`
 * goes on with the same trace id and flags and a new parent id, vane's span; without
 * one (or with an invalid one) a trace starts only when `trace` is on.
 */
import type { Fields } from "../detect/http-fields.ts";
import type { RequestHead } from "../detect/http-head.ts";
import type { AccessEntry } from "../telemetry/access-entry.ts";
import type { AccessLog } from "../telemetry/access-log.ts";
import { parseTraceParent, spanId, traceId, traceParentValue } from "../telemetry/request-id.ts";
import type { Header } from "../detect/http-fields.ts";
import { appended, dropField, type FieldPlan } from "./headers.ts";
import type { HttpContext, UpstreamLease } from "./types.ts";

/** A request's record, begun as its head is read (the head's fields still valid). */
export function beginEntry(ctx: HttpContext, head: RequestHead): AccessEntry {
  const access = ctx.access!;
  const entry = access.log.begin("http", access.site, ctx.client.hostname, ctx.client.port);
  entry.method = head.method;
  entry.host = head.host;
  entry.path = head.target;
  entry.protocol = ctx.oneRequest === true ? "HTTP/2" : head.version === "1.1" ? "HTTP/1.1" : "HTTP/1.0";
  const fields = head.fields;
  for (let i = 0; i < fields.count; i++) {
    const name = fields.name(i);
    const n = name.length;
    if (n !== 10 && n !== 7 && n !== 12) continue;
    const lower = name.toLowerCase();
    if (lower === "user-agent") entry.userAgent = fields.value(i);
    else if (lower === "referer") entry.referer = fields.value(i);
    else if (lower === "x-request-id" && entry.requestId === null) entry.requestId = fields.value(i);
  }
  if (entry.requestId === null && access.log.requestIds !== null) entry.requestId = access.log.requestIds.next();
  return entry;
}

/**
 * Adds to the plan of the head sent upstream the request id (when the request came
 * without one) and this hop's `traceparent`.
 */
export function tagRequest(fields: Fields, plan: FieldPlan, entry: AccessEntry, log: AccessLog): void {
  let hasId = false;
  let parent = -1;
  for (let i = 0; i < fields.count; i++) {
    const name = fields.name(i);
    if (name.length === 12 && name.toLowerCase() === "x-request-id") hasId = true;
    else if (name.length === 11 && name.toLowerCase() === "traceparent") parent = i;
  }
  const add: Header[] = [];
  if (!hasId && log.requestIds !== null && entry.requestId !== null) add.push(["X-Request-Id", entry.requestId]);
  const given = parent >= 0 ? parseTraceParent(fields.value(parent)) : null;
  if (given !== null || log.trace) {
    const trace = given?.traceId ?? traceId();
    if (parent >= 0) dropField(plan, fields.count, parent);
    add.push(["traceparent", traceParentValue(trace, spanId(), given?.flags ?? "01")]);
    entry.traceId = trace;
  }
  if (add.length > 0) plan.append = appended([...plan.append.fields, ...add]);
}

/** The connection the request got (after `attempt` earlier tries). */
export function noteLease(entry: AccessEntry, lease: UpstreamLease, attempt: number): void {
  // The key is `pool NUL role NUL host:port` (UpstreamPool's): the target is its last part.
  const key = lease.key;
  entry.target = key.slice(key.lastIndexOf("\u0000") + 1);
  entry.retries = attempt;
  if (entry.acquireAt >= 0) entry.connectMs = Math.round((performance.now() - entry.acquireAt) * 1000) / 1000;
}

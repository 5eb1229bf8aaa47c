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
import { appended, dropField, type FieldPlan, type HeaderEdit } from "./headers.ts";
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
    // Only names of the lengths looked for are decoded.
    const n = fields.nameLength(i);
    if (n < 7 || n > 12 || n === 8 || n === 9) continue;
    const lower = fields.name(i).toLowerCase();
    if (lower === "user-agent") entry.userAgent = fields.value(i);
    else if (lower === "referer") entry.referer = fields.value(i);
    else if (lower === "traceparent") entry.traceField = i;
    else if (lower === "x-request-id" && !entry.idGiven) {
      entry.requestId = fields.value(i);
      entry.idGiven = true;
    }
  }
  if (!entry.idGiven && access.log.requestIds !== null) entry.requestId = access.log.requestIds.next();
  return entry;
}

/**
 * Adds to the plan of the head sent upstream the request id (when the request came
 * without one) and this hop's `traceparent`.
 */
export function tagRequest(fields: Fields, plan: FieldPlan, entry: AccessEntry, log: AccessLog): void {
  const parent = entry.traceField;
  const given = parent >= 0 ? parseTraceParent(fields.value(parent)) : null;
  const id = entry.idGiven ? null : entry.requestId;
  if (given === null && !log.trace) {
    if (id !== null) plan.append = appended(withField(plan.append.fields, "X-Request-Id", id));
    return;
  }
  const trace = given?.traceId ?? traceId();
  if (parent >= 0) dropField(plan, fields.count, parent);
  const value = traceParentValue(trace, spanId(), given?.flags ?? "01");
  const out = withField(plan.append.fields, "traceparent", value);
  if (id !== null) out.push(["X-Request-Id", id]);
  plan.append = appended(out);
  entry.traceId = trace;
}

/**
 * The request id and `traceparent` of `tagRequest` as header edits, for a request that
 * goes on as an HTTP/2 stream (src/http2/dispatch.ts) rather than as an HTTP/1.1 head.
 */
export function tagEdits(fields: Fields, entry: AccessEntry, log: AccessLog): HeaderEdit[] {
  const edits: HeaderEdit[] = [];
  if (!entry.idGiven && entry.requestId !== null) {
    edits.push({ op: "set", name: "x-request-id", value: entry.requestId });
  }
  const given = entry.traceField >= 0 ? parseTraceParent(fields.value(entry.traceField)) : null;
  if (given !== null || log.trace) {
    const trace = given?.traceId ?? traceId();
    edits.push({ op: "set", name: "traceparent", value: traceParentValue(trace, spanId(), given?.flags ?? "01") });
    entry.traceId = trace;
  }
  return edits;
}

function withField(fields: readonly Header[], name: string, value: string): Header[] {
  const out = fields.slice();
  out.push([name, value]);
  return out;
}

/** A head vane could not read (400, 408, 414, 431): its record has no method or path, as nginx's has none. */
export function recordRefused(ctx: HttpContext, status: number, bytesIn: number): void {
  const access = ctx.access!;
  const entry = access.log.begin("http", access.site, ctx.client.hostname, ctx.client.port);
  entry.status = status;
  entry.bytesIn = bytesIn;
  access.log.record(entry);
}

/** The connection the request got (after `attempt` earlier tries). */
export function noteLease(entry: AccessEntry, lease: UpstreamLease, attempt: number): void {
  // The key is `pool NUL role NUL host:port` (UpstreamPool's): the target is its last part.
  const key = lease.key;
  entry.target = key.slice(key.lastIndexOf("\u0000") + 1);
  entry.retries = attempt;
  if (entry.acquireAt >= 0) entry.connectMs = Math.round((performance.now() - entry.acquireAt) * 1000) / 1000;
}

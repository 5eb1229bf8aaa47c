/**
 * Request ids and W3C Trace Context (https://www.w3.org/TR/trace-context/) values,
 * made cheaply: a request id is this process's random prefix and a counter (unique
 * across processes and restarts, no crypto per request); span and trace ids come from
 * Math.random, as they need to be unlikely to collide, not secret.
 */

/** 16 hex digits of a random 64-bit number (never all zeros, which W3C forbids). */
export function spanId(random: () => number = Math.random): string {
  for (;;) {
    const s = hex8(random) + hex8(random);
    if (s !== "0000000000000000") return s;
  }
}

/** 32 hex digits: a new trace id (never all zeros). */
export function traceId(random: () => number = Math.random): string {
  return spanId(random) + spanId(random);
}

function hex8(random: () => number): string {
  return ((random() * 0x1_0000_0000) >>> 0).toString(16).padStart(8, "0");
}

/** Makes request ids: `PREFIX-COUNTER` in hex, PREFIX random per process. */
export class RequestIds {
  #n = 0;
  readonly #prefix: string;
  constructor(random: () => number = Math.random) {
    this.#prefix = spanId(random);
  }
  next(): string {
    return `${this.#prefix}-${(++this.#n).toString(16).padStart(6, "0")}`;
  }
}

/** A parsed `traceparent` (version 00 layout; later versions are read as 00, as the spec asks). */
export interface TraceParent {
  readonly traceId: string;
  readonly flags: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The trace id and flags of a `traceparent` value, or null when it is not valid:
 * version ff, an all-zero trace or parent id, or a version 00 value with anything after
 * the flags.
 */
export function parseTraceParent(value: string): TraceParent | null {
  const m = TRACEPARENT.exec(value.trim());
  if (m === null) return null;
  const [, version, trace, parent, flags, rest] = m;
  if (version === "ff" || (version === "00" && rest !== undefined)) return null;
  if (/^0+$/.test(trace) || /^0+$/.test(parent)) return null;
  return { traceId: trace, flags };
}

/** A version 00 `traceparent` for this hop: the same trace and flags, `parent` as the parent id. */
export function traceParentValue(trace: string, parent: string, flags: string): string {
  return `00-${trace}-${parent}-${flags}`;
}

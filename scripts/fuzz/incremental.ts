/**
 * The contract of a parser that is called again with everything received so far
 * (HTTP heads, the TLS ClientHello, the PROXY header): how the bytes arrive in pieces
 * must not change the answer. So for an "ok" answer, every shorter prefix must be
 * "need-more" (never an error, never a different ok), and the same bytes with more
 * after them must give the same ok; an "error" must stay an error when more arrives.
 */
import { concat } from "./bytes.ts";
import type { Rng } from "./rng.ts";

export interface Answer {
  status: string;
}

export interface IncrementalSpec<R extends Answer> {
  parse: (buf: Uint8Array) => R;
  /** Bytes an ok answer took (its length / consumed). */
  okLength: (r: R) => number;
  /** Answers that must not change when more bytes come (besides "error"). */
  final?: readonly string[];
}

export function checkIncremental<R extends Answer>(
  spec: IncrementalSpec<R>,
  buf: Uint8Array,
  result: R,
  rng: Rng,
): string | null {
  if (result.status === "ok") {
    const length = spec.okLength(result);
    // One random prefix, and the one a byte short (the last byte decides the most).
    for (const k of [rng.int(length), length - 1]) {
      if (k < 0) continue;
      const r = spec.parse(buf.subarray(0, k));
      if (r.status !== "need-more") {
        return `a ${k}-byte prefix of an ok input (length ${length}) gave ${JSON.stringify(r)}, not need-more`;
      }
    }
    const more = spec.parse(concat([buf, rng.bytes(rng.range(1, 16))]));
    if (more.status !== "ok" || spec.okLength(more) !== length) {
      return `an ok input (length ${length}) with bytes appended gave ${brief(more)}`;
    }
    return null;
  }
  if (result.status === "error" || spec.final?.includes(result.status)) {
    const more = spec.parse(concat([buf, rng.bytes(rng.range(1, 16))]));
    if (more.status !== result.status) {
      return `a ${result.status} input gave ${brief(more)} once more bytes came`;
    }
  }
  return null;
}

function brief(r: Answer): string {
  const { status } = r;
  const o = r as unknown as Record<string, unknown>;
  const extra = ["length", "consumed", "reason", "code"].filter((k) => k in o).map((k) =>
    `${k} ${JSON.stringify(o[k])}`
  );
  return [status, ...extra].join(", ");
}

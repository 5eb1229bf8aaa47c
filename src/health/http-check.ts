/**
 * The active HTTP check: resolve the target, connect, send one `GET PATH`, read
 * until the response head parses, and judge its status against the expected range.
 * One deadline covers the connect and the response. The time from starting the
 * connect to the parsed head is the latency `fastest` ranks by.
 *
 * Also the parsers for how operators write the check (`tcp`, `none`, `http:/PATH`)
 * and the expected statuses (`200-399`, `204`).
 */
import type { Runtime, TcpConn } from "../runtime/types.ts";
import type { EndpointSpec } from "../config/model.ts";
import type { TargetResolver } from "../resolve/resolver.ts";
import { formatAddress } from "../config/address.ts";
import { parseResponseHead } from "../detect/http-head.ts";
import { unsafeInRequestLine } from "../config/health-spec.ts";
import type { CheckOutcome } from "./tcp-check.ts";
import { errorTextWithCode } from "../errors/mod.ts";

export interface HttpCheckOptions {
  /** Request target, starting with "/". */
  path: string;
  /** Statuses that count as up, inclusive. The default is [200, 399]. */
  expect: [low: number, high: number];
  /** One deadline for connect + response head. */
  timeoutMs: number;
  /** Host to send: the target's DNS name if it has one, else IP:PORT. */
  hostHeader: string;
}

export async function httpCheck(
  rt: Runtime,
  resolver: TargetResolver,
  spec: EndpointSpec,
  opts: HttpCheckOptions,
): Promise<CheckOutcome> {
  const timedOut = `timeout after ${opts.timeoutMs}ms`;
  if (!opts.path.startsWith("/") || unsafeInRequestLine(opts.path) || unsafeInRequestLine(opts.hostHeader)) {
    return { ok: false, reason: "invalid check request (path or Host)", address: null };
  }
  const request = new TextEncoder().encode(
    `GET ${opts.path} HTTP/1.1\r\nHost: ${opts.hostHeader}\r\nUser-Agent: vane-health\r\n` +
      `Connection: close\r\nAccept: */*\r\n\r\n`,
  );

  const res = await resolver.fresh(spec);
  if (res.addresses.length === 0) return { ok: false, reason: res.error ?? "no addresses", address: null };
  // The deadline covers connect + response (as tcpCheck's timeout covers the connect), not DNS.
  const deadline = performance.now() + opts.timeoutMs;

  // Like tcpCheck: try the addresses in the forwarder's order. The first that accepts
  // the connection is the one the forwarder would use, so its answer is the verdict.
  let failure: CheckOutcome = { ok: false, reason: "no addresses", address: null };
  for (const host of res.addresses) {
    const address = formatAddress(host, spec.port);
    const remaining = deadline - performance.now();
    if (remaining <= 0) return { ok: false, reason: timedOut, address };
    const started = performance.now();
    let conn: TcpConn;
    try {
      conn = await rt.connectTcp({ hostname: host, port: spec.port }, remaining);
    } catch (err) {
      // The connect ran out of the check's time: that is the check's timeout.
      const reason = performance.now() >= deadline ? timedOut : errorTextWithCode(err);
      failure = { ok: false, reason, address };
      continue;
    }
    try {
      const status = await exchange(conn, request, deadline);
      if (status.kind === "timeout") return { ok: false, reason: timedOut, address };
      if (status.kind === "bad") return { ok: false, reason: `bad response: ${status.reason}`, address };
      if (status.code < opts.expect[0] || status.code > opts.expect[1]) {
        return { ok: false, reason: `HTTP ${status.code}`, address };
      }
      return { ok: true, latencyMs: status.at - started, address };
    } catch (err) {
      return { ok: false, reason: errorTextWithCode(err), address };
    } finally {
      conn.close();
    }
  }
  return failure;
}

type Exchange =
  | { kind: "status"; code: number; at: number }
  | { kind: "timeout" }
  | { kind: "bad"; reason: string };

const EXPIRED = Symbol("expired");

/** Sends the request and reads up to the final response head, racing each step against the deadline. */
async function exchange(conn: TcpConn, request: Uint8Array, deadline: number): Promise<Exchange> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof EXPIRED>((resolve) => {
    timer = setTimeout(() => resolve(EXPIRED), Math.max(0, deadline - performance.now()));
  });
  try {
    if ((await Promise.race([conn.write(request), expired])) === EXPIRED) return { kind: "timeout" };
    let buf = new Uint8Array(0);
    for (;;) {
      const chunk = await Promise.race([conn.read(), expired]);
      if (chunk === EXPIRED) return { kind: "timeout" };
      if (chunk === null) return { kind: "bad", reason: "connection closed before the response head" };
      // The chunk is only valid until the next read: copy it. The buffer stays under
      // MAX_HEAD_BYTES + one chunk, since the parser refuses a longer incomplete head.
      const grown = new Uint8Array(buf.length + chunk.length);
      grown.set(buf);
      grown.set(chunk, buf.length);
      buf = grown;
      for (;;) {
        const r = parseResponseHead(buf);
        if (r.status === "need-more") break;
        if (r.status === "error") return { kind: "bad", reason: r.reason };
        // 1xx interim heads (100 Continue, 103 Early Hints) precede the real one; 101 is final.
        const s = r.head.status;
        if (s >= 100 && s < 200 && s !== 101) {
          buf = buf.subarray(r.length);
          if (buf.length === 0) break;
          continue;
        }
        return { kind: "status", code: s, at: performance.now() };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

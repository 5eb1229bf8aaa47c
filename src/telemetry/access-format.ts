/**
 * How an access record is written: one JSON object per line (field names below), or
 * nginx's `combined` layout (`$remote_addr - $remote_user [$time_local] "$request"
 * $status $body_bytes_sent "$http_referer" "$http_user_agent"`), read by GoAccess,
 * AWStats and most log tools. In `combined`, the byte count is every byte sent
 * (nginx's $bytes_sent), and an L4 or UDP session's request reads `"TCP LISTENER -"`
 * with `-` as its status.
 */
import type { AccessEntry } from "./access-entry.ts";

export type AccessLogFormat = "json" | "combined";

/** One JSON line (without the newline). */
export function jsonLine(e: AccessEntry): string {
  return JSON.stringify({
    time: new Date(e.time).toISOString(),
    type: e.kind,
    client: e.client,
    clientPort: e.clientPort,
    listener: e.site.listener,
    route: e.route,
    pool: e.pool,
    target: e.target,
    method: e.method,
    host: e.host,
    path: e.path,
    protocol: e.protocol,
    status: e.status,
    bytesIn: e.bytesIn,
    bytesOut: e.bytesOut,
    durationMs: e.durationMs,
    connectMs: e.connectMs,
    firstByteMs: e.firstByteMs,
    retries: e.retries,
    tls: e.site.tls,
    sni: e.site.sni,
    requestId: e.requestId,
    traceId: e.traceId,
    userAgent: e.userAgent,
    referer: e.referer,
  });
}

/** One line in nginx's combined layout (without the newline). */
export function combinedLine(e: AccessEntry): string {
  const request = e.kind === "http"
    ? `${e.method ?? "-"} ${e.path ?? "-"} ${e.protocol ?? "-"}`
    : `${e.kind.toUpperCase()} ${e.site.listener} -`;
  const status = e.status === null ? "-" : String(e.status);
  return `${e.client} - - [${timeLocal(e.time)}] "${escape(request)}" ${status} ${e.bytesOut} "${
    escape(e.referer ?? "-")
  }" "${escape(e.userAgent ?? "-")}"`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
let lastSecond = -1;
let lastText = "";

/** nginx's $time_local: `06/Dec/2026:07:08:07 +0000`, made once per second. */
export function timeLocal(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second === lastSecond) return lastText;
  const d = new Date(second * 1000);
  const offset = -d.getTimezoneOffset();
  const sign = offset < 0 ? "-" : "+";
  const abs = Math.abs(offset);
  lastText = `${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${
    two(d.getMinutes())
  }:${two(d.getSeconds())} ${sign}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  lastSecond = second;
  return lastText;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** As nginx escapes variables in text logs: `"`, `\` and bytes outside printable ASCII as \xHH. */
function escape(s: string): string {
  // deno-lint-ignore no-control-regex
  if (!/["\\\x00-\x1f\x7f-\uffff]/.test(s)) return s;
  // deno-lint-ignore no-control-regex
  return s.replace(/["\\\x00-\x1f\x7f-\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

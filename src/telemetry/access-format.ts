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

/**
 * One JSON line (without the newline), written out by hand: JSON.stringify of an object
 * made per line cost more than the rest of the record.
 */
export function jsonLine(e: AccessEntry): string {
  const site = e.site;
  return `{"time":"${isoTime(e.time)}","type":"${e.kind}","client":${str(e.client)},"clientPort":${e.clientPort},` +
    `"listener":${str(site.listener)},"route":${str(e.route)},"pool":${str(e.pool)},"target":${str(e.target)},` +
    `"method":${str(e.method)},"host":${str(e.host)},"path":${str(e.path)},"protocol":${str(e.protocol)},` +
    `"status":${e.status},"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut},"durationMs":${e.durationMs},` +
    `"connectMs":${e.connectMs},"firstByteMs":${e.firstByteMs},"retries":${e.retries},"tls":${str(site.tls)},` +
    `"sni":${str(site.sni)},"requestId":${str(e.requestId)},"traceId":${str(e.traceId)},` +
    `"userAgent":${str(e.userAgent)},"referer":${str(e.referer)}}`;
}

/** A JSON string (or null): quoted as is unless it holds a character JSON escapes. */
function str(s: string | null): string {
  if (s === null) return "null";
  // deno-lint-ignore no-control-regex
  return /["\\\x00-\x1f\u2028\u2029\ud800-\udfff]/.test(s) ? JSON.stringify(s) : `"${s}"`;
}

let isoMs = -1;
let isoText = "";

/** ISO 8601 time of `ms` (made once per millisecond: lines of one moment share it). */
function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  if (whole !== isoMs) {
    isoMs = whole;
    isoText = new Date(whole).toISOString();
  }
  return isoText;
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

/**
 * The access log of one vane process (config `access-log`): opened as vane is made,
 * reopened on SIGUSR1, closed on stop, and the records of L4 and UDP sessions (the HTTP
 * engine writes its own, src/http/access.ts).
 */
import type { AccessLogConfig } from "../config/model.ts";
import type { SocketAddress } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";
import { AccessLog } from "../telemetry/access-log.ts";
import type { AccessSite } from "../telemetry/access-entry.ts";
import { openAppend, STDERR_PATH } from "../runtime/append-file.ts";
import type { UdpSessionEnd } from "../forward/udp.ts";
import { errorText } from "../errors/mod.ts";

/**
 * The access log `config` asks for, or null when it is off.
 * @throws When the file cannot be opened.
 */
export function openAccessLog(config: AccessLogConfig | undefined, log: Logger): AccessLog | null {
  if (config === undefined) return null;
  return new AccessLog(openAppend(config.path), {
    format: config.format,
    sample: config.sample,
    requestId: config.requestId,
    trace: config.trace,
    onError: (err) => limited(log).warn("access log write failed", "access-log", { error: errorText(err) }),
  }, config.path === STDERR_PATH);
}

/** What an L4 relay did, for its record. */
export interface L4Session {
  readonly client: SocketAddress;
  readonly pool: string;
  readonly target: string | null;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly startedAt: number;
  readonly connectMs: number | null;
}

/** Writes an L4 (TCP) session's record as it ends. */
export function recordTcp(access: AccessLog, site: AccessSite, s: L4Session): void {
  const entry = access.begin("tcp", site, s.client.hostname, s.client.port, s.startedAt);
  entry.pool = s.pool;
  entry.target = s.target;
  entry.bytesIn = s.bytesIn;
  entry.bytesOut = s.bytesOut;
  entry.connectMs = s.connectMs;
  access.record(entry);
}

/** Writes a UDP session's record as it ends. */
export function recordUdp(access: AccessLog, site: AccessSite, s: UdpSessionEnd): void {
  const entry = access.begin("udp", site, s.client.hostname, s.client.port, s.startedAt);
  entry.target = s.target;
  entry.bytesIn = s.bytesIn;
  entry.bytesOut = s.bytesOut;
  access.record(entry);
}

/** SIGUSR1: the access log file opened again; an error is logged (the old file stays in use). */
export function reopenAccessLog(access: AccessLog | null, log: Logger): boolean {
  if (access === null) return true;
  try {
    access.reopen();
    return true;
  } catch (err) {
    log.error("cannot reopen the access log", { error: errorText(err) });
    return false;
  }
}

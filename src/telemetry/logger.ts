/**
 * A small structured logger: one line per event on stderr, as text for people or as
 * JSON for log shippers. Fields are passed as an object so both formats carry them.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  /**
   * False when debug lines go nowhere, so a per-connection line can skip building its
   * fields; a logger without it is taken to want them.
   */
  readonly debugging?: boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type LogSink = (line: string) => void;

const defaultSink: LogSink = (line) => console.error(line);

function formatValue(v: string | number | boolean | null): string {
  const s = String(v);
  return /[\s"=]/.test(s) || s === "" ? JSON.stringify(s) : s;
}

/** `base` fields go on every line (e.g. which worker process said it). */
export function createLogger(
  format: "text" | "json",
  sink: LogSink = defaultSink,
  minLevel: LogLevel = "info",
  base: LogFields = {},
): Logger {
  const order: LogLevel[] = ["debug", "info", "warn", "error"];
  const threshold = order.indexOf(minLevel);
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (order.indexOf(level) < threshold) return;
    const time = new Date().toISOString();
    const defined = Object.entries({ ...base, ...fields }).filter(([, v]) => v !== undefined) as [string, string | number | boolean | null][];
    if (format === "json") {
      sink(JSON.stringify({ time, level, msg, ...Object.fromEntries(defined) }));
    } else {
      const tail = defined.map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
      sink(`${time} ${level.toUpperCase().padEnd(5)} ${msg}${tail ? " " + tail : ""}`);
    }
  };
  return {
    debugging: threshold === 0,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** For embedding and tests that do not want output. */
export const silentLogger: Logger = { debugging: false, debug() {}, info() {}, warn() {}, error() {} };

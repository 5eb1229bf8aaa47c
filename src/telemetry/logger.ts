/**
 * A small structured logger: one line per event on stderr, as text for people or as
 * JSON for log shippers. Fields are passed as an object so both formats carry them.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * Where vane's log lines go: one method per level, with fields as an object. Pass your
 * own to `startVane` to send them to your program's logger.
 *
 * @example
 * ```ts
 * import type { Logger } from "./mod.ts";
 * const log: Logger = {
 *   debug() {},
 *   info: (msg, fields) => console.log(msg, fields),
 *   warn: (msg, fields) => console.warn(msg, fields),
 *   error: (msg, fields) => console.error(msg, fields),
 * };
 * ```
 */
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

/** Where a logger's lines go, which it drops, and what it adds to each (see `createLogger`). */
export interface LoggerOptions {
  /** Where each line goes. @default console.error */
  sink?: LogSink;
  /** Lines below this level are dropped. @default "info" */
  level?: LogLevel;
  /** Fields that go on every line (e.g. which worker process said it). @default {} */
  base?: LogFields;
  /**
   * Text lines for the systemd journal: no timestamp of vane's own (the journal
   * stamps each line) and the syslog priority in front (`<3>` error, `<4>` warn,
   * `<6>` info, `<7>` debug), which journald reads as the line's level. JSON is
   * left as it is. @default false
   */
  journal?: boolean;
}

/** syslog priorities, as journald reads them from a line's `<N>` prefix. */
const JOURNAL_PRIORITY: Record<LogLevel, string> = { debug: "<7>", info: "<6>", warn: "<4>", error: "<3>" };

/**
 * A logger writing one line per event, as `key=value` text or as JSON.
 *
 * @param format `text` for people, `json` for log shippers.
 * @param options Where lines go (`sink`), the lowest level written (`level`), and fields on every line (`base`).
 * @returns The logger.
 *
 * @example
 * ```ts
 * import { createLogger } from "./mod.ts";
 * const log = createLogger("json", { sink: (line) => console.log(line), level: "debug", base: { app: "edge" } });
 * log.info("listening", { port: 8080 }); // {"time":"...","level":"info","msg":"listening","app":"edge","port":8080}
 * ```
 */
export function createLogger(format: "text" | "json", options: LoggerOptions = {}): Logger {
  const sink = options.sink ?? defaultSink;
  const minLevel = options.level ?? "info";
  const base = options.base ?? {};
  const order: LogLevel[] = ["debug", "info", "warn", "error"];
  const threshold = order.indexOf(minLevel);
  const emit = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    if (order.indexOf(level) < threshold) return;
    const time = new Date().toISOString();
    const defined = Object.entries({ ...base, ...fields }).filter(([, v]) => v !== undefined) as [
      string,
      string | number | boolean | null,
    ][];
    if (format === "json") {
      sink(JSON.stringify({ time, level, msg, ...Object.fromEntries(defined) }));
    } else {
      const tail = defined.map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
      const start = options.journal ? JOURNAL_PRIORITY[level] : `${time} `;
      sink(`${start}${level.toUpperCase().padEnd(5)} ${msg}${tail ? " " + tail : ""}`);
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

/**
 * A logger that drops every line, for embedding and tests that do not want output.
 *
 * @example
 * ```ts
 * import { silentLogger, startVane } from "./mod.ts";
 * const vane = await startVane(config, { log: silentLogger });
 * ```
 */
export const silentLogger: Logger = { debugging: false, debug() {}, info() {}, warn() {}, error() {} };

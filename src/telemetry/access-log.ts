/**
 * The access log: one line per HTTP request and per L4 or UDP session, as JSON or in
 * nginx's combined layout, to a file or stderr. Lines are gathered for at most a timer
 * turn and written whole (several in one write, never a line split between two), so
 * that a busy process makes one write(2) per batch rather than one per request, and
 * processes appending to one file (O_APPEND) never tear each other's lines. `reopen()`
 * is SIGUSR1's (logrotate's `postrotate`). Listeners (`subscribe`) get each line
 * written too, for an admin API to stream them.
 */
import type { AppendFile } from "../runtime/append-file.ts";
import { AccessEntry, type AccessKind, type AccessSite } from "./access-entry.ts";
import { type AccessLogFormat, combinedLine, jsonLine } from "./access-format.ts";
import { RequestIds } from "./request-id.ts";

/** What the access log does (config `access-log`). */
export interface AccessLogOptions {
  /** @default "json" */
  readonly format?: AccessLogFormat;
  /** The share of records written, 0..1. @default 1 */
  readonly sample?: number;
  /** Give requests an `X-Request-Id` (kept when they bring one). @default true */
  readonly requestId?: boolean;
  /** Start a trace (`traceparent`) for a request that comes without one. @default false */
  readonly trace?: boolean;
  /** Called when a write fails (the batch is lost). @default none */
  readonly onError?: (err: unknown) => void;
  /** For tests: the sampling draws. @default Math.random */
  readonly random?: () => number;
}

/** A subscriber to the lines written (an admin API's live tail). */
export type AccessListener = (line: string, entry: AccessEntry) => void;

/** A batch goes out once it holds this much (stderr: a pipe write of up to 4 KiB is atomic). */
const FILE_BATCH = 64 * 1024;
const PIPE_BATCH = 4096;

export class AccessLog {
  readonly requestIds: RequestIds | null;
  readonly trace: boolean;
  readonly #file: AppendFile;
  readonly #format: (e: AccessEntry) => string;
  readonly #sample: number;
  readonly #random: () => number;
  readonly #onError: (err: unknown) => void;
  readonly #batch: number;
  readonly #listeners = new Set<AccessListener>();
  #pending = "";
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #flush = () => {
    this.#timer = null;
    this.flush();
  };

  /** @param toStderr the file is stderr (a pipe, maybe shared): batches stay within 4 KiB. */
  constructor(file: AppendFile, options: AccessLogOptions = {}, toStderr = false) {
    this.#file = file;
    this.#format = (options.format ?? "json") === "json" ? jsonLine : combinedLine;
    this.#sample = options.sample ?? 1;
    this.#random = options.random ?? Math.random;
    this.#onError = options.onError ?? (() => {});
    this.#batch = toStderr ? PIPE_BATCH : FILE_BATCH;
    this.requestIds = options.requestId === false ? null : new RequestIds();
    this.trace = options.trace ?? false;
  }

  /** A record that began at `startedAt` (performance.now()), by default now. */
  begin(
    kind: AccessKind,
    site: AccessSite,
    client: string,
    clientPort: number,
    startedAt: number = performance.now(),
  ): AccessEntry {
    return new AccessEntry(kind, site, client, clientPort, startedAt);
  }

  /** Ends `entry` now and writes it (if sampled) with its times as durations. */
  record(entry: AccessEntry): void {
    const sample = this.#sample;
    if (sample < 1 && (sample <= 0 || this.#random() >= sample)) return;
    const start = entry.startedAt;
    entry.durationMs = round(performance.now() - start);
    if (entry.firstByteMs !== null) entry.firstByteMs = round(entry.firstByteMs - start);
    const line = this.#format(entry);
    for (const listener of this.#listeners) listener(line, entry);
    if (this.#pending.length + line.length + 1 > this.#batch) this.flush();
    this.#pending += line + "\n";
    this.#timer ??= setTimeout(this.#flush, 0);
  }

  /** Calls `listener` with each line written from now on; returns the call that stops it. */
  subscribe(listener: AccessListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes what is gathered. */
  flush(): void {
    const text = this.#pending;
    if (text === "") return;
    this.#pending = "";
    try {
      this.#file.write(text);
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Opens the file again, after writing what is gathered to the old one (logrotate renamed it). */
  reopen(): void {
    this.flush();
    this.#file.reopen();
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.flush();
    this.#file.close();
  }
}

/** ms with 3 decimals (µs). */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * One worker slot of the primary (primary.ts): the process now in it, what the
 * primary knows of it, and its requests waiting for an answer by id.
 */
import type { ChildProcess } from "node:child_process";
import type { Channel } from "./channel.ts";
import type { FromWorker, ToWorker } from "./messages.ts";

/** Restarts of a crashing worker back off from this, doubling up to the maximum. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long is healthy again: its next crash restarts it quickly. */
const STABLE_AFTER_MS = 60_000;

/** One worker slot: the process now in it (if any) and what the primary knows of it. */
export interface Worker {
  index: number;
  child: ChildProcess | null;
  channel: Channel<ToWorker> | null;
  serving: boolean;
  /** The config text it was last given (at start or by a reload). */
  started: string;
  startedAt: number;
  restartMs: number;
  /** Requests waiting for an answer: snapshots and reloads, by id. */
  waiting: Map<number, (m: FromWorker | null) => void>;
  ready: Promise<void>;
  markReady: () => void;
  exited: Promise<void>;
}

export function newWorker(index: number): Worker {
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  return {
    index,
    child: null,
    channel: null,
    serving: false,
    started: "",
    startedAt: 0,
    restartMs: 0,
    waiting: new Map(),
    ready,
    markReady,
    exited: Promise.resolve(),
  };
}

/** How long to wait before starting the slot's process again: doubling while it keeps crashing. */
export function nextRestartMs(w: Worker): number {
  const ranLong = performance.now() - w.startedAt >= STABLE_AFTER_MS;
  return ranLong ? RESTART_MIN_MS : Math.min(Math.max(w.restartMs * 2, RESTART_MIN_MS), RESTART_MAX_MS);
}

/** Sends request `id` and waits for its answer, or null after `timeoutMs` or the worker's exit. */
export function ask(w: Worker, id: number, message: ToWorker, timeoutMs: number): Promise<FromWorker | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      w.waiting.delete(id);
      resolve(null);
    }, timeoutMs);
    w.waiting.set(id, (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    w.channel!.send(message);
  });
}

/**
 * A listener's own connection limit (its `max-conns`, HAProxy's frontend `maxconn`) in
 * front of the process's (ClientSlots): the listener accepts while it holds fewer than
 * its limit and the process has room. At its limit it stops accepting as at the global
 * one (Deno: new connections wait in the listen backlog; Bun: the one over is closed
 * unread and accepting pauses), while the process's other listeners go on.
 */
import type { AcceptGate } from "../runtime/types.ts";
import type { Logger } from "../telemetry/logger.ts";
import { limited } from "../telemetry/log-limit.ts";

export class ListenerGate implements AcceptGate {
  #open = 0;
  #wake: (() => void) | null = null;
  #waiting: Promise<void> | null = null;

  constructor(
    readonly process: AcceptGate,
    /** The listener's limit, read at each accept (a reload may change it); undefined: none. */
    readonly max: () => number | undefined,
    readonly log: Logger,
    readonly listen: string,
  ) {}

  #full(): boolean {
    const max = this.max();
    return max !== undefined && this.#open >= max;
  }

  open(): boolean {
    return !this.#full() && this.process.open();
  }

  opened(): Promise<void> {
    if (!this.#full()) return this.process.opened();
    this.#say("new connections wait in the listen queue");
    return this.#waiting ??= new Promise((resolve) => (this.#wake = resolve));
  }

  refused(): void {
    if (this.#full()) this.#say("new connections are closed unread");
    else this.process.refused();
  }

  failed(err: Error): void {
    this.process.failed(err);
  }

  /** A connection accepted here began. */
  enter(): void {
    this.#open++;
  }

  /** A connection accepted here is over: room for the next once under the limit. */
  leave(): void {
    this.#open--;
    const wake = this.#wake;
    if (wake === null || this.#full()) return;
    this.#wake = null;
    this.#waiting = null;
    wake();
  }

  #say(what: string): void {
    limited(this.log).warn(`listener max-conns reached: ${what}`, "listener", {
      listener: this.listen,
      maxConns: this.max(),
      open: this.#open,
    });
  }
}

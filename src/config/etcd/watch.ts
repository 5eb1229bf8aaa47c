/**
 * A watch of an etcd prefix that outlives outages: when the stream breaks (the member
 * died, the network went), it is opened again, on the next endpoint, after a backoff
 * that doubles up to a bound, from the revision after the last event delivered, so no
 * change is missed and nothing is read twice. If etcd compacted past that revision
 * meanwhile, the owner re-reads the prefix (`onReset`) and the watch goes on from there.
 */
import type { EtcdClient, EtcdEvent } from "./client.ts";
import { EtcdAnswerError } from "./gateway.ts";

export interface PrefixWatchOptions {
  /** The first revision to deliver (the revision the owner read at, plus one). */
  fromRevision: number;
  /** Changes, in order, with the store's revision after them. */
  onEvents(events: EtcdEvent[], revision: number): void;
  /** etcd compacted past where the watch was: re-read the prefix, answer the revision read at. */
  onReset(): Promise<number>;
  /** The watch broke or came back (for the log): an error text, or null once it is flowing again. */
  onState?(error: string | null): void;
  /** First and longest wait between attempts. @default 250 ms, 10 s */
  backoffMs?: { first: number; max: number };
  sleep?: (ms: number) => Promise<void>;
}

const DEFAULT_BACKOFF = { first: 250, max: 10_000 };

export class PrefixWatch {
  #next: number;
  #closed = false;
  #close: (() => void) | null = null;
  #wake: (() => void) | null = null;
  /** A re-read after a compaction, which the loop waits for before it watches again. */
  #resetting: Promise<void> | null = null;
  /** Settles when the loop ends (after close()). */
  readonly done: Promise<void>;

  constructor(readonly client: EtcdClient, readonly prefix: string, readonly options: PrefixWatchOptions) {
    this.#next = options.fromRevision;
    this.done = this.#loop();
  }

  /** The next revision the watch will deliver. */
  get nextRevision(): number {
    return this.#next;
  }

  close(): void {
    this.#closed = true;
    this.#close?.();
    this.#wake?.();
  }

  async #loop(): Promise<void> {
    const backoff = this.options.backoffMs ?? DEFAULT_BACKOFF;
    let wait = backoff.first;
    let broken = false;
    while (!this.#closed) {
      let flowing = false;
      try {
        await this.client.authenticate();
        const s = this.client.watchOnce(
          this.prefix,
          this.#next,
          (events, revision) => {
            flowing = true;
            this.#next = Math.max(this.#next, ...events.map((e) => e.kv.modRevision + 1));
            this.options.onEvents(events, revision);
          },
          () => (this.#resetting ??= this.#reset(s.close)),
          () => {
            // etcd answered the watch (not merely a socket connecting): it is back.
            flowing = true;
            if (broken) {
              broken = false;
              this.options.onState?.(null);
            }
          },
        );
        this.#close = s.close;
        await s.done;
        if (this.#closed) return;
        if (this.#resetting !== null) {
          await this.#resetting;
          this.#resetting = null;
          continue;
        }
        throw new Error("the watch stream ended");
      } catch (err) {
        this.#resetting = null;
        if (this.#closed) return;
        if (err instanceof EtcdAnswerError && /auth token/i.test(err.message)) this.client.dropToken();
        this.client.rotate();
        if (!broken) this.options.onState?.(err instanceof Error ? err.message : String(err));
        broken = true;
        if (flowing) wait = backoff.first;
        await this.#sleep(wait);
        wait = Math.min(backoff.max, wait * 2);
      }
    }
  }

  /** Compacted: the owner re-reads, and the stream is opened again after what it read. */
  async #reset(closeStream: () => void): Promise<void> {
    closeStream();
    this.#next = (await this.options.onReset()) + 1;
  }

  #sleep(ms: number): Promise<void> {
    if (this.options.sleep) return this.options.sleep(ms);
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/**
 * A local copy of every key under an etcd prefix, kept current: read (a range), retried
 * with a backoff while etcd cannot be reached, then watched from the revision read
 * (watch.ts resumes after outages and re-reads after a compaction). `onChange` is told
 * after each change with the values as they stand. Used for the services registered
 * under an `etcd:` target's prefix and for fleet-wide drains.
 */
import type { EtcdClient } from "./client.ts";
import { PrefixWatch } from "./watch.ts";
import { errorText } from "../../errors/mod.ts";

export interface PrefixMirrorOptions {
  /** The values changed (the first read counts as a change). */
  onChange(values: ReadonlyMap<string, string>): void;
  /** The first read failed (an error, said once) or, after failing, answered (null). */
  onReadState?(error: string | null): void;
  /** The watch broke (an error) or came back (null). */
  onWatchState?(error: string | null): void;
  /** First and longest wait between reads while etcd cannot be reached. @default 250 ms, 10 s */
  backoffMs?: { first: number; max: number };
}

const DEFAULT_BACKOFF = { first: 250, max: 10_000 };

export class PrefixMirror {
  /** key -> value, as far as etcd has told. */
  values = new Map<string, string>();
  /** Settles after the first attempt to read: answered, or failed (then reads go on in the background). */
  readonly first: Promise<void>;
  #closed = false;
  #watch: PrefixWatch | null = null;
  #wake: (() => void) | null = null;

  constructor(readonly client: EtcdClient, readonly prefix: string, readonly options: PrefixMirrorOptions) {
    const { promise, resolve } = Promise.withResolvers<void>();
    this.first = promise;
    void this.#read(resolve);
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.#watch?.close();
    this.#wake?.();
  }

  async #read(attempted: () => void): Promise<void> {
    const backoff = this.options.backoffMs ?? DEFAULT_BACKOFF;
    let wait = backoff.first;
    for (let attempt = 0; !this.#closed; attempt++) {
      let revision: number;
      try {
        revision = await this.#range();
      } catch (err) {
        if (attempt === 0) this.options.onReadState?.(errorText(err));
        attempted();
        await this.#sleep(wait);
        wait = Math.min(backoff.max, wait * 2);
        continue;
      }
      if (this.#closed) break;
      if (attempt > 0) this.options.onReadState?.(null);
      this.#watch = this.#follow(revision + 1);
      break;
    }
    attempted();
  }

  /** Reads the prefix into `values` and says so; the revision read at. */
  async #range(): Promise<number> {
    const read = await this.client.range(this.prefix);
    if (this.#closed) return read.revision;
    this.values = new Map(read.kvs.map((kv) => [kv.key, kv.value]));
    this.options.onChange(this.values);
    return read.revision;
  }

  #follow(fromRevision: number): PrefixWatch {
    return new PrefixWatch(this.client, this.prefix, {
      fromRevision,
      onEvents: (events) => {
        if (this.#closed) return;
        for (const e of events) {
          if (e.type === "put") this.values.set(e.kv.key, e.kv.value);
          else this.values.delete(e.kv.key);
        }
        this.options.onChange(this.values);
      },
      // Compacted past the watch: what is there now is all that matters.
      onReset: () => this.#range(),
      onState: (error) => this.options.onWatchState?.(error),
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/**
 * The event stream behind `GET /events` (server-sent events): health verdicts that
 * turned, reloads, admin changes and, once the access log publishes here, access-log
 * lines. In-process subscribers only; the status endpoint turns each into an SSE message.
 */

export type VaneEventType = "health" | "reload" | "admin" | "access";

export interface VaneEvent {
  type: VaneEventType;
  /** ISO time the event happened. */
  time: string;
  [field: string]: unknown;
}

export type EventListener = (e: VaneEvent) => void;

export class EventHub {
  readonly #listeners = new Set<EventListener>();
  #watch: ((subscribers: number) => void) | null = null;

  /** Calls `fn` with every event from now on; returns the function that stops it. */
  subscribe(fn: EventListener): () => void {
    this.#listeners.add(fn);
    this.#watch?.(this.#listeners.size);
    return () => {
      if (this.#listeners.delete(fn)) this.#watch?.(this.#listeners.size);
    };
  }

  /**
   * Calls `fn` with the number of subscribers whenever it changes: the primary has its
   * workers relay their access-log lines only while someone follows /events.
   */
  watchSubscribers(fn: (subscribers: number) => void): void {
    this.#watch = fn;
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  publish(type: VaneEventType, fields: Record<string, unknown>): void {
    if (this.#listeners.size === 0) return;
    const e: VaneEvent = { type, time: new Date().toISOString(), ...fields };
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch {
        // A subscriber that fails (a stream gone) must not stop the others.
      }
    }
  }

  /**
   * HOOK for the access log: call with each access-log line (already formatted) to
   * publish it to `/events` (type `access`), which `vane ctl tail` follows. Cheap when
   * nobody listens. A worker's lines reach the primary's /events over the cluster
   * channel (cluster/worker.ts relays them while the primary has subscribers).
   */
  accessLog(line: string): void {
    if (this.#listeners.size > 0) this.publish("access", { line });
  }
}

const ENCODER = new TextEncoder();
/** A comment line every so often keeps idle proxies and servers (Bun: 10 s) from closing the stream. */
const KEEPALIVE_MS = 5000;

/**
 * An SSE response that streams the hub's events (those in `types`, all when empty)
 * until the client goes away.
 */
export function eventStream(hub: EventHub, types: ReadonlySet<string>): Response {
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(ENCODER.encode(text));
        } catch {
          stop();
        }
      };
      const unsubscribe = hub.subscribe((e) => {
        if (types.size === 0 || types.has(e.type)) send(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
      });
      const timer = setInterval(() => send(": keep-alive\n\n"), KEEPALIVE_MS);
      stop = () => {
        unsubscribe();
        clearInterval(timer);
      };
      send(": vane events\n\n");
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
  });
}

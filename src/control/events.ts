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

  /** Calls `fn` with every event from now on; returns the function that stops it. */
  subscribe(fn: EventListener): () => void {
    this.#listeners.add(fn);
    return () => void this.#listeners.delete(fn);
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
   * nobody listens. Lines of worker processes must be relayed to the primary first.
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

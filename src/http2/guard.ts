/**
 * Counters that cut off a client abusing cheap HTTP/2 frames, each over a sliding
 * second: streams it opens and resets at once (rapid reset, CVE-2023-44487: each costs
 * the server a request's work, the client nothing), streams refused for going past the
 * concurrency limit, and frames that ask for work but carry no request (PING, SETTINGS,
 * PRIORITY, empty DATA). Past a limit the connection ends with ENHANCE_YOUR_CALM, as
 * nginx and HAProxy do.
 */
import type { Clock } from "../runtime/clock.ts";

/** Streams reset by the client (or refused) per second before it is cut off. */
export const MAX_RESETS_PER_SECOND = 200;
/** Work-only frames per second before it is cut off. */
export const MAX_CHEAP_FRAMES_PER_SECOND = 1000;

/** One count over the last second (two half-second buckets: cheap and close enough). */
class Rate {
  #bucket = 0;
  #previous = 0;
  #since = 0;

  /** Counts one and says whether the rate is now above `limit`. */
  add(now: number, limit: number): boolean {
    if (now - this.#since >= 500) {
      this.#previous = now - this.#since >= 1000 ? 0 : this.#bucket;
      this.#bucket = 0;
      this.#since = now;
    }
    this.#bucket++;
    return this.#bucket + this.#previous > limit;
  }
}

export class FloodGuard {
  readonly #resets = new Rate();
  readonly #cheap = new Rate();

  constructor(readonly clock: Clock) {}

  /** A stream the client reset before its answer ended, or one refused: true when that is too many. */
  reset(): boolean {
    return this.#resets.add(this.clock.now(), MAX_RESETS_PER_SECOND);
  }

  /** A frame that costs work and carries no request: true when that is too many. */
  cheap(): boolean {
    return this.#cheap.add(this.clock.now(), MAX_CHEAP_FRAMES_PER_SECOND);
  }
}

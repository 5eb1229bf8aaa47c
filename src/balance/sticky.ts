/**
 * Sticky sessions by cookie: a request whose cookie names a live target (by its opaque
 * id, `stickyId`, a hash of the target's configured key, not its address) goes to
 * that target; any other (no cookie, or its target is down, drained or gone) is given
 * the least loaded target and the response sets the cookie (src/http/pool-route.ts).
 * The id depends only on the target's key, so every worker of --workers N and every
 * reload agrees on it.
 */
import { fnv1a } from "./hash-util.ts";
import { LeastConnStrategy } from "./leastconn.ts";
import type { Candidate, KeyOn, Strategy } from "./strategy.ts";

export class StickyStrategy implements Strategy {
  readonly name = "sticky";
  readonly keyOn: KeyOn;
  readonly #fresh = new LeastConnStrategy();
  readonly #ids = new Map<string, string>();

  constructor(readonly cookie: string) {
    this.keyOn = { on: "cookie", name: cookie };
  }

  pick(candidates: readonly Candidate[], key?: string): Candidate {
    if (key !== undefined) {
      for (const c of candidates) if (this.idOf(c.key) === key) return c;
    }
    return this.#fresh.pick(candidates);
  }

  /** The cookie value that names the target of configured key `key`. */
  idOf(key: string): string {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = stickyId(key);
      this.#ids.set(key, id);
    }
    return id;
  }
}

/** The opaque id of a target in a sticky cookie: 8 hex digits of a hash of its key. */
export function stickyId(key: string): string {
  return fnv1a(`vane-sticky|${key}`).toString(16).padStart(8, "0");
}

/**
 * A connection's open streams by id: a Map's job, done with an open-addressing array
 * because every stream is added, looked up several times and deleted within
 * microseconds, and JavaScriptCore's Map cost more per request there than the rest of
 * the stream's bookkeeping (its deletions leave entries to rehash). A client's streams
 * have consecutive odd ids, so `id >>> 1` puts the streams open at once (at most
 * MAX_STREAMS, session.ts) in distinct slots; ids that collide probe on linearly, and a
 * deletion shifts the entries after it back (no tombstones).
 */

/** Slots to start with: enough for the streams of a usual client (h2load -m 10, browsers ~100 at most). */
const INITIAL_SLOTS = 64;

export class StreamTable<T extends { readonly id: number }> {
  #slots: Array<T | null> = new Array<T | null>(INITIAL_SLOTS).fill(null);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(id: number): T | undefined {
    const slots = this.#slots;
    const mask = this.#mask;
    for (let i = (id >>> 1) & mask;; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === null) return undefined;
      if (s.id === id) return s;
    }
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** Puts `stream` in, in place of the stream of its id if there is one. */
  set(stream: T): void {
    if ((this.#size + 1) * 2 > this.#slots.length) this.#grow();
    const slots = this.#slots;
    const mask = this.#mask;
    const id = stream.id;
    for (let i = (id >>> 1) & mask;; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === null) {
        slots[i] = stream;
        this.#size++;
        return;
      }
      if (s.id === id) {
        slots[i] = stream;
        return;
      }
    }
  }

  /** Takes the stream of `id` out: whether there was one. */
  delete(id: number): boolean {
    const slots = this.#slots;
    const mask = this.#mask;
    let i = (id >>> 1) & mask;
    for (;; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === null) return false;
      if (s.id === id) break;
    }
    // Backward shift: each later entry of the run that may live at the hole moves into it.
    for (let j = (i + 1) & mask;; j = (j + 1) & mask) {
      const s = slots[j];
      if (s === null) break;
      const home = (s.id >>> 1) & mask;
      // s may move to i when its home is not cyclically within (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = s;
        i = j;
      }
    }
    slots[i] = null;
    this.#size--;
    return true;
  }

  /** The streams, in no particular order (a copy: the table may change while they are gone through). */
  values(): T[] {
    const out: T[] = [];
    for (const s of this.#slots) if (s !== null) out.push(s);
    return out;
  }

  clear(): void {
    this.#slots.fill(null);
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Array<T | null>(old.length * 2).fill(null);
    this.#mask = this.#slots.length - 1;
    this.#size = 0;
    for (const s of old) if (s !== null) this.set(s);
  }
}

/**
 * The open connections, running relays and the like: objects that join and leave a
 * collection once each, thousands of times a second.
 *
 * Not a Set or a Map: on JavaScriptCore, a Set or Map that young objects are added to
 * and deleted from keeps the deleted ones reachable past the young generation's
 * collections, so every connection's objects lived until a full collection (on Bun,
 * 4 MB more heap after each young collection under new connections, and a full one
 * every third). An array whose leaving member is replaced by the last one lets them go.
 */

/** Something kept in a Members: where it stands there (-1: not in one). */
export interface Member {
  slot: number;
}

export class Members<T extends Member> {
  #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  add(m: T): void {
    m.slot = this.#items.length;
    this.#items.push(m);
  }

  /** Takes `m` out; nothing happens when it is not in. */
  delete(m: T): void {
    const items = this.#items;
    const at = m.slot;
    if (at < 0 || items[at] !== m) return;
    const last = items.pop()!;
    if (last !== m) {
      items[at] = last;
      last.slot = at;
    }
    m.slot = -1;
  }

  /** The members now, in no particular order: a copy, so they may leave meanwhile. */
  list(): T[] {
    return this.#items.slice();
  }

  clear(): void {
    for (const m of this.#items) m.slot = -1;
    this.#items = [];
  }
}

/**
 * The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of fields, newest first, whose
 * size is the sum of name + value + 32 octets per entry (§4.1) and never exceeds its
 * maximum: adding evicts from the oldest end (§4.4), and so does lowering the maximum
 * (§4.3). An entry larger than the maximum empties the table and is not added.
 *
 * A ring buffer, so adding and evicting cost O(1). Entries also carry an absolute id
 * (how many were added before them) that the encoder's lookup maps keep, since an
 * entry's index shifts with every addition but its id does not.
 */

/** SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2): both ends' table starts at this. */
export const DEFAULT_TABLE_SIZE = 4096;

/** Octets an entry costs beyond its name and value (RFC 7541 §4.1). */
export const ENTRY_OVERHEAD = 32;

/** Told of each entry as it is evicted (the encoder drops it from its lookup maps). */
export type EvictListener = (name: string, value: string, id: number) => void;

export class DynamicTable {
  #names: string[] = new Array<string>(16);
  #values: string[] = new Array<string>(16);
  /** Capacity - 1; capacity is a power of two. */
  #mask = 15;
  /** Entries added since the table was made; the next entry's id. */
  #added = 0;
  #length = 0;
  #size = 0;
  #maxSize: number;
  readonly #onEvict: EvictListener | undefined;

  constructor(maxSize: number, onEvict?: EvictListener) {
    this.#maxSize = maxSize;
    this.#onEvict = onEvict;
  }

  /** Entries in the table. */
  get length(): number {
    return this.#length;
  }

  /** Octets the entries take (RFC 7541 §4.1). */
  get size(): number {
    return this.#size;
  }

  get maxSize(): number {
    return this.#maxSize;
  }

  /** The id the next added entry gets; the newest entry's id is one less. */
  get nextId(): number {
    return this.#added;
  }

  /** Name of the entry at `position` (0 is the newest, dynamic index 1); position < length. */
  name(position: number): string {
    return this.#names[(this.#added - 1 - position) & this.#mask];
  }

  value(position: number): string {
    return this.#values[(this.#added - 1 - position) & this.#mask];
  }

  /** Position of the live entry with this id (0 = newest). */
  positionOf(id: number): number {
    return this.#added - 1 - id;
  }

  /** A new maximum size (a dynamic table size update, §6.3): evicts until it fits. */
  setMaxSize(maxSize: number): void {
    this.#maxSize = maxSize;
    this.#evictTo(maxSize);
  }

  /** Adds a field as the newest entry, evicting old ones to make room (§4.4). */
  add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#maxSize) {
      // Not an error: the table is emptied and the field is not kept (§4.4).
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#maxSize - size);
    if (this.#length > this.#mask) this.#grow();
    const slot = this.#added & this.#mask;
    this.#names[slot] = name;
    this.#values[slot] = value;
    this.#added++;
    this.#length++;
    this.#size += size;
  }

  /** Evicts oldest entries until the size is at most `limit`. */
  #evictTo(limit: number): void {
    while (this.#size > limit) {
      const id = this.#added - this.#length;
      const slot = id & this.#mask;
      const name = this.#names[slot];
      const value = this.#values[slot];
      this.#size -= name.length + value.length + ENTRY_OVERHEAD;
      this.#length--;
      // Let go of the strings: a table can outlive many large values.
      this.#names[slot] = this.#values[slot] = "";
      this.#onEvict?.(name, value, id);
    }
  }

  /** Doubles the ring, keeping every entry at slot id & mask. */
  #grow(): void {
    const capacity = (this.#mask + 1) * 2;
    const names = new Array<string>(capacity);
    const values = new Array<string>(capacity);
    for (let id = this.#added - this.#length; id < this.#added; id++) {
      names[id & (capacity - 1)] = this.#names[id & this.#mask];
      values[id & (capacity - 1)] = this.#values[id & this.#mask];
    }
    this.#names = names;
    this.#values = values;
    this.#mask = capacity - 1;
  }
}

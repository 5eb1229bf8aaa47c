/**
 * The HPACK encoder's memo (hpack-encoder.ts): the fields of the last block that changed
 * nothing in the dynamic table, and the bytes each came to. Encoding depends only on
 * the fields and on the table, so while the table is as it was (its version), the same
 * fields come to the same bytes: a target's answers repeat theirs (Server, Content-Type,
 * Content-Length, a Date for a whole second), and each field then costs three
 * comparisons instead of the lookups.
 */
export class BlockMemo {
  #names: string[] = [];
  #values: string[] = [];
  #sensitive: boolean[] = [];
  /** Where each field's bytes end in #bytes. */
  #ends: number[] = [];
  #bytes = new Uint8Array(256);
  #length = 0;
  /** The table version the memo was made at; -1: no memo. */
  #version = -1;

  /** Fields in the memo. */
  get length(): number {
    return this.#length;
  }

  /** Whether the memo may be followed with the table at `version`. */
  goodFor(version: number): boolean {
    return this.#version === version;
  }

  /** Whether the memo's field `k` is this one. */
  matches(k: number, name: string, value: string, sensitive: boolean): boolean {
    return k < this.#length && this.#names[k] === name && this.#values[k] === value && this.#sensitive[k] === sensitive;
  }

  /**
   * Field `k` of the block being encoded, ending `end` bytes into its fields: noted in
   * place (the fields before it are the memo's own, or noted already), for `keep`.
   */
  note(k: number, name: string, value: string, sensitive: boolean, end: number): void {
    this.#names[k] = name;
    this.#values[k] = value;
    this.#sensitive[k] = sensitive;
    this.#ends[k] = end;
  }

  /** The bytes of the memo's first `k` fields. */
  bytesOf(k: number): number {
    return k === 0 ? 0 : this.#ends[k - 1];
  }

  /** Copies the first `n` bytes of the memo into `out` at `at`; returns where they end. */
  copyTo(out: Uint8Array, at: number, n: number): number {
    const bytes = this.#bytes;
    for (let i = 0; i < n; i++) out[at + i] = bytes[i];
    return at + n;
  }

  /** The block just encoded (`count` fields noted, its bytes `out[from, to)`) is the memo, good at `version`. */
  keep(version: number, count: number, out: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (n > this.#bytes.length) this.#bytes = new Uint8Array(Math.max(n, this.#bytes.length * 2));
    const bytes = this.#bytes;
    for (let i = 0; i < n; i++) bytes[i] = out[from + i];
    this.#length = count;
    this.#version = version;
  }

  /** The table changed: no memo until a block changes nothing again. */
  forget(): void {
    this.#version = -1;
  }
}

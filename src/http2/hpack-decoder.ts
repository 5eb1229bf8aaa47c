/**
 * The HPACK decoder (RFC 7541): one whole header block in, its header list out, with the
 * dynamic table kept in step with the peer's encoder across blocks.
 *
 * Everything read from the peer is bounded: integers (at most 2^31-1, at most five
 * continuation octets), indexes, string lengths (within the block), table size updates
 * (at the start of a block, at most two, within our SETTINGS_HEADER_TABLE_SIZE), and the
 * header list size (RFC 9113 §6.5.2). Past that limit the rest of the block is still
 * decoded, so the table stays in step, but no field is kept: the work is bounded by the
 * block's length and the limit, which is what stops "HPACK bombs" (one large entry
 * referenced thousands of times).
 */
import { latin1Decode } from "../detect/bytes.ts";
import type { HeaderField } from "./header-field.ts";
import { compressionError, HpackError } from "./hpack-error.ts";
import { STATIC_LENGTH, STATIC_NAMES, STATIC_VALUES } from "./hpack-static.ts";
import { DEFAULT_TABLE_SIZE, DynamicTable, ENTRY_OVERHEAD } from "./hpack-table.ts";
import { huffmanDecodeString } from "./huffman.ts";

export const DEFAULT_MAX_HEADER_LIST_SIZE = 65536;

/** The largest integer accepted, and the most continuation octets it may take. */
const MAX_INTEGER = 0x7fffffff;
const MAX_CONTINUATION_OCTETS = 5;
/** Dynamic table size updates allowed at the start of one block (RFC 7541 §4.2). */
const MAX_SIZE_UPDATES = 2;

/** What a literal representation does with the dynamic table (RFC 7541 §6.2). */
const INCREMENTAL_INDEXING = 0;
const WITHOUT_INDEXING = 1;
const NEVER_INDEXED = 2;
type LiteralKind = typeof INCREMENTAL_INDEXING | typeof WITHOUT_INDEXING | typeof NEVER_INDEXED;

const EMPTY = new Uint8Array(0);

export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the most a table size update may ask for. @default 4096 */
  maxTableSize?: number;
  /** Our SETTINGS_MAX_HEADER_LIST_SIZE (name + value + 32 per field). @default 65536 */
  maxHeaderListSize?: number;
}

export class HpackDecoder {
  readonly #table: DynamicTable;
  readonly #maxTableSize: number;
  readonly #maxListSize: number;
  /** The block being decoded and where in it; fields, not locals, to keep helpers small. */
  #buf: Uint8Array = EMPTY;
  #pos = 0;
  /** The field the last representation gave. */
  #name = "";
  #value = "";

  constructor(options: HpackDecoderOptions = {}) {
    this.#maxTableSize = options.maxTableSize ?? DEFAULT_TABLE_SIZE;
    this.#maxListSize = options.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    this.#table = new DynamicTable(this.#maxTableSize);
  }

  /** Octets in the dynamic table (RFC 7541 §4.1). */
  get tableSize(): number {
    return this.#table.size;
  }

  /** The dynamic table's current maximum size (as the last size update set it). */
  get tableMaxSize(): number {
    return this.#table.maxSize;
  }

  /** The dynamic table's entries, newest (index 62) first. */
  tableEntries(): HeaderField[] {
    return Array.from(
      { length: this.#table.length },
      (_, i) => ({ name: this.#table.name(i), value: this.#table.value(i) }),
    );
  }

  /**
   * Decodes one whole header block (HEADERS + CONTINUATION payloads joined). Throws
   * HpackError: "compression" if the block breaks RFC 7541 (the connection must end),
   * "too-large" if its header list is over maxHeaderListSize (the table is in step).
   */
  decode(block: Uint8Array): HeaderField[] {
    this.#buf = block;
    this.#pos = 0;
    try {
      return this.#fields(block);
    } finally {
      this.#buf = EMPTY;
    }
  }

  #fields(block: Uint8Array): HeaderField[] {
    const fields: HeaderField[] = [];
    let listSize = 0;
    let sizeUpdates = 0;
    let sawField = false;
    while (this.#pos < block.length) {
      const first = block[this.#pos];
      let sensitive = false;
      if (first >= 0x80) this.#indexed();
      else if (first >= 0x40) this.#literal(6, INCREMENTAL_INDEXING);
      else if (first >= 0x20) {
        this.#sizeUpdate(sawField, ++sizeUpdates);
        continue;
      } else {
        sensitive = first >= 0x10;
        this.#literal(4, sensitive ? NEVER_INDEXED : WITHOUT_INDEXING);
      }
      sawField = true;
      listSize += this.#name.length + this.#value.length + ENTRY_OVERHEAD;
      // Past the limit only the table is kept up: no field is made, so no work per reference.
      if (listSize > this.#maxListSize) continue;
      fields.push(
        sensitive ? { name: this.#name, value: this.#value, sensitive } : { name: this.#name, value: this.#value },
      );
    }
    if (listSize > this.#maxListSize) {
      throw new HpackError(
        "too-large",
        `hpack: header list of ${listSize} octets is over the limit of ${this.#maxListSize}`,
      );
    }
    return fields;
  }

  /** Indexed Header Field (RFC 7541 §6.1). */
  #indexed(): void {
    const index = this.#integer(7);
    if (index === 0) throw compressionError("index 0 is not a header field");
    if (index <= STATIC_LENGTH) {
      this.#name = STATIC_NAMES[index - 1];
      this.#value = STATIC_VALUES[index - 1];
      return;
    }
    const position = this.#dynamicPosition(index);
    this.#name = this.#table.name(position);
    this.#value = this.#table.value(position);
  }

  /** Literal Header Field, with incremental indexing, without indexing or never indexed (§6.2). */
  #literal(prefixBits: number, kind: LiteralKind): void {
    const index = this.#integer(prefixBits);
    // The name is read before the new entry goes in: adding it may evict the entry it names (§4.4).
    const name = index === 0 ? this.#string() : this.#nameAt(index);
    const value = this.#string();
    this.#name = name;
    this.#value = value;
    if (kind === INCREMENTAL_INDEXING) this.#table.add(name, value);
  }

  /** Dynamic Table Size Update (§6.3): only before the block's first field (§4.2). */
  #sizeUpdate(sawField: boolean, count: number): void {
    if (sawField) throw compressionError("dynamic table size update after a header field");
    if (count > MAX_SIZE_UPDATES) throw compressionError("more than two dynamic table size updates in one block");
    const size = this.#integer(5);
    if (size > this.#maxTableSize) {
      throw compressionError(`dynamic table size update to ${size} is over the limit of ${this.#maxTableSize}`);
    }
    this.#table.setMaxSize(size);
  }

  #nameAt(index: number): string {
    if (index <= STATIC_LENGTH) return STATIC_NAMES[index - 1];
    return this.#table.name(this.#dynamicPosition(index));
  }

  #dynamicPosition(index: number): number {
    const position = index - STATIC_LENGTH - 1;
    if (position >= this.#table.length) {
      throw compressionError(`index ${index} is beyond the table (61 static, ${this.#table.length} dynamic entries)`);
    }
    return position;
  }

  /** An integer with an N-bit prefix (§5.1), starting at the current octet. */
  #integer(prefixBits: number): number {
    const buf = this.#buf;
    let pos = this.#pos;
    const all = (1 << prefixBits) - 1;
    let value = buf[pos++] & all;
    if (value === all) {
      let weight = 1;
      for (let octets = 1;; octets++) {
        if (octets > MAX_CONTINUATION_OCTETS) throw compressionError("integer longer than 5 continuation octets");
        if (pos >= buf.length) throw compressionError("block ends inside an integer");
        const octet = buf[pos++];
        value += (octet & 0x7f) * weight;
        if (octet < 0x80) break;
        weight *= 128;
      }
      if (value > MAX_INTEGER) throw compressionError(`integer ${value} is over 2^31-1`);
    }
    this.#pos = pos;
    return value;
  }

  /** A string literal (§5.2), Huffman-coded or not. */
  #string(): string {
    const buf = this.#buf;
    if (this.#pos >= buf.length) throw compressionError("block ends before a string literal");
    const huffman = buf[this.#pos] >= 0x80;
    const length = this.#integer(7);
    const start = this.#pos;
    if (length > buf.length - start) {
      throw compressionError(`string literal of ${length} octets runs past the end of the block`);
    }
    this.#pos = start + length;
    return huffman ? huffmanDecodeString(buf, start, start + length) : latin1Decode(buf, start, start + length);
  }
}

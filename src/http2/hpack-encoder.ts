/**
 * The HPACK encoder (RFC 7541): a header list in, one header block out, with its own
 * copy of the dynamic table the peer's decoder keeps.
 *
 * Choices, per field: an index when the whole field is in a table; else a literal that
 * the peer adds to its table, naming the field by index when the name is in a table.
 * Credentials (authorization, proxy-authorization, and cookies under 20 octets, which
 * could be guessed one probe at a time, as nghttp2 judges) go as never-indexed literals
 * (§7.1.3), and so does any field that came to us that way. Values over a quarter of the
 * table go without indexing: they would evict many small fields for one that rarely
 * repeats. Strings are Huffman-coded whenever that is shorter.
 */
import type { HeaderField } from "./header-field.ts";
import { STATIC_BY_NAME, STATIC_LENGTH } from "./hpack-static.ts";
import { DEFAULT_TABLE_SIZE, DynamicTable, ENTRY_OVERHEAD } from "./hpack-table.ts";
import { huffmanEncodeStringInto, huffmanStringLength } from "./huffman.ts";
import { BlockMemo } from "./hpack-memo.ts";

/** Cookies shorter than this are sent never-indexed (a short secret is easy to probe for). */
const SHORT_COOKIE = 20;
/** Values longer than maxSize / this are not added to the table. */
const LARGE_VALUE_FRACTION = 4;
/** Octets an integer can take (5 continuation octets and the prefix octet). */
const MAX_INTEGER_OCTETS = 6;
/** "No pending size update." */
const NONE = -1;

/** First-octet patterns and prefix widths of the representations (RFC 7541 §6). */
const INDEXED = 0x80;
const LITERAL_INCREMENTAL = 0x40;
const LITERAL_WITHOUT_INDEXING = 0x00;
const LITERAL_NEVER_INDEXED = 0x10;
const SIZE_UPDATE = 0x20;
const HUFFMAN = 0x80;
const RAW = 0x00;

/** A name in our dynamic table: its newest entry's id, and the newest id of each value. */
interface TableName {
  id: number;
  values: Map<string, number>;
}

export interface HpackEncoderOptions {
  /** The most dynamic table this encoder will use, whatever the peer allows. @default 4096 */
  maxTableSize?: number;
}

function alwaysNeverIndexed(name: string, value: string): boolean {
  return name === "authorization" || name === "proxy-authorization" ||
    (name === "cookie" && value.length < SHORT_COOKIE);
}

export class HpackEncoder {
  readonly #ownMax: number;
  readonly #table: DynamicTable;
  readonly #byName = new Map<string, TableName>();
  /** Size updates owed at the start of the next block: the smallest since the last one, and the last. */
  #pendingMin = NONE;
  #pendingFinal = NONE;
  #out = new Uint8Array(1024);
  #at = 0;
  /** Bumped by every change of the table (an entry added, a size update): a memo is good only for its own. */
  #version = 0;
  readonly #memo = new BlockMemo();
  /** Fields of the block being encoded that matched the memo and are not written yet; -1: not following it. */
  #follow = -1;
  /** Fields in the block being encoded. */
  #count = 0;
  /** Where the block's fields begin in #out (after its room and size updates). */
  #fieldsFrom = 0;
  #blockVersion = 0;

  constructor(options: HpackEncoderOptions = {}) {
    this.#ownMax = options.maxTableSize ?? DEFAULT_TABLE_SIZE;
    // The peer's decoder starts at the protocol's 4096 (RFC 9113 §6.5.2); a smaller own limit is announced.
    const start = Math.min(this.#ownMax, DEFAULT_TABLE_SIZE);
    this.#table = new DynamicTable(start, (name, value, id) => this.#forget(name, value, id));
    if (start < DEFAULT_TABLE_SIZE) this.#pendingMin = this.#pendingFinal = start;
  }

  /** Octets in the dynamic table (RFC 7541 §4.1). */
  get tableSize(): number {
    return this.#table.size;
  }

  /** The dynamic table's entries, newest (index 62) first. */
  tableEntries(): HeaderField[] {
    return Array.from(
      { length: this.#table.length },
      (_, i) => ({ name: this.#table.name(i), value: this.#table.value(i) }),
    );
  }

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: the next block starts with a size update to min(this, own max). */
  setPeerMaxTableSize(size: number): void {
    const target = Math.min(size, this.#ownMax);
    const current = this.#pendingFinal === NONE ? this.#table.maxSize : this.#pendingFinal;
    if (target === current) return;
    // RFC 7541 §4.2: the smallest size since the last block is signalled, then the final one.
    this.#pendingMin = this.#pendingMin === NONE ? target : Math.min(this.#pendingMin, target);
    this.#pendingFinal = target;
  }

  /**
   * One header block for `fields`. Names are expected lowercase already. `room`: bytes
   * left free before the block in the array returned (a frame header to write there,
   * saving a copy of the block).
   */
  encode(fields: readonly HeaderField[], room = 0): Uint8Array {
    this.begin(room);
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i];
      this.add(field.name, field.value, field.sensitive === true);
    }
    return this.finish();
  }

  /**
   * A header block field by field, with no list made: `begin`, `add` for each field,
   * then `finish` for the block (`room` as in `encode`). Nothing else may use the
   * encoder in between.
   */
  begin(room = 0): void {
    this.#at = 0;
    this.#reserve(room);
    this.#at = room;
    if (this.#pendingFinal !== NONE) this.#sizeUpdates();
    this.#fieldsFrom = this.#at;
    this.#count = 0;
    this.#blockVersion = this.#version;
    this.#follow = this.#memo.goodFor(this.#version) ? 0 : -1;
  }

  /**
   * One field of the block begun (`sensitive`: as HeaderField's). A run of fields the
   * same as the last block's that changed nothing in the table (a target's answers, the
   * same but for Date each second) is encoded the same again: copied at the end, with
   * no lookup per field.
   */
  add(name: string, value: string, sensitive = false): void {
    const memo = this.#memo;
    const k = this.#follow;
    if (k >= 0) {
      if (memo.matches(k, name, value, sensitive)) {
        this.#follow = k + 1;
        this.#count++;
        return;
      }
      this.#catchUp();
    }
    this.#field(name, value, sensitive);
    memo.note(this.#count++, name, value, sensitive, this.#at - this.#fieldsFrom);
  }

  /** The block begun, with its `room` bytes before it (their content undefined). */
  finish(): Uint8Array {
    // finishIn first: writing the fields that followed the memo may grow the buffer.
    const end = this.finishIn();
    return this.#out.slice(0, end);
  }

  /**
   * finish() left in the encoder's own `buffer`, with no copy and no view: returns where
   * the block ends there. Good until the next block begins, for a caller that copies it
   * on at once (a frame writer's batch).
   */
  finishIn(): number {
    const memo = this.#memo;
    const followedAll = this.#follow >= 0 && this.#follow === memo.length;
    if (this.#follow >= 0) this.#catchUp();
    // A block that changed nothing in the table is the memo now (the one it followed whole already is).
    if (this.#version !== this.#blockVersion) memo.forget();
    else if (!followedAll) memo.keep(this.#version, this.#count, this.#out, this.#fieldsFrom, this.#at);
    return this.#at;
  }

  /** Where begin/add/finishIn leave a block (its bytes move when it grows: read it after finishIn). */
  get buffer(): Uint8Array {
    return this.#out;
  }

  /** Writes the fields that followed the memo, as it has them; the block goes on without it. */
  #catchUp(): void {
    const n = this.#memo.bytesOf(this.#follow);
    this.#reserve(n);
    this.#at = this.#memo.copyTo(this.#out, this.#at, n);
    this.#follow = -1;
  }

  #sizeUpdates(): void {
    this.#version++;
    this.#reserve(2 * MAX_INTEGER_OCTETS);
    if (this.#pendingMin < this.#pendingFinal) {
      this.#integer(SIZE_UPDATE, 5, this.#pendingMin);
      this.#table.setMaxSize(this.#pendingMin);
    }
    this.#integer(SIZE_UPDATE, 5, this.#pendingFinal);
    this.#table.setMaxSize(this.#pendingFinal);
    this.#pendingMin = this.#pendingFinal = NONE;
  }

  #field(name: string, value: string, marked: boolean): void {
    this.#reserve(name.length + value.length + 3 * MAX_INTEGER_OCTETS);
    const sensitive = marked || alwaysNeverIndexed(name, value);
    const inStatic = STATIC_BY_NAME.get(name);
    const inTable = this.#byName.get(name);
    if (!sensitive) {
      const staticIndex = inStatic?.values.get(value);
      if (staticIndex !== undefined) return this.#integer(INDEXED, 7, staticIndex);
      const id = inTable?.values.get(value);
      if (id !== undefined) return this.#integer(INDEXED, 7, this.#dynamicIndex(id));
    }
    const nameIndex = inStatic ? inStatic.index : inTable ? this.#dynamicIndex(inTable.id) : 0;
    const size = name.length + value.length + ENTRY_OVERHEAD;
    const max = this.#table.maxSize;
    if (sensitive) this.#literal(LITERAL_NEVER_INDEXED, 4, nameIndex, name, value);
    else if (size > max || value.length > max / LARGE_VALUE_FRACTION) {
      this.#literal(LITERAL_WITHOUT_INDEXING, 4, nameIndex, name, value);
    } else {
      this.#literal(LITERAL_INCREMENTAL, 6, nameIndex, name, value);
      this.#remember(name, value);
    }
  }

  #dynamicIndex(id: number): number {
    return STATIC_LENGTH + 1 + this.#table.positionOf(id);
  }

  #literal(pattern: number, prefixBits: number, nameIndex: number, name: string, value: string): void {
    this.#integer(pattern, prefixBits, nameIndex);
    if (nameIndex === 0) this.#string(name);
    this.#string(value);
  }

  /** Adds a field to our table as the peer's decoder will, and to the lookup maps. */
  #remember(name: string, value: string): void {
    const id = this.#table.nextId;
    this.#version++;
    // Adding may evict (and forget) older entries of this very name, so look it up after.
    this.#table.add(name, value);
    let known = this.#byName.get(name);
    if (!known) this.#byName.set(name, known = { id, values: new Map() });
    known.id = id;
    known.values.set(value, id);
  }

  /** An entry left the table; entries leave oldest first, so older ones of its name are gone already. */
  #forget(name: string, value: string, id: number): void {
    const known = this.#byName.get(name);
    if (!known) return;
    if (known.id === id) this.#byName.delete(name);
    else if (known.values.get(value) === id) known.values.delete(value);
  }

  #string(s: string): void {
    const coded = huffmanStringLength(s);
    if (coded < s.length) {
      this.#integer(HUFFMAN, 7, coded);
      this.#at = huffmanEncodeStringInto(s, this.#out, this.#at);
      return;
    }
    this.#integer(RAW, 7, s.length);
    const out = this.#out;
    let at = this.#at;
    for (let i = 0; i < s.length; i++) out[at++] = s.charCodeAt(i);
    this.#at = at;
  }

  /** An integer with an N-bit prefix (§5.1) after the pattern bits of its first octet. */
  #integer(pattern: number, prefixBits: number, value: number): void {
    const out = this.#out;
    const all = (1 << prefixBits) - 1;
    if (value < all) {
      out[this.#at++] = pattern | value;
      return;
    }
    out[this.#at++] = pattern | all;
    value -= all;
    while (value >= 0x80) {
      out[this.#at++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    out[this.#at++] = value;
  }

  /** Room for `n` more octets in the output buffer. */
  #reserve(n: number): void {
    if (this.#at + n <= this.#out.length) return;
    const grown = new Uint8Array(Math.max(this.#at + n, this.#out.length * 2));
    grown.set(this.#out.subarray(0, this.#at));
    this.#out = grown;
  }
}

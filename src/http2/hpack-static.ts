/**
 * The HPACK static table (RFC 7541 §2.3.1, Appendix A): 61 fields both ends know
 * without sending them, at indexes 1 to 61. The decoder reads names and values by
 * index; the encoder looks fields up by name, then value, to send an index instead.
 */

/** Appendix A, in order: entry i is STATIC_TABLE[i - 1]. */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

/** Entries in the static table; dynamic table indexes start after it. */
export const STATIC_LENGTH = 61;

/** Names and values by index (entry i at [i - 1]), for the decoder: two plain string arrays read fastest. */
export const STATIC_NAMES: readonly string[] = STATIC_TABLE.map(([name]) => name);
export const STATIC_VALUES: readonly string[] = STATIC_TABLE.map(([, value]) => value);

/** A name of the static table: its first index, and the index of each value it has. */
export interface StaticName {
  readonly index: number;
  readonly values: ReadonlyMap<string, number>;
}

function byName(): ReadonlyMap<string, StaticName> {
  const names = new Map<string, { index: number; values: Map<string, number> }>();
  STATIC_TABLE.forEach(([name, value], i) => {
    let entry = names.get(name);
    if (!entry) names.set(name, entry = { index: i + 1, values: new Map() });
    if (!entry.values.has(value)) entry.values.set(value, i + 1);
  });
  return names;
}

/** Static table lookup for the encoder: name -> its lowest index and its values' indexes. */
export const STATIC_BY_NAME: ReadonlyMap<string, StaticName> = byName();

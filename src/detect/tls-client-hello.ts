/**
 * Reads the SNI and ALPN out of a TLS ClientHello without terminating TLS, so a
 * connection can be routed by host name and then forwarded byte for byte.
 *
 * References: RFC 8446 §4.1.2 and §5.1 (records), RFC 5246 §7.4.1.2, RFC 6066 §3
 * (server_name), RFC 7301 (ALPN).
 *
 * The caller hands us everything received so far and calls again when more arrives,
 * so each call parses from scratch: no state, and cheap because a hello is small and
 * the common case (one record) is read in place without copying.
 *
 * Nothing here throws to the caller and nothing reads past an index it has checked:
 * every length is compared with what its parent holds before it is used.
 */
import { joinBytes } from "./bytes.ts";

/** Bound on what we are willing to buffer to find the hello. Real hellos are < 2 KiB
 * (a post-quantum key share pushes them near 2 KiB), so this is generous. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export type ClientHelloResult =
  /** A valid prefix so far; call again with more bytes. */
  | { status: "need-more" }
  /** The first byte(s) are not a TLS handshake record: route as something else. */
  | { status: "not-tls" }
  /** TLS-looking but malformed, or over MAX_CLIENT_HELLO_BYTES. */
  | { status: "error"; reason: string }
  | {
    status: "ok";
    /** Lowercased host name without a trailing dot, or null when the client sent none. */
    sni: string | null;
    /** ALPN protocol names in the client's order; empty when absent. */
    alpn: string[];
    /** legacy_version, or 0x0304 when supported_versions offers TLS 1.3. */
    version: number;
    /** Bytes of the buffer covering every record that carried the hello. */
    consumed: number;
  };

const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;
const RECORD_HEADER = 5;
/** RFC 5246 §6.2.3 lets a record body grow to 2^14 + 2048; anything above is not TLS. */
const MAX_RECORD_BODY = 16384 + 2048;

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const TLS13 = 0x0304;

/**
 * Sniffs the first byte(s) of a connection: a handshake record (0x16) whose version
 * major byte, when it has arrived, is 3. Two bytes are enough to tell TLS apart from
 * HTTP/1 ("G", "P", ...), SSH ("SS") and PROXY protocol headers.
 */
export function looksLikeTls(first: Uint8Array): boolean {
  if (first.length === 0 || first[0] !== CONTENT_HANDSHAKE) return false;
  return first.length < 2 || first[1] === 0x03;
}

/** Thrown inside the parser only; parseClientHello turns it into { status: "error" }. */
class Malformed extends Error {}

export function parseClientHello(buf: Uint8Array): ClientHelloResult {
  if (buf.length === 0) return { status: "need-more" };
  if (!looksLikeTls(buf)) return { status: "not-tls" };
  try {
    return parse(buf);
  } catch (e) {
    // Malformed carries a reason naming the field; anything else would be a bug here,
    // but the contract is "never throw", so it is reported rather than propagated.
    return { status: "error", reason: e instanceof Malformed ? e.message : `internal: ${String(e)}` };
  }
}

function parse(buf: Uint8Array): ClientHelloResult {
  // Walk the records, collecting handshake bytes. A ClientHello may be split over
  // several records (RFC 8446 §5.1), so the handshake message is reassembled from the
  // bodies of consecutive handshake records. Bytes of a record that has not fully
  // arrived are looked at too, but only to spot errors early: the hello counts as
  // complete only once the record that finishes it is whole.
  const fragments: Uint8Array[] = [];
  const header: number[] = []; // first 4 handshake bytes: type and 24-bit length
  let hsLength = -1; // known once the header is in
  let completeBytes = 0; // handshake bytes from whole records
  let consumed = 0; // end of the last whole record
  let offset = 0;

  while (offset < buf.length) {
    // Check each header byte as soon as it arrives, so garbage is refused early
    // rather than after waiting for a length's worth of bytes.
    const avail = buf.length - offset;
    if (buf[offset] !== CONTENT_HANDSHAKE) {
      throw new Malformed(`record: content type ${buf[offset]} before the ClientHello was complete`);
    }
    if (avail >= 2 && buf[offset + 1] !== 0x03) throw new Malformed("record: version major is not 3");
    // Real stacks send 0x0300..0x0303 here; 0x0304 is tolerated as the highest known.
    if (avail >= 3 && buf[offset + 2] > 0x04) throw new Malformed("record: unknown version minor");
    if (avail < RECORD_HEADER) break;

    const length = (buf[offset + 3] << 8) | buf[offset + 4];
    if (length === 0) throw new Malformed("record: empty handshake record"); // forbidden by RFC 8446 §5.1
    if (length > MAX_RECORD_BODY) throw new Malformed(`record: length ${length} exceeds ${MAX_RECORD_BODY}`);
    const end = offset + RECORD_HEADER + length;
    if (end > MAX_CLIENT_HELLO_BYTES) throw new Malformed(`ClientHello exceeds ${MAX_CLIENT_HELLO_BYTES} bytes`);

    const fragment = buf.subarray(offset + RECORD_HEADER, Math.min(end, buf.length));
    fragments.push(fragment);

    // The handshake header may itself straddle records, so it is gathered byte-wise.
    for (let i = 0; i < fragment.length && header.length < 4; i++) header.push(fragment[i]);
    if (header.length >= 1 && header[0] !== HANDSHAKE_CLIENT_HELLO) {
      throw new Malformed(`handshake: type ${header[0]} is not client_hello`);
    }
    if (header.length === 4 && hsLength < 0) {
      hsLength = (header[1] << 16) | (header[2] << 8) | header[3];
      // The 4-byte header plus one record header is a lower bound on the total.
      if (hsLength + 4 + RECORD_HEADER > MAX_CLIENT_HELLO_BYTES) {
        throw new Malformed(`handshake: length ${hsLength} exceeds ${MAX_CLIENT_HELLO_BYTES} bytes`);
      }
    }

    if (end > buf.length) break; // partial record: wait for the rest of it
    completeBytes += length;
    consumed = offset = end;
    // Stop at the record that completes the hello: what follows (e.g. early data)
    // belongs to the connection, not to us.
    if (hsLength >= 0 && completeBytes >= 4 + hsLength) {
      // Reassemble once, at the end; the single-record case needs no copy.
      const hs = fragments.length === 1 ? fragments[0] : joinBytes(...fragments);
      return { status: "ok", ...parseBody(hs.subarray(4, 4 + hsLength)), consumed };
    }
  }
  return { status: "need-more" };
}

/**
 * A bounds-checked cursor over [start, end) of a buffer. Each read names its field,
 * so an overrun error says which length lied. `sub` returns a child cursor limited to
 * a length-prefixed block, which is how "must fit inside its parent" is enforced.
 */
class Reader {
  readonly #buf: Uint8Array;
  constructor(buf: Uint8Array, public pos: number, readonly end: number) {
    this.#buf = buf;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#buf[this.pos++];
  }

  u16(field: string): number {
    this.#need(2, field);
    const v = (this.#buf[this.pos] << 8) | this.#buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  skip(n: number, field: string): void {
    this.#need(n, field);
    this.pos += n;
  }

  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const out = this.#buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  sub(n: number, field: string): Reader {
    this.#need(n, field);
    const child = new Reader(this.#buf, this.pos, this.pos + n);
    this.pos += n;
    return child;
  }

  /** Structures in a hello have no padding: leftover bytes mean a length is wrong. */
  done(field: string): void {
    if (this.pos !== this.end) throw new Malformed(`${field}: ${this.remaining} trailing bytes`);
  }

  #need(n: number, field: string): void {
    if (n > this.end - this.pos) throw new Malformed(`${field}: length overruns its container`);
  }
}

function parseBody(body: Uint8Array): { sni: string | null; alpn: string[]; version: number } {
  const r = new Reader(body, 0, body.length);
  let version = r.u16("legacy_version");
  if (version >> 8 !== 0x03) throw new Malformed("legacy_version: major is not 3");
  r.skip(32, "random");

  const sessionIdLength = r.u8("session_id");
  if (sessionIdLength > 32) throw new Malformed(`session_id: length ${sessionIdLength} exceeds 32`);
  r.skip(sessionIdLength, "session_id");

  const suitesLength = r.u16("cipher_suites");
  if (suitesLength < 2 || suitesLength % 2 !== 0) {
    throw new Malformed(`cipher_suites: length ${suitesLength} is not a positive even number`);
  }
  r.skip(suitesLength, "cipher_suites");

  const compressionLength = r.u8("compression_methods");
  if (compressionLength < 1) throw new Malformed("compression_methods: empty");
  r.skip(compressionLength, "compression_methods");

  // Pre-TLS-1.2 hellos may stop here: no extensions at all (RFC 5246 §7.4.1.2).
  if (r.remaining === 0) return { sni: null, alpn: [], version };

  const exts = r.sub(r.u16("extensions"), "extensions");
  r.done("client_hello");

  let sni: string | null = null;
  let alpn: string[] = [];
  const seen = new Set<number>();
  while (exts.remaining > 0) {
    const type = exts.u16("extension type");
    const data = exts.sub(exts.u16(`extension ${type}`), `extension ${type}`);
    // RFC 8446 §4.2: at most one extension of each type.
    if (seen.has(type)) throw new Malformed(`extension ${type}: duplicate`);
    seen.add(type);

    if (type === EXT_SERVER_NAME) sni = parseServerName(data);
    else if (type === EXT_ALPN) alpn = parseAlpn(data);
    else if (type === EXT_SUPPORTED_VERSIONS && offersTls13(data)) version = TLS13;
  }
  return { sni, alpn, version };
}

/** RFC 6066 §3: ServerNameList of (name_type, opaque<1..2^16-1>) entries. */
function parseServerName(data: Reader): string | null {
  const list = data.sub(data.u16("server_name list"), "server_name list");
  data.done("server_name");
  if (list.remaining === 0) throw new Malformed("server_name: empty list");

  let host: string | null = null;
  while (list.remaining > 0) {
    const nameType = list.u8("server_name type");
    const name = list.bytes(list.u16("server_name entry"), "server_name entry");
    // Only host_name (0) is defined; the first one wins, others are skipped unread.
    if (nameType === 0 && host === null) host = normalizeHostName(name);
  }
  return host;
}

/**
 * ASCII host name characters only (underscore is allowed because real names use it);
 * returned lowercased without a trailing dot so routing compares one spelling.
 */
function normalizeHostName(bytes: Uint8Array): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x2e) end--; // "example.com." means "example.com"
  if (end < 1 || end > 253) throw new Malformed(`server_name: host name length ${end} not in 1..253`);

  let out = "";
  let prev = 0x2e; // treat the start as after a dot so a leading dot is refused
  for (let i = 0; i < end; i++) {
    let c = bytes[i];
    if (c >= 0x41 && c <= 0x5a) c += 0x20; // A-Z → a-z
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e;
    if (!ok) throw new Malformed(`server_name: invalid host name byte 0x${c.toString(16).padStart(2, "0")}`);
    if (c === 0x2e && prev === 0x2e) throw new Malformed("server_name: empty label in host name");
    out += String.fromCharCode(c);
    prev = c;
  }
  // "a.." is "a." plus an empty label: only one trailing dot is dropped, so a second one is refused.
  if (prev === 0x2e) throw new Malformed("server_name: empty label in host name");
  return out;
}

/** RFC 7301 §3.1: ProtocolNameList of opaque<1..2^8-1> names, kept in client order. */
function parseAlpn(data: Reader): string[] {
  const list = data.sub(data.u16("alpn list"), "alpn list");
  data.done("alpn");
  if (list.remaining === 0) throw new Malformed("alpn: empty list");

  const names: string[] = [];
  while (list.remaining > 0) {
    const length = list.u8("alpn protocol");
    if (length === 0) throw new Malformed("alpn: empty protocol name");
    // latin1: each byte is one char, so any byte string round-trips.
    names.push(String.fromCharCode(...list.bytes(length, "alpn protocol")));
  }
  return names;
}

/** RFC 8446 §4.2.1: the ClientHello form is a 1-byte-length list of 2-byte versions. */
function offersTls13(data: Reader): boolean {
  const list = data.sub(data.u8("supported_versions list"), "supported_versions list");
  data.done("supported_versions");
  if (list.remaining < 2 || list.remaining % 2 !== 0) {
    throw new Malformed("supported_versions: length is not a positive even number");
  }
  let found = false;
  while (list.remaining > 0) if (list.u16("supported_versions") === TLS13) found = true;
  return found;
}

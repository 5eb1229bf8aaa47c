/**
 * The DNS wire format (RFC 1035), as much as an SRV query needs: the query packet and
 * the SRV records of an answer, with their TTLs. vane asks for SRV itself because
 * neither runtime reports SRV TTLs (node:dns `resolveSrv` and `Deno.resolveDns(name,
 * "SRV")` give priority, weight, port and target only), and re-resolving as the TTL
 * says is the point of discovery.
 */

export const TYPE_SRV = 33;
const TYPE_OPT = 41;
const CLASS_IN = 1;
/** EDNS0 (RFC 6891): the UDP answer size we accept, so a long SRV set is not truncated at 512 bytes. */
export const EDNS_UDP_SIZE = 1232;

/** One SRV record (RFC 2782); `target` lowercased without a trailing dot ("" for "."). */
export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
  /** Seconds, as the record says. */
  ttl: number;
}

export type SrvDecoded =
  | { ok: true; records: SrvRecord[] }
  /** `truncated`: the answer did not fit a datagram (TC): ask again over TCP (RFC 7766). */
  | { ok: false; reason: string; truncated?: true };

/** A recursive query for one name and type, with an EDNS0 OPT record. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array {
  const labels = name.replace(/\.$/, "").split(".").map((l) => new TextEncoder().encode(l));
  const nameLength = labels.reduce((n, l) => n + 1 + l.length, 1);
  const out = new Uint8Array(12 + nameLength + 4 + 11);
  const view = new DataView(out.buffer);
  view.setUint16(0, id);
  view.setUint16(2, 0x0100); // RD: ask the server to recurse
  view.setUint16(4, 1); // QDCOUNT
  view.setUint16(10, 1); // ARCOUNT: the OPT record
  let off = 12;
  for (const l of labels) {
    out[off++] = l.length;
    out.set(l, off);
    off += l.length;
  }
  out[off++] = 0;
  view.setUint16(off, type);
  view.setUint16(off + 2, CLASS_IN);
  off += 4;
  // OPT: root name, type 41, class = UDP size, TTL 0 (no extended flags), no data.
  view.setUint16(off + 1, TYPE_OPT);
  view.setUint16(off + 3, EDNS_UDP_SIZE);
  return out;
}

/** The query ID an answer echoes (0 when the packet is too short to have one). */
export function answerId(packet: Uint8Array): number {
  return packet.length >= 2 ? (packet[0] << 8) | packet[1] : 0;
}

const RCODES: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED" };

/**
 * The SRV records of an answer to `encodeQuery(id, name, TYPE_SRV)`. Other records
 * (a CNAME on the way, additional A records) are skipped. A failure names the RCODE,
 * a truncated answer or a malformed packet.
 */
export function decodeSrvAnswer(packet: Uint8Array, id: number): SrvDecoded {
  if (packet.length < 12) return { ok: false, reason: "short answer" };
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (view.getUint16(0) !== id) return { ok: false, reason: "answer to another query" };
  const flags = view.getUint16(2);
  if ((flags & 0x8000) === 0) return { ok: false, reason: "not an answer" };
  if (flags & 0x0200) return { ok: false, reason: "answer truncated (too many records for UDP)", truncated: true };
  const rcode = flags & 0x000f;
  if (rcode !== 0) return { ok: false, reason: RCODES[rcode] ?? `RCODE ${rcode}` };
  try {
    let off = 12;
    for (let i = view.getUint16(4); i > 0; i--) off = readName(packet, off).next + 4;
    const records: SrvRecord[] = [];
    for (let i = view.getUint16(6); i > 0; i--) {
      off = readName(packet, off).next;
      const type = view.getUint16(off);
      const ttl = view.getUint32(off + 4);
      const length = view.getUint16(off + 8);
      const data = off + 10;
      if (data + length > packet.length) throw new RangeError("record past the end");
      if (type === TYPE_SRV) {
        records.push({
          priority: view.getUint16(data),
          weight: view.getUint16(data + 2),
          port: view.getUint16(data + 4),
          target: readName(packet, data + 6).name,
          ttl,
        });
      }
      off = data + length;
    }
    return { ok: true, records };
  } catch {
    return { ok: false, reason: "malformed answer" };
  }
}

/** A possibly compressed name at `off`: the name, and where the data after it starts. */
function readName(packet: Uint8Array, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  // Each pointer must go backwards, so a loop of pointers cannot run forever.
  let limit = off;
  for (let hops = 0; hops < 128; hops++) {
    if (off >= packet.length) throw new RangeError("name past the end");
    const len = packet[off];
    if (len === 0) {
      return { name: labels.join(".").toLowerCase(), next: next < 0 ? off + 1 : next };
    }
    if ((len & 0xc0) === 0xc0) {
      const to = ((len & 0x3f) << 8) | packet[off + 1];
      if (next < 0) next = off + 2;
      if (to >= limit) throw new RangeError("name pointer forwards");
      limit = off = to;
      continue;
    }
    labels.push(String.fromCharCode(...packet.subarray(off + 1, off + 1 + len)));
    off += 1 + len;
  }
  throw new RangeError("name too long");
}

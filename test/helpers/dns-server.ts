/**
 * A tiny authoritative DNS server over UDP on 127.0.0.1 for tests, on node:dgram so it
 * runs the same on Deno and Bun and shares no code with the resolver under test.
 * It answers A, AAAA and SRV from a table (names matched case-insensitively, no trailing
 * dot), NXDOMAIN for unknown names, and NOERROR with no answers for a known name that
 * lacks the asked type. Everything else in the query (EDNS and so on) is ignored.
 */
import dgram from "node:dgram";

/** An SRV record (RFC 2782): `target` is a host name. */
export interface SrvRecordSpec {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  SRV?: SrvRecordSpec[];
  /** Seconds; 60 when not given. */
  ttl?: number;
}

export interface TestDnsServer {
  port: number;
  /** Queries received so far (one per question packet). */
  queries: number;
  /** Adds, replaces or (with null) removes a name. */
  set(name: string, rec: DnsRecords | null): void;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;

export function startDnsServer(records: Record<string, DnsRecords>): Promise<TestDnsServer> {
  const table = new Map<string, DnsRecords>();
  for (const [name, rec] of Object.entries(records)) table.set(normalise(name), rec);
  const socket = dgram.createSocket("udp4");

  const handle: TestDnsServer = {
    port: 0,
    queries: 0,
    set(name, rec) {
      if (rec) table.set(normalise(name), rec);
      else table.delete(normalise(name));
    },
    close: () => new Promise<void>((done) => socket.close(() => done())),
  };

  socket.on("message", (msg, peer) => {
    // Header: ID, flags, QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT (2 bytes each).
    if (msg.length < 12 || msg.readUInt16BE(4) < 1) return;
    handle.queries++;
    // Question: labels (length byte + bytes) up to a zero byte, then QTYPE and QCLASS.
    const labels: string[] = [];
    let off = 12;
    while (off < msg.length && msg[off] !== 0) {
      const len = msg[off];
      labels.push(msg.subarray(off + 1, off + 1 + len).toString("latin1"));
      off += 1 + len;
    }
    const questionEnd = off + 1 + 4;
    if (questionEnd > msg.length) return; // truncated question: drop it
    const qtype = msg.readUInt16BE(off + 1);
    const rec = table.get(normalise(labels.join(".")));
    const rdatas = !rec
      ? []
      : qtype === TYPE_A
      ? (rec.A ?? []).map(ipv4Bytes)
      : qtype === TYPE_AAAA
      ? (rec.AAAA ?? []).map(ipv6Bytes)
      : qtype === TYPE_SRV
      ? (rec.SRV ?? []).map(srvBytes)
      : [];

    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // echo the ID
    const opcode = msg.readUInt16BE(2) & 0x7800;
    const rd = msg.readUInt16BE(2) & 0x0100; // RD is copied from the query
    // QR (response) | opcode | AA (authoritative) | RD | RA | RCODE (3 = NXDOMAIN).
    header.writeUInt16BE(0x8000 | opcode | 0x0400 | rd | 0x0080 | (rec ? 0 : 3), 2);
    header.writeUInt16BE(1, 4); // QDCOUNT: the question, echoed
    header.writeUInt16BE(rdatas.length, 6); // ANCOUNT; NSCOUNT and ARCOUNT stay 0
    const answers = rdatas.map((rdata) => {
      const rr = Buffer.alloc(12 + rdata.length);
      rr.writeUInt16BE(0xc00c, 0); // NAME: pointer to the question name at offset 12
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4); // CLASS IN
      rr.writeUInt32BE(rec?.ttl ?? 60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      rdata.copy(rr, 12);
      return rr;
    });
    socket.send(Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]), peer.port, peer.address);
  });

  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      handle.port = socket.address().port;
      resolve(handle);
    });
  });
}

function normalise(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

/** Priority, weight, port, then the target as uncompressed labels. */
function srvBytes(srv: SrvRecordSpec): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt16BE(srv.priority, 0);
  head.writeUInt16BE(srv.weight, 2);
  head.writeUInt16BE(srv.port, 4);
  const labels = normalise(srv.target).split(".").filter((l) => l !== "");
  return Buffer.concat([
    head,
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split(".").map(Number));
}

/** 16 bytes of an IPv6 address in text form, `::` expanded (no embedded IPv4). */
function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, null];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

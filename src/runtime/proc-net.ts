/**
 * The sockets this machine has bound, read from /proc/net (Linux). vane binds its
 * ports with SO_REUSEPORT so that `vane upgrade` can hand them to a new process; the
 * kernel would then also let a second vane started by mistake share a port with the
 * first one, silently splitting its traffic. Before binding, vane asks here whether
 * the port is already taken and refuses as a plain bind would.
 */
import { readFileSync } from "node:fs";
import type { SocketAddress } from "./types.ts";

/** The addresses sockets of this kind are bound to now; null where /proc/net cannot be read. */
export function boundSockets(kind: "tcp" | "udp"): SocketAddress[] | null {
  const found: SocketAddress[] = [];
  let read = false;
  for (const file of [kind, `${kind}6`]) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${file}`, "utf8");
    } catch {
      continue; // not Linux, or IPv6 off
    }
    read = true;
    found.push(...parseProcNet(text, kind));
  }
  return read ? found : null;
}

/**
 * The local addresses in one /proc/net/{tcp,tcp6,udp,udp6} table: listening sockets
 * for TCP, every socket for UDP. Addresses are hex, each 32-bit word in host (little
 * endian) order; IPv4-mapped IPv6 addresses come back as IPv4.
 */
export function parseProcNet(text: string, kind: "tcp" | "udp"): SocketAddress[] {
  // A busy host lists every connection here (72,000 lines, 11 MB seen on a loaded
  // machine), so lines are read by position and only a listening socket's address
  // becomes strings: "  SL: LOCAL_HEX:PORT REMOTE_HEX:PORT ST ...".
  const out: SocketAddress[] = [];
  let at = text.indexOf("\n") + 1;
  while (at > 0 && at < text.length) {
    let end = text.indexOf("\n", at);
    if (end < 0) end = text.length;
    const local = text.indexOf(": ", at) + 2;
    const localEnd = local > 1 && local < end ? text.indexOf(" ", local) : -1;
    const remoteEnd = localEnd > 0 && localEnd < end ? text.indexOf(" ", localEnd + 1) : -1;
    if (remoteEnd > 0 && remoteEnd + 2 < end) {
      const listening = text.charCodeAt(remoteEnd + 1) === 0x30 && text.charCodeAt(remoteEnd + 2) === 0x41; // "0A"
      if (kind === "udp" || listening) {
        const [hex, portHex] = text.slice(local, localEnd).split(":");
        const hostname = hex.length === 8 ? ipv4(hex) : hex.length === 32 ? ipv6(hex) : null;
        if (hostname !== null && portHex) out.push({ hostname, port: parseInt(portHex, 16) });
      }
    }
    at = end + 1;
  }
  return out;
}

/** One 32-bit word of /proc/net's hex, as its four bytes in network order. */
function wordBytes(hex: string): number[] {
  const b = [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return b.reverse();
}

function ipv4(hex: string): string {
  return wordBytes(hex).join(".");
}

function ipv6(hex: string): string {
  const bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8)));
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // The longest run of zero groups becomes "::", as addresses are usually written.
  const text = groups.join(":");
  const runs = text.match(/(^|:)0(:0)+(:|$)/g);
  if (!runs) return text;
  const longest = runs.reduce((a, b) => (b.length > a.length ? b : a));
  return text.replace(longest, "::");
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

/**
 * Whether binding `addr` would meet one of `sockets`: the same port on the same
 * address, or where either side is a wildcard (0.0.0.0, ::), which covers every
 * address. A name (not an IP) is compared by port alone: it may resolve to any.
 */
export function portTaken(addr: SocketAddress, sockets: readonly SocketAddress[]): boolean {
  if (addr.port === 0) return false;
  const named = !/^[\d.]+$/.test(addr.hostname) && !addr.hostname.includes(":");
  return sockets.some((s) =>
    s.port === addr.port &&
    (named || s.hostname === addr.hostname || WILDCARDS.has(s.hostname) || WILDCARDS.has(addr.hostname))
  );
}

/**
 * Whether Linux moves connections queued on a closing SO_REUSEPORT socket to another
 * socket of the port (net.ipv4.tcp_migrate_req, Linux 5.14+) rather than resetting
 * them: false when it does not, null where it cannot be read (not Linux, older kernel).
 */
export function migratesQueuedConnections(): boolean | null {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() !== "0";
  } catch {
    return null;
  }
}

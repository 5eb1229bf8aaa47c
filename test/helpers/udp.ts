/**
 * UDP sockets on 127.0.0.1 for tests (targets and clients alike), on node:dgram so they
 * share no code with the adapter under test. Every socket is closed by `closeUdp()`.
 */
import dgram from "node:dgram";

const sockets = new Set<dgram.Socket>();

/** A socket on an ephemeral loopback port that hands each datagram, its sender and itself to `onMessage`. */
export function bindUdp(
  onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo, s: dgram.Socket) => void,
): Promise<dgram.Socket> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    sockets.add(s);
    s.on("message", (m, r) => onMessage(m, r, s));
    s.bind(0, "127.0.0.1", () => resolve(s));
  });
}

export function closeUdp(): void {
  for (const s of sockets) s.close();
  sockets.clear();
}

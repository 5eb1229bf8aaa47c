/**
 * UDP on Bun: Bun.udpSocket for the usual socket, node:dgram where SO_REUSEPORT or a
 * receive buffer is asked (Bun.udpSocket takes no option for the buffer).
 */
import { createSocket } from "node:dgram";
import type { SocketAddress, UdpBindOptions, UdpSocket } from "./types.ts";
import { listenError } from "./net-common.ts";
import type { BunApi, BunUdpSocket } from "./bun.d.ts";

declare const Bun: BunApi;

/** Bun.udpSocket does not resolve names: `to` must be an IP literal (DESIGN). */
export async function bindBunUdp(
  addr: SocketAddress,
  onMessage: (data: Uint8Array, from: SocketAddress) => void,
): Promise<UdpSocket> {
  let sock: BunUdpSocket;
  try {
    sock = await Bun.udpSocket({
      hostname: addr.hostname,
      port: addr.port,
      socket: {
        data(_socket, buf, port, address) {
          // Copy: whether Bun reuses this buffer for UDP is not documented, and the
          // contract promises data the caller may keep.
          deliver(onMessage, new Uint8Array(buf), address, port);
        },
      },
    });
  } catch (err) {
    throw listenError(addr, err);
  }
  let closed = false;
  return {
    addr: { hostname: sock.address?.address ?? sock.hostname, port: sock.port },
    receiveBufferBytes: null,
    send(data, to) {
      if (closed) return;
      // false means the kernel buffer is full: the datagram is lost, as on the wire.
      try {
        sock.send(data, to.port, to.hostname);
      } catch { /* best effort, like any datagram */ }
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}

/**
 * A listening socket with SO_REUSEPORT or a receive buffer, through node:dgram: Bun's
 * node:dgram sets both (`reusePort`, `setRecvBufferSize`: setsockopt seen in strace)
 * on the Bun.udpSocket it wraps, while Bun.udpSocket itself takes no option for the
 * buffer. Each message is a fresh Buffer (node:dgram's contract), kept without a copy.
 */
export async function bindDgramUdp(
  addr: SocketAddress,
  onMessage: (data: Uint8Array, from: SocketAddress) => void,
  options: UdpBindOptions,
): Promise<UdpSocket> {
  const sock = createSocket({
    type: addr.hostname.includes(":") ? "udp6" : "udp4",
    reusePort: options.reusePort ?? false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(addr.port, addr.hostname, () => {
        sock.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    try {
      sock.close();
    } catch { /* never bound */ }
    throw listenError(addr, err);
  }
  // After the bind: an unconnected socket's later errors (ICMP) are a lost datagram.
  sock.on("error", () => {});
  sock.on("message", (data: Uint8Array, from: { address: string; port: number }) => {
    deliver(onMessage, data, from.address, from.port);
  });
  let receiveBufferBytes: number | null = null;
  try {
    if (options.receiveBufferBytes) sock.setRecvBufferSize(options.receiveBufferBytes);
    receiveBufferBytes = sock.getRecvBufferSize();
  } catch { /* the system default stays */ }
  const bound = sock.address();
  let closed = false;
  return {
    addr: { hostname: bound.address, port: bound.port },
    receiveBufferBytes,
    send(data, to) {
      if (closed) return;
      try {
        sock.send(data, to.port, to.hostname);
      } catch { /* best effort, like any datagram */ }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        sock.close();
      } catch { /* already closed */ }
    },
  };
}

/** Hands a datagram over: a handler's bug must not take the socket's event loop with it. */
function deliver(
  onMessage: (data: Uint8Array, from: SocketAddress) => void,
  data: Uint8Array,
  hostname: string,
  port: number,
): void {
  try {
    onMessage(data, { hostname, port });
  } catch (err) {
    console.error("udp handler failed:", err);
  }
}

/**
 * TLS to targets (a pool's `tls`), on node:tls for both runtimes: it is the one client
 * TLS API Deno and Bun share with SNI, ALPN, a CA of one's own, client certificates and
 * a switch for verification (measured to behave the same on both). The socket is then
 * read and written through NodeTlsConn, as the server side's is.
 */
import tls from "node:tls";
import type { SocketAddress, TlsClientConn, TlsClientOptions } from "./types.ts";
import { NodeTlsConn } from "./tls-node.ts";
import { formatAddress } from "../config/address.ts";
import { errorText } from "../errors/mod.ts";

class NodeTlsClientConn extends NodeTlsConn implements TlsClientConn {
  readonly alpn: string | null;
  constructor(socket: tls.TLSSocket) {
    super(socket);
    this.alpn = typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : null;
  }
}

export function connectTlsNode(addr: SocketAddress, opts: TlsClientOptions, timeoutMs: number): Promise<TlsClientConn> {
  const where = formatAddress(addr.hostname, addr.port);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: addr.hostname,
      port: addr.port,
      ...(opts.servername !== null ? { servername: opts.servername } : {}),
      ...(opts.alpn ? { ALPNProtocols: opts.alpn } : {}),
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.cert !== undefined ? { cert: opts.cert, key: opts.key } : {}),
      rejectUnauthorized: opts.verify,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`tls to ${where}: no handshake within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      resolve(new NodeTlsClientConn(socket));
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      socket.destroy();
      const code = (err as { code?: string }).code;
      reject(new Error(`tls to ${where}: ${code ? `${code}: ` : ""}${errorText(err)}`, { cause: err }));
    });
  });
}

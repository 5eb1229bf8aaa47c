/**
 * The status endpoint's HTTP server on Deno: Deno.serve, kept serving through accept
 * failures. Deno.serve ends (its `finished` rejects, uncaught: the process dies) when
 * an accept fails, e.g. for want of a descriptor (EMFILE); this serves again on the
 * same port after a rest, for as long as it is not closed.
 */
import type { HttpPeer, HttpServer, SocketAddress } from "./types.ts";
import { addrOf } from "./deno-conn.ts";
import { listenError } from "./net-common.ts";

/** How long the status endpoint rests before it serves again after its accept failed. */
const SERVE_RETRY_MS = 250;

type Handler = (req: Request, peer: HttpPeer) => Response | Promise<Response>;

/** `Runtime.serveHttp` on Deno. */
export async function serveDenoHttp(addr: SocketAddress, handler: Handler): Promise<HttpServer> {
  const serve = (port: number) => serveOnce(addr, port, handler);
  let server = await serve(addr.port);
  const bound = addrOf(server.addr);
  let closed = false;
  // Serve again on the same port after a rest, for as long as it is not closed.
  const keep = (s: Deno.HttpServer<Deno.NetAddr>): Promise<void> =>
    s.finished.catch(async () => {
      while (!closed) {
        try {
          await s.shutdown();
        } catch { /* it is down already */ }
        await new Promise((r) => setTimeout(r, SERVE_RETRY_MS));
        if (closed) return;
        try {
          server = s = await serve(bound.port);
          return keep(s);
        } catch { /* still out of descriptors: rest and try again */ }
      }
    });
  keep(server);
  return {
    addr: bound,
    close: () => {
      closed = true;
      return server.shutdown();
    },
  };
}

/** One Deno.serve on `port` of `addr`'s host; resolves once it listens. */
function serveOnce(addr: SocketAddress, port: number, handler: Handler): Promise<Deno.HttpServer<Deno.NetAddr>> {
  return new Promise((resolve, reject) => {
    try {
      // onListen runs within Deno.serve, before it returns the server.
      const server = Deno.serve({
        hostname: addr.hostname,
        port,
        onListen: () => queueMicrotask(() => resolve(server)),
        onError: () => new Response("internal error", { status: 500 }),
      }, (req, info) => handler(req, { remote: info.remoteAddr ? addrOf(info.remoteAddr) : null }));
    } catch (err) {
      reject(listenError(addr, err));
    }
  });
}

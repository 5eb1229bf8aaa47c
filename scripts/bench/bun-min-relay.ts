/**
 * The floor for L4 CPU per request on Bun (issue 25, point 2): the least a Bun TCP relay
 * can do per proxied byte. Bun.listen and Bun.connect socket handlers, each data chunk
 * written straight to the other socket (Bun does not reuse the buffers it hands to data(),
 * so a chunk can be kept). What write() does not take waits for the other socket's drain
 * with the reading side paused, as vane's pipe mode does. A FIN goes on once what came
 * before it has (half-close), a close closes the other side. Bun sets TCP_NODELAY on
 * every socket itself, as vane relies on. No timers, no maps, no logs. bench.mjs runs it
 * as `bun-min`, beside vane-bun.
 *
 *   bun scripts/bench/bun-min-relay.ts LISTEN_PORT BACKEND_PORT
 */
import process from "node:process";
import type { BunApi, BunSocket } from "../../src/runtime/bun.d.ts";

declare const Bun: BunApi;

const [listenPort, backendPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(backendPort)) {
  console.error("usage: bun-min-relay.ts LISTEN_PORT BACKEND_PORT");
  process.exit(2);
}

type Socket = BunSocket<Side>;
/** What to do to a socket once its backlog is out: nothing, shutdown() (FIN), end() (close). */
const NOTHING = 0, SHUTDOWN = 1, END = 2;

/** One socket's state, in its `data`. */
class Side {
  peer: Socket | null = null;
  /** Bytes for this socket that its write() did not take yet, oldest first. */
  backlog: Uint8Array[] = [];
  after = NOTHING;
  /** This socket's reading is paused, because its peer's backlog is not empty. */
  paused = false;
  closed = false;
  /** The client's own: what it sent, and whether it ended, before the upstream connected. */
  early: Uint8Array[] | null = null;
  endedEarly = false;
}

function send(from: Socket, to: Socket, chunk: Uint8Array): void {
  const t = to.data;
  if (t.closed) return void from.end();
  if (t.backlog.length === 0) {
    const n = to.write(chunk);
    if (n === chunk.length) return;
    if (n < 0) return void from.end();
    chunk = chunk.subarray(n);
  }
  t.backlog.push(chunk);
  if (!from.data.paused) {
    from.data.paused = true;
    from.pause();
  }
}

/** `to`'s peer ended (SHUTDOWN) or closed (END): `to` follows once its backlog is out. */
function finish(to: Socket, how: number): void {
  const t = to.data;
  if (t.closed) return;
  if (how > t.after) t.after = how;
  if (t.backlog.length > 0) return;
  if (t.after === END) to.end();
  else to.shutdown();
}

function drain(to: Socket): void {
  const t = to.data;
  const backlog = t.backlog;
  while (backlog.length > 0) {
    const n = to.write(backlog[0]);
    if (n < 0) return;
    if (n < backlog[0].length) {
      backlog[0] = backlog[0].subarray(n);
      return;
    }
    backlog.shift();
  }
  if (t.after !== NOTHING) return finish(to, t.after);
  const from = t.peer;
  if (from !== null && from.data.paused) {
    from.data.paused = false;
    from.resume();
  }
}

function link(client: Socket, upstream: Socket): void {
  const c = client.data;
  if (c.closed) return void upstream.end();
  c.peer = upstream;
  upstream.data.peer = client;
  for (const chunk of c.early!) send(client, upstream, chunk);
  c.early = null;
  if (c.endedEarly) finish(upstream, SHUTDOWN);
}

const common = {
  data(s: Socket, chunk: Uint8Array) {
    const to = s.data.peer;
    if (to !== null) send(s, to, chunk);
    else s.data.early?.push(chunk);
  },
  drain,
  end(s: Socket) {
    const to = s.data.peer;
    if (to !== null) finish(to, SHUTDOWN);
    else s.data.endedEarly = true;
  },
  close(s: Socket) {
    const side = s.data;
    if (side === undefined) return; // a connect that failed
    side.closed = true;
    if (side.peer !== null) finish(side.peer, END);
  },
};

Bun.listen<Side>({
  hostname: "127.0.0.1",
  port: listenPort,
  allowHalfOpen: true,
  socket: {
    ...common,
    open(client) {
      client.data = new Side();
      client.data.early = [];
      Bun.connect<Side>({
        hostname: "127.0.0.1",
        port: backendPort,
        allowHalfOpen: true,
        socket: { ...common, open: (up) => void (up.data = new Side()) },
      }).then((up) => link(client, up), () => client.end());
    },
  },
});

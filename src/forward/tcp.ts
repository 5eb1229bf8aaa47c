/**
 * The L4 forwarder: copies bytes both ways between two connections until both
 * directions have ended. Each direction is a read/await-write loop, so a slow
 * reader stops its writer from reading (backpressure, nothing buffered beyond one
 * chunk). A FIN in one direction is passed on as a FIN and the other direction keeps
 * flowing (half-close). No activity either way for `idleMs` closes both.
 */
import type { TcpConn } from "../runtime/types.ts";

export interface RelayResult {
  /** Bytes from client to upstream, and back. */
  upstreamBytes: number;
  downstreamBytes: number;
  /** Why the relay ended: "done" (both sides finished), "idle", or an error's text. */
  reason: string;
}

export interface RelayCounters {
  /** Called per chunk with its size, so totals stay live for long connections. */
  upstream(n: number): void;
  downstream(n: number): void;
}

export async function relay(
  client: TcpConn,
  upstream: TcpConn,
  idleMs: number,
  counters: RelayCounters,
): Promise<RelayResult> {
  const result: RelayResult = { upstreamBytes: 0, downstreamBytes: 0, reason: "done" };
  let lastActivity = performance.now();
  let finished = false;

  const closeBoth = (reason: string) => {
    if (finished) return;
    finished = true;
    result.reason = reason;
    client.close();
    upstream.close();
  };

  // One timer per connection, re-armed lazily: activity only stamps a time, so the
  // copy loop never touches timers.
  let idleTimer: ReturnType<typeof setTimeout>;
  const armIdle = (delay: number) => {
    idleTimer = setTimeout(() => {
      const quiet = performance.now() - lastActivity;
      if (quiet >= idleMs) closeBoth("idle");
      else armIdle(idleMs - quiet);
    }, delay);
  };
  armIdle(idleMs);

  const pump = async (from: TcpConn, to: TcpConn, count: (n: number) => void) => {
    for (;;) {
      const chunk = await from.read();
      if (chunk === null) break;
      lastActivity = performance.now();
      await to.write(chunk);
      count(chunk.length);
    }
    await to.closeWrite();
  };

  const up = pump(client, upstream, (n) => {
    result.upstreamBytes += n;
    counters.upstream(n);
  });
  const down = pump(upstream, client, (n) => {
    result.downstreamBytes += n;
    counters.downstream(n);
  });
  // Either side failing ends the whole connection; both ending normally ends it too.
  await Promise.all([up, down]).then(
    () => closeBoth("done"),
    (err) => closeBoth(err instanceof Error ? err.message : String(err)),
  );
  // The other pump may still be parked in read() on a connection we just closed.
  await Promise.allSettled([up, down]);
  clearTimeout(idleTimer!);
  return result;
}
